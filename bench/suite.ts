/**
 * The foundation benchmark suite (entry point: bench/run.ts, which may first move it into a
 * clean snapshot of a commit). See bench/run.ts for the options.
 *
 * Measured the way reference/peer-figures.md measured paglets: driver (this process) and hosts
 * in separate processes, 127.0.0.1 only, bounded loops, medians of several runs. Besides the
 * peer operations it measures "floor" rows (bare Node start, fork, IPC, node:http and fastify
 * round trips) that show what this machine can do without taglets.
 */
import Table from 'cli-table3';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HostClient, type AgentProxy } from 'taglets/client';
import type { SpawnHostOptions, SpawnedHost } from 'taglets/testing';
import {
  childrenOf,
  cpuMs,
  cpuPerOp,
  cpuSnapshot,
  foreignCpuShare,
  machineBusy,
  medianOf,
  noiseMark,
  now,
  pssKb,
  rollupRssKb,
  rssKb,
  runConcurrent,
  safeCpuMs,
  sleep,
  startHost,
  stopAllHosts,
  stopHost,
  summarize,
  until,
  withHost,
  type CpuSnapshot,
  type Stats,
} from './lib.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT_DIR = dirname(BENCH_DIR);
const COUNTER = './agents.js#Counter';
const MSG_TIMEOUT = { timeoutMs: 30_000 };

// ---- options -----------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'results-dir': { type: 'string' },
    'from-json': { type: 'string' },
    'wait-quiet': { type: 'string' },
    'host-node-options': { type: 'string' },
    markdown: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  process.stdout.write(`usage: npm run bench -- [options]
  --quick                  few iterations, a smoke check (writes no result files)
  --json                   print the JSON report instead of the table
  --markdown               print the table as Markdown
  --runs N                 runs per scenario (default 3, quick 1); figures are medians over runs
  --only a,b               scenarios: ${['floor', 'host-start', 'create', 'http', 'messages', 'memory'].join(', ')} (writes no result files)
  --no-write               do not write result files
  --results-dir DIR        where result files go (default bench/results)
  --from-json FILE         print the table (or --markdown) of a saved report; measures nothing
  --snapshot [REV]         build a clean copy of commit REV (default HEAD) in a temp dir and
                           measure that, unaffected by edits and rebuilds of the working tree
  --wait-quiet SECONDS     wait up to SECONDS for other load on the machine to settle first
  --cpu-prof DIR           hosts (and agents) of the message scenario write V8 CPU profiles to DIR
  --host-node-options OPTS NODE_OPTIONS for every host and its agent processes
`);
  process.exit(0);
}

const quick = flags.quick;
const runs = flags.runs ? Number(flags.runs) : quick ? 1 : 3;
if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
  process.stderr.write(`--runs must be 1..50, got '${flags.runs}'\n`);
  process.exit(2);
}
const config = {
  runs,
  hostStarts: quick ? 2 : 5,
  createWarm: quick ? 10 : 100,
  createSpaced: quick ? 3 : 20,
  createSequential: quick ? 10 : 100,
  createConcurrent: quick ? 12 : 100,
  createClients: 4,
  createInline: quick ? 50 : 500,
  health: quick ? 200 : 2000,
  rtt: quick ? 300 : 3000,
  oneway: quick ? 300 : 3000,
  pipelined: quick ? 1000 : 10_000,
  pipelineDepth: 32,
  clients4: quick ? 400 : 4000,
  clients16: quick ? 800 : 8000,
  memAgents: quick ? 3 : 10,
  memInline: quick ? 100 : 500,
  floorStarts: quick ? 2 : 5,
  floorRequests: quick ? 300 : 2000,
};
const SCENARIOS = ['floor', 'host-start', 'create', 'http', 'messages', 'memory'] as const;
type Scenario = (typeof SCENARIOS)[number];
const only = new Set((flags.only ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()));
for (const s of only) {
  if (!SCENARIOS.includes(s as Scenario)) {
    process.stderr.write(`unknown scenario '${s}'; choose from ${SCENARIOS.join(', ')}\n`);
    process.exit(2);
  }
}
const wants = (s: Scenario): boolean => only.has(s);

const log = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};

let hostSeq = 0;
/** Options for every host; `nodeOptions` (plus --host-node-options) go to NODE_OPTIONS of the host and its children. */
function hostOptions(nodeOptions = ''): SpawnHostOptions {
  const opts = [flags['host-node-options'] ?? '', nodeOptions].filter(Boolean).join(' ');
  return { name: `bench-${process.pid}-${++hostSeq}`, root: BENCH_DIR, ...(opts ? { env: { NODE_OPTIONS: opts } } : {}) };
}

// ---- host helpers ------------------------------------------------------------------------------

/** Pids of the host's children that are warm, idle agent processes (process title 'taglet:idle'). */
function idleChildren(hostPid: number): number[] {
  return childrenOf(hostPid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('taglet:idle');
    } catch {
      return false;
    }
  });
}

/**
 * Waits until the warm pool has its target number of children started and idle: the host
 * counts a child as idle from its fork on, so readiness is read from the children's process
 * title, which child-main sets to 'taglet:idle' just before it reports ready.
 */
async function poolReady(host: SpawnedHost, client: HostClient, timeoutMs = 15_000): Promise<void> {
  try {
    await until(async () => {
      const pool = (await client.health()).runner_pool.process!;
      return pool.idle >= pool.target_idle && idleChildren(host.pid).length >= pool.target_idle;
    }, timeoutMs, 20);
  } catch {
    log(`warning: the warm pool of ${host.name} did not report ready within ${timeoutMs} ms (process titles changed?); continuing`);
  }
}

async function poolStatus(client: HostClient): Promise<Record<string, number>> {
  const { runner_pool } = await client.health();
  return { ...runner_pool.process! };
}

const rate = (count: number, ms: number): number => (count * 1000) / ms;


// ---- floor: what this machine does without taglets --------------------------------------------

const FLOOR_SERVER = join(BENCH_DIR, 'floor-server.js');
const floorProcs = new Set<ChildProcess>();

function killFloor(proc: ChildProcess): Promise<void> {
  floorProcs.delete(proc);
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

async function startFloorServer(kind: 'http' | 'fastify'): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [FLOOR_SERVER, kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  floorProcs.add(proc);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`floor server '${kind}' did not start`)), 15_000);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`floor server '${kind}' exited with ${code}`));
    });
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function timedExit(args: string[]): Promise<number> {
  const t0 = now();
  const proc = spawn(process.execPath, args, { stdio: 'ignore' });
  floorProcs.add(proc);
  await new Promise((resolve) => proc.once('exit', resolve));
  floorProcs.delete(proc);
  return now() - t0;
}

interface FloorRun {
  node_start_ms: number;
  fork_ready_ms: number;
  ipc_rtt: Stats;
  http: Stats;
  fastify: Stats;
}

async function floorRun(): Promise<FloorRun> {
  const out = {} as FloorRun;
  await timedExit(['-e', '0']);
  const starts: number[] = [];
  for (let i = 0; i < config.floorStarts; i++) starts.push(await timedExit(['-e', '0']));
  out.node_start_ms = medianOf(starts);

  // A forked child with advanced serialization, as the process runner forks (without setpriv).
  const forks: number[] = [];
  let child: ChildProcess | undefined;
  try {
    for (let i = 0; i < config.floorStarts; i++) {
      const t0 = now();
      child = fork(FLOOR_SERVER, ['ipc'], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      floorProcs.add(child);
      await new Promise((resolve) => child!.once('message', resolve));
      forks.push(now() - t0);
      if (i < config.floorStarts - 1) await killFloor(child);
    }
    out.fork_ready_ms = medianOf(forks);
    const c = child!;
    const pending = new Map<number, () => void>();
    c.on('message', (m: { id: number }) => pending.get(m.id)?.());
    const message = { kind: 'ping', args: {}, arg: null, sender: null, reply_to: null, priority: 5, message_type: 'sync', timestamp: 0, message_id: 'x'.repeat(32) };
    const rtt = (id: number): Promise<void> =>
      new Promise((resolve) => {
        pending.set(id, () => {
          pending.delete(id);
          resolve();
        });
        c.send({ t: 'msg', id, message });
      });
    for (let i = 0; i < 300; i++) await rtt(i);
    const samples: number[] = [];
    for (let i = 0; i < config.floorRequests; i++) {
      const t = now();
      await rtt(1000 + i);
      samples.push(now() - t);
    }
    out.ipc_rtt = summarize(samples);
  } finally {
    if (child) await killFloor(child);
  }

  for (const kind of ['http', 'fastify'] as const) {
    const server = await startFloorServer(kind);
    try {
      const client = new HostClient(server.url);
      for (let i = 0; i < 300; i++) await client.call('GET', '/');
      const samples: number[] = [];
      for (let i = 0; i < config.floorRequests; i++) {
        const t = now();
        await client.call('GET', '/');
        samples.push(now() - t);
      }
      out[kind] = summarize(samples);
    } finally {
      await killFloor(server.proc);
    }
  }
  return out;
}

// ---- scenarios ---------------------------------------------------------------------------------

interface HostStartRun {
  /** spawn → ready line on stdout */
  ready_ms: number;
  /** spawn → first GET /health answered */
  health_ms: number;
  /** CPU the host process used until /health answered (less sensitive to other load than wall time) */
  health_cpu_ms: number;
  /** spawn → warm pool children started and idle */
  pool_ready_ms: number;
  stop_ms: number;
}

async function benchHostStart(): Promise<Record<string, unknown>> {
  const runs: (HostStartRun & Noise)[] = [];
  // One discarded start first: warms the page cache and the driver's HTTP client.
  for (let i = 0; i <= config.hostStarts; i++) {
    const mark = noiseMark();
    const t0 = now();
    const host = await startHost(hostOptions());
    let ready = Number.NaN;
    let health = Number.NaN;
    let stopMs = Number.NaN;
    let poolMs = Number.NaN;
    let healthCpu = Number.NaN;
    try {
      ready = now() - t0;
      const client = new HostClient(host.url);
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await client.health({ timeoutMs: 2000 });
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(1);
        }
      }
      health = now() - t0;
      healthCpu = cpuMs(host.pid);
      await poolReady(host, client);
      poolMs = now() - t0;
    } finally {
      const s0 = now();
      await stopHost(host);
      stopMs = now() - s0;
    }
    const foreign = +foreignCpuShare(mark).toFixed(3);
    if (i > 0) runs.push({ ready_ms: ready, health_ms: health, health_cpu_ms: healthCpu, pool_ready_ms: poolMs, stop_ms: stopMs, foreign_cpu_share: foreign });
    log(
      `host start ${i === 0 ? '(warm-up)' : i}: ready line ${ready.toFixed(1)} ms, /health ${health.toFixed(1)} ms, ` +
        `warm pool ready ${poolMs.toFixed(1)} ms, stop ${stopMs.toFixed(1)} ms; host CPU until /health ${healthCpu.toFixed(0)} ms`,
    );
  }
  return { runs, median: medianOf(runs) };
}

interface CreateRun {
  warm_create: Stats;
  warm_dispose: Stats;
  warm_pool: Record<string, number>;
  spaced_create: Stats;
  sequential_create: Stats;
  sequential_per_s: number;
  /** CPU ms (host + agent processes) per sustained create, mostly the fork and start of a child */
  sequential_cpu_ms_per_create: number;
  sequential_pool: Record<string, number>;
  retire_dispose: Stats;
  concurrent_create: Stats;
  concurrent_per_s: number;
  inline_create: Stats;
  inline_per_s: number;
  inline_dispose: Stats;
}

async function createRun(): Promise<CreateRun> {
  const out = {} as CreateRun;

  // (a) create + dispose cycles: every create gets a warm child, reused after the dispose.
  await withHost(hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(host, client);
    for (let i = 0; i < 10; i++) await (await client.createAgent(COUNTER)).dispose();
    await poolReady(host, client);
    const creates: number[] = [];
    const disposes: number[] = [];
    for (let i = 0; i < config.createWarm; i++) {
      let t = now();
      const proxy = await client.createAgent(COUNTER, { init: i });
      creates.push(now() - t);
      t = now();
      await proxy.dispose();
      disposes.push(now() - t);
    }
    out.warm_create = summarize(creates);
    out.warm_dispose = summarize(disposes);
    out.warm_pool = await poolStatus(client);
  });

  // (b) creates spaced so that each one takes a freshly forked, never used warm child.
  await withHost(hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    const creates: number[] = [];
    for (let i = 0; i < config.createSpaced; i++) {
      await poolReady(host, client);
      const t = now();
      await client.createAgent(COUNTER, { init: i });
      creates.push(now() - t);
    }
    out.spaced_create = summarize(creates);
  });

  // (c) sustained sequential creates, every agent stays alive (the pool must fork to keep up),
  //     then dispose them all (most children are retired: the pool holds at most 8).
  await withHost(hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(host, client);
    const creates: number[] = [];
    const proxies: AgentProxy[] = [];
    // CPU of the host plus all its children (pool and agents), before and after.
    const treeCpu = (): number => cpuMs(host.pid) + childrenOf(host.pid).reduce((sum, pid) => sum + safeCpuMs(pid), 0);
    const cpu0 = treeCpu();
    const t0 = now();
    for (let i = 0; i < config.createSequential; i++) {
      const t = now();
      proxies.push(await client.createAgent(COUNTER, { init: i }));
      creates.push(now() - t);
    }
    out.sequential_per_s = rate(creates.length, now() - t0);
    out.sequential_cpu_ms_per_create = (treeCpu() - cpu0) / creates.length;
    out.sequential_create = summarize(creates);
    out.sequential_pool = await poolStatus(client);
    const disposes: number[] = [];
    for (const p of proxies) {
      const t = now();
      await p.dispose();
      disposes.push(now() - t);
    }
    out.retire_dispose = summarize(disposes);
  });

  // (d) sustained creates from 4 concurrent clients.
  await withHost(hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(host, client);
    const { latencies, wallMs } = await runConcurrent(config.createConcurrent, config.createClients, (i) =>
      client.createAgent(COUNTER, { init: i }),
    );
    out.concurrent_create = summarize(latencies);
    out.concurrent_per_s = rate(latencies.length, wallMs);
  });

  // (e) inline runner: sequential creates kept alive, then disposes.
  await withHost(hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(host, client);
    for (let i = 0; i < 50; i++) await (await client.createAgent(COUNTER, { runner: 'inline' })).dispose();
    const creates: number[] = [];
    const proxies: AgentProxy[] = [];
    const t0 = now();
    for (let i = 0; i < config.createInline; i++) {
      const t = now();
      proxies.push(await client.createAgent(COUNTER, { init: i, runner: 'inline' }));
      creates.push(now() - t);
    }
    out.inline_per_s = rate(creates.length, now() - t0);
    out.inline_create = summarize(creates);
    const disposes: number[] = [];
    for (const p of proxies) {
      const t = now();
      await p.dispose();
      disposes.push(now() - t);
    }
    out.inline_dispose = summarize(disposes);
  });
  return out;
}

interface HttpRun {
  health: Stats;
  health_per_s: number;
}

async function httpRun(): Promise<HttpRun> {
  return withHost(hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(host, client);
    for (let i = 0; i < 300; i++) await client.health();
    const samples: number[] = [];
    const t0 = now();
    for (let i = 0; i < config.health; i++) {
      const t = now();
      await client.health();
      samples.push(now() - t);
    }
    return { health: summarize(samples), health_per_s: rate(samples.length, now() - t0) };
  });
}

interface Throughput {
  latency: Stats;
  per_s: number;
  cpu_us_per_msg: CpuSnapshot;
}

interface MessagesRun {
  rtt: Throughput;
  rtt_inline: Throughput;
  oneway_sequential: Omit<Throughput, 'latency'>;
  oneway_pipelined: Omit<Throughput, 'latency'>;
  clients4: Throughput;
  clients16: Throughput;
}

async function messagesRun(): Promise<MessagesRun> {
  const prof = flags['cpu-prof'] ? `--cpu-prof --cpu-prof-dir=${flags['cpu-prof']}` : '';
  return withHost(hostOptions(prof), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(host, client);
    const agent = await client.createAgent(COUNTER);
    const inline = await client.createAgent(COUNTER, { runner: 'inline' });
    const agentPid = (await agent.info()).pid!;
    const pids = [agentPid];

    const syncLoop = async (proxy: AgentProxy, n: number): Promise<Throughput> => {
      for (let i = 0; i < 300; i++) await proxy.send('ping', {}, MSG_TIMEOUT);
      const samples: number[] = [];
      const c0 = cpuSnapshot(host.pid, pids);
      const t0 = now();
      for (let i = 0; i < n; i++) {
        const t = now();
        await proxy.send('ping', {}, MSG_TIMEOUT);
        samples.push(now() - t);
      }
      const wall = now() - t0;
      return { latency: summarize(samples), per_s: rate(n, wall), cpu_us_per_msg: cpuPerOp(c0, cpuSnapshot(host.pid, pids), n) };
    };

    /** `n` oneway incs with `depth` in flight, then a sync 'count' that must see all of them. */
    const onewayLoop = async (n: number, depth: number): Promise<Omit<Throughput, 'latency'>> => {
      for (let i = 0; i < 300; i++) await agent.sendOneway('inc', {}, MSG_TIMEOUT);
      await agent.send('reset', {}, MSG_TIMEOUT);
      const c0 = cpuSnapshot(host.pid, pids);
      const t0 = now();
      if (depth === 1) {
        for (let i = 0; i < n; i++) await agent.sendOneway('inc', {}, MSG_TIMEOUT);
      } else {
        await runConcurrent(n, depth, () => agent.sendOneway('inc', {}, MSG_TIMEOUT));
      }
      const count = await agent.send<number>('count', {}, MSG_TIMEOUT);
      const wall = now() - t0;
      if (count !== n) throw new Error(`oneway: the agent handled ${count} of ${n} messages`);
      return { per_s: rate(n, wall), cpu_us_per_msg: cpuPerOp(c0, cpuSnapshot(host.pid, pids), n) };
    };

    const clientsLoop = async (n: number, clients: number): Promise<Throughput> => {
      await runConcurrent(Math.min(n, 500), clients, () => agent.send('ping', {}, MSG_TIMEOUT));
      const c0 = cpuSnapshot(host.pid, pids);
      const { latencies, wallMs } = await runConcurrent(n, clients, () => agent.send('ping', {}, MSG_TIMEOUT));
      return { latency: summarize(latencies), per_s: rate(n, wallMs), cpu_us_per_msg: cpuPerOp(c0, cpuSnapshot(host.pid, pids), n) };
    };

    const out = {} as MessagesRun;
    out.rtt = await syncLoop(agent, config.rtt);
    out.rtt_inline = await syncLoop(inline, config.rtt);
    out.oneway_sequential = await onewayLoop(config.oneway, 1);
    out.oneway_pipelined = await onewayLoop(config.pipelined, config.pipelineDepth);
    out.clients4 = await clientsLoop(config.clients4, 4);
    out.clients16 = await clientsLoop(config.clients16, 16);
    return out;
  });
}

interface MemoryRun {
  host_rss_mb: number;
  host_pss_mb: number;
  pool_children: number;
  pool_child_pss_mb: number;
  pool_children_with_agents: number;
  agent_pss_mb: number;
  agent_rss_mb: number;
  host_rss_after_agents_mb: number;
  inline_host_rss_before_mb: number;
  inline_host_rss_after_mb: number;
  inline_rss_mb_per_100: number;
  inline_kb_per_agent: number;
}

const mb = (kb: number): number => kb / 1024;
const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function memoryRun(): Promise<MemoryRun> {
  const out = {} as MemoryRun;
  await withHost(hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(host, client);
    // Warm-up: the request paths a host serves, one agent through its whole life.
    for (let i = 0; i < 200; i++) await client.health();
    const warm = await client.createAgent(COUNTER);
    for (let i = 0; i < 100; i++) await warm.send('ping', {}, MSG_TIMEOUT);
    await warm.dispose();
    await poolReady(host, client);
    await sleep(1000);
    out.host_rss_mb = mb(rssKb(host.pid));
    out.host_pss_mb = mb(pssKb(host.pid));
    // No agent exists now: every child of the host is an idle warm-pool child.
    const pool = childrenOf(host.pid);
    out.pool_children = pool.length;
    out.pool_child_pss_mb = mb(avg(pool.map(pssKb)));

    const proxies: AgentProxy[] = [];
    for (let i = 0; i < config.memAgents; i++) {
      const p = await client.createAgent(COUNTER, { init: i });
      for (let j = 0; j < 10; j++) await p.send('ping', {}, MSG_TIMEOUT);
      proxies.push(p);
    }
    await sleep(1000);
    const summaries = await client.listAgents();
    const agentPids = summaries.filter((s) => s.runner === 'process').map((s) => s.pid!);
    if (agentPids.length !== config.memAgents) throw new Error(`memory: expected ${config.memAgents} agent pids, got ${agentPids.length}`);
    const children = new Set(childrenOf(host.pid));
    for (const pid of agentPids) if (!children.has(pid)) throw new Error(`memory: agent pid ${pid} is not a child of the host`);
    // Idle warm-pool children are the host's children that no agent summary lists.
    const idle = [...children].filter((pid) => !agentPids.includes(pid));
    out.pool_children_with_agents = idle.length;
    out.agent_pss_mb = mb(avg(agentPids.map(pssKb)));
    out.agent_rss_mb = mb(avg(agentPids.map(rollupRssKb)));
    out.host_rss_after_agents_mb = mb(rssKb(host.pid));
  });

  await withHost(hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(host, client);
    for (let i = 0; i < 200; i++) await client.health();
    for (let i = 0; i < 50; i++) {
      const p = await client.createAgent(COUNTER, { runner: 'inline' });
      await p.send('ping', {}, MSG_TIMEOUT);
      await p.dispose();
    }
    await sleep(1000);
    const before = rssKb(host.pid);
    for (let i = 0; i < config.memInline; i++) {
      const p = await client.createAgent(COUNTER, { runner: 'inline', init: i });
      await p.send('inc', {}, MSG_TIMEOUT);
    }
    await sleep(1000);
    const after = rssKb(host.pid);
    out.inline_host_rss_before_mb = mb(before);
    out.inline_host_rss_after_mb = mb(after);
    out.inline_rss_mb_per_100 = mb(after - before) / (config.memInline / 100);
    out.inline_kb_per_agent = (after - before) / config.memInline;
  });
  return out;
}

/** Runs a scenario `config.runs` times; each run also records how busy other processes kept the machine. */
async function repeat<T>(name: string, fn: () => Promise<T>): Promise<{ runs: (T & Noise)[]; median: T & Noise }> {
  const runs: (T & Noise)[] = [];
  for (let r = 1; r <= config.runs; r++) {
    const t0 = now();
    const mark = noiseMark();
    const result = await fn();
    const foreign = foreignCpuShare(mark);
    runs.push({ ...result, foreign_cpu_share: +foreign.toFixed(3) });
    log(`${name}: run ${r}/${config.runs} done in ${((now() - t0) / 1000).toFixed(1)} s (other processes used ${(foreign * 100).toFixed(0)} % of the CPUs)`);
  }
  return { runs, median: medianOf(runs) };
}

interface Noise {
  /** Share of all CPUs used by processes other than this benchmark during the run (0..1). */
  foreign_cpu_share: number;
}

// ---- report ------------------------------------------------------------------------------------

const ms = (x: number | undefined): string => {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  if (x < 1) return `${x.toFixed(3)} ms`;
  if (x < 10) return `${x.toFixed(2)} ms`;
  if (x < 1000) return `${x.toFixed(1)} ms`;
  return `${(x / 1000).toFixed(2)} s`;
};
const perS = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : `${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1)}/s`;
const mbText = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(1)} MB`);

interface Row {
  operation: string;
  taglets: string;
  paglets: string;
  target: string;
  /** true met, false missed, undefined no target */
  met?: boolean;
}

function platform(): Record<string, unknown> {
  const cpus = os.cpus();
  let commit: string | null = process.env.TAGLETS_BENCH_COMMIT ?? null;
  let dirty: boolean | null = commit ? false : null;
  if (!commit) {
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim();
      dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim() !== '';
    } catch {
      /* not a git checkout */
    }
  }
  const pkg = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string };
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu_model: cpus[0]?.model ?? 'unknown',
    cpu_count: cpus.length,
    available_parallelism: os.availableParallelism(),
    total_mem_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    os_version: os.version(),
    arch: os.arch(),
    loadavg_at_start: os.loadavg(),
    taglets_version: pkg.version,
    commit,
    src_modified_since_commit: dirty,
    snapshot: process.env.TAGLETS_BENCH_COMMIT ? 'clean build of the commit in a temp dir' : null,
    snapshot_build_type_errors: process.env.TAGLETS_BENCH_BUILD_ERRORS === '1' ? true : null,
  };
}

type Results = {
  floor?: { runs: FloorRun[]; median: FloorRun & Noise };
  'host-start'?: Awaited<ReturnType<typeof benchHostStart>>;
  create?: { runs: CreateRun[]; median: CreateRun & Noise };
  http?: { runs: HttpRun[]; median: HttpRun & Noise };
  messages?: { runs: MessagesRun[]; median: MessagesRun & Noise };
  memory?: { runs: MemoryRun[]; median: MemoryRun & Noise };
};

function buildRows(results: Results): Row[] {
  const rows: Row[] = [];
  const hs = results['host-start']?.median as HostStartRun | undefined;
  if (hs) {
    rows.push({
      operation: 'host start: spawn → GET /health answers (median)',
      taglets: `${ms(hs.health_ms)} (ready line ${ms(hs.ready_ms)}; warm pool ready ${ms(hs.pool_ready_ms)}; host CPU ${ms(hs.health_cpu_ms)})`,
      paglets: '290 ms',
      target: '≤ 150 ms',
      met: hs.health_ms <= 150,
    });
  }
  const c = results.create?.median;
  if (c) {
    rows.push({
      operation: 'create + start one agent, process runner, from the warm pool (create/dispose cycle, p50)',
      taglets: `${ms(c.warm_create.p50)} (mean ${ms(c.warm_create.mean)}, p99 ${ms(c.warm_create.p99)})`,
      paglets: '357 ms',
      target: '≤ 10 ms',
      met: c.warm_create.p50 <= 10,
    });
    rows.push({
      operation: 'create, process runner, fresh warm child (pool refilled between creates, p50)',
      taglets: `${ms(c.spaced_create.p50)} (p99 ${ms(c.spaced_create.p99)})`,
      paglets: '357 ms',
      target: '≤ 10 ms',
      met: c.spaced_create.p50 <= 10,
    });
    rows.push({
      operation: `create, process runner, sustained sequential (${config.createSequential} live agents)`,
      taglets: `mean ${ms(c.sequential_create.mean)}, p50 ${ms(c.sequential_create.p50)}, p99 ${ms(c.sequential_create.p99)}; ${perS(c.sequential_per_s)}; CPU ${ms(c.sequential_cpu_ms_per_create)} per create`,
      paglets: '357 ms, 2.8/s',
      target: '≤ 50 ms sustained',
      met: c.sequential_create.mean <= 50,
    });
    rows.push({
      operation: 'create, process runner, 4 concurrent clients',
      taglets: `${perS(c.concurrent_per_s)} (p50 ${ms(c.concurrent_create.p50)}, p99 ${ms(c.concurrent_create.p99)})`,
      paglets: '5.3/s',
      target: '—',
    });
    rows.push({
      operation: 'create + start one agent, inline runner, sequential',
      taglets: `mean ${ms(c.inline_create.mean)}, p50 ${ms(c.inline_create.p50)}, p99 ${ms(c.inline_create.p99)}; ${perS(c.inline_per_s)}`,
      paglets: '—',
      target: '≤ 1 ms',
      met: c.inline_create.p50 <= 1,
    });
    rows.push({
      operation: 'dispose one agent, process runner (child back to the pool, p50)',
      taglets: `${ms(c.warm_dispose.p50)} (p99 ${ms(c.warm_dispose.p99)})`,
      paglets: '7.3 ms',
      target: '≤ 3 ms',
      met: c.warm_dispose.p50 <= 3,
    });
    rows.push({
      operation: 'dispose one agent, process runner, pool full (child retired, p50)',
      taglets: `${ms(c.retire_dispose.p50)} (p99 ${ms(c.retire_dispose.p99)})`,
      paglets: '7.3 ms',
      target: '≤ 3 ms',
      met: c.retire_dispose.p50 <= 3,
    });
    rows.push({
      operation: 'dispose one agent, inline runner (p50)',
      taglets: `${ms(c.inline_dispose.p50)} (p99 ${ms(c.inline_dispose.p99)})`,
      paglets: '7.3 ms',
      target: '≤ 3 ms',
      met: c.inline_dispose.p50 <= 3,
    });
  }
  const h = results.http?.median;
  if (h) {
    rows.push({
      operation: 'HTTP floor: GET /health round trip',
      taglets: `mean ${ms(h.health.mean)}, p50 ${ms(h.health.p50)}, p99 ${ms(h.health.p99)}`,
      paglets: '0.82 ms',
      target: '≤ 0.3 ms',
      met: h.health.p50 <= 0.3,
    });
  }
  const m = results.messages?.median;
  if (m) {
    rows.push({
      operation: 'message round trip (sync send + reply), sequential, process agent',
      taglets: `mean ${ms(m.rtt.latency.mean)}, p50 ${ms(m.rtt.latency.p50)}, p99 ${ms(m.rtt.latency.p99)}; ${perS(m.rtt.per_s)}`,
      paglets: '2.4 ms (316/s)',
      target: '≤ 0.5 ms (≥ 3,000/s)',
      met: m.rtt.latency.p50 <= 0.5 && m.rtt.per_s >= 3000,
    });
    rows.push({
      operation: 'message round trip, sequential, inline agent',
      taglets: `mean ${ms(m.rtt_inline.latency.mean)}, p50 ${ms(m.rtt_inline.latency.p50)}, p99 ${ms(m.rtt_inline.latency.p99)}; ${perS(m.rtt_inline.per_s)}`,
      paglets: '—',
      target: '—',
    });
    rows.push({
      operation: 'oneway messages, sequential',
      taglets: perS(m.oneway_sequential.per_s),
      paglets: '632/s',
      target: '—',
    });
    rows.push({
      operation: `oneway messages, pipelined (${config.pipelineDepth} in flight)`,
      taglets: perS(m.oneway_pipelined.per_s),
      paglets: '—',
      target: '≥ 10,000/s',
      met: m.oneway_pipelined.per_s >= 10_000,
    });
    rows.push({
      operation: '4 concurrent clients → 1 agent (sync)',
      taglets: `${perS(m.clients4.per_s)}, p99 ${ms(m.clients4.latency.p99)}`,
      paglets: '—',
      target: '—',
    });
    rows.push({
      operation: '16 concurrent clients → 1 agent (sync)',
      taglets: `${perS(m.clients16.per_s)}, p99 ${ms(m.clients16.latency.p99)}`,
      paglets: '392/s, 1 s outliers',
      target: '≥ 5,000/s, p99 ≤ 20 ms',
      met: m.clients16.per_s >= 5000 && m.clients16.latency.p99 <= 20,
    });
  }
  const mem = results.memory?.median;
  if (mem) {
    rows.push({
      operation: 'memory: host alone (RSS after warm-up)',
      taglets: mbText(mem.host_rss_mb),
      paglets: '30 MB',
      target: '≤ 60 MB',
      met: mem.host_rss_mb <= 60,
    });
    rows.push({
      operation: `memory: per extra active agent, process runner (PSS, mean of ${config.memAgents})`,
      taglets: `${mbText(mem.agent_pss_mb)} (RSS ${mbText(mem.agent_rss_mb)})`,
      paglets: '+23 MB',
      target: '≤ 18 MB',
      met: mem.agent_pss_mb <= 18,
    });
    rows.push({
      operation: `memory: per extra inline agent (host RSS delta over ${config.memInline})`,
      taglets: `${mem.inline_kb_per_agent.toFixed(1)} KB (${mbText(mem.inline_rss_mb_per_100)} per 100)`,
      paglets: '—',
      target: '≤ 1 MB',
      met: mem.inline_kb_per_agent <= 1024,
    });
  }
  const f = results.floor?.median;
  if (f) {
    rows.push({
      operation: 'floor (no taglets): `node -e 0` / fork → first IPC message',
      taglets: `${ms(f.node_start_ms)} / ${ms(f.fork_ready_ms)}`,
      paglets: '—',
      target: '—',
    });
    rows.push({
      operation: 'floor (no taglets): IPC round trip to a forked child (advanced serialization)',
      taglets: `mean ${ms(f.ipc_rtt.mean)}, p50 ${ms(f.ipc_rtt.p50)}, p99 ${ms(f.ipc_rtt.p99)}`,
      paglets: '—',
      target: '—',
    });
    rows.push({
      operation: 'floor (no taglets): GET round trip, node:http server / bare fastify',
      taglets: `p50 ${ms(f.http.p50)} / ${ms(f.fastify.p50)} (mean ${ms(f.http.mean)} / ${ms(f.fastify.mean)})`,
      paglets: '—',
      target: '—',
    });
  }
  return rows;
}

function printTable(rows: Row[], plat: Record<string, unknown>, date: string, foreignMax: number | null): void {
  const table = new Table({
    head: ['operation', 'taglets', 'paglets', 'target'],
    colWidths: [52, 44, 18, 24],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    const mark = r.met === undefined ? '' : r.met ? ' ✓' : ' ✗';
    table.push([r.operation, r.taglets, r.paglets, r.target + mark]);
  }
  process.stdout.write(
    `taglets foundation benchmarks, ${date}: Node ${plat.node}, ${plat.cpu_count} × ${plat.cpu_model}, ${plat.total_mem_gib} GiB, ${plat.kernel}${quick ? ' (QUICK: few iterations, not comparable)' : ''}\n`,
  );
  process.stdout.write(`${table.toString()}\n`);
  if (foreignMax !== null) {
    process.stdout.write(
      `other processes used up to ${(foreignMax * 100).toFixed(0)} % of the CPUs during a run${foreignMax > 0.1 ? ' (figures are skewed by that load)' : ''}\n`,
    );
  }
  const missed = rows.filter((r) => r.met === false);
  process.stdout.write(missed.length ? `missed targets: ${missed.map((r) => r.operation).join('; ')}\n` : 'all measured targets met\n');
}

function printMarkdown(rows: Row[], plat: Record<string, unknown>, date: string, foreignMax: number | null): void {
  const esc = (t: string): string => t.replaceAll('|', '\\|');
  const lines = [
    `Measured ${date} on ${plat.cpu_count} vCPU (${plat.cpu_model}), ${plat.total_mem_gib} GiB, ${plat.kernel}, Node ${plat.node}, taglets ${plat.taglets_version} (${plat.commit ?? 'no git'}); ` +
      `driver and host in separate processes on 127.0.0.1, medians of ${config.runs} runs` +
      (foreignMax !== null ? `; other processes used up to ${(foreignMax * 100).toFixed(0)} % of the CPUs.` : '.'),
    '',
    '| operation | taglets | paglets | target |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${esc(r.operation)} | ${esc(r.taglets)} | ${esc(r.paglets)} | ${esc(r.target)}${r.met === undefined ? '' : r.met ? ' ✓' : ' ✗'} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---- main --------------------------------------------------------------------------------------

/** Re-renders a saved report (e.g. bench/results/latest.json) without measuring anything. */
function renderSaved(file: string): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {
    date: string;
    platform: Record<string, unknown>;
    config: { runs: number };
    noise?: { foreign_cpu_share_max: number | null };
    table: Row[];
  };
  config.runs = saved.config.runs;
  const date = saved.date.slice(0, 10);
  const foreign = saved.noise?.foreign_cpu_share_max ?? null;
  if (flags.markdown) printMarkdown(saved.table, saved.platform, date, foreign);
  else printTable(saved.table, saved.platform, date, foreign);
}

async function main(): Promise<void> {
  if (flags['from-json']) return renderSaved(flags['from-json']);
  const started = new Date();
  const plat = platform();
  // Other work on the machine skews every figure: measure it, and optionally wait for quiet.
  const quietWaitS = Number(flags['wait-quiet'] ?? 0);
  let busyBefore = await machineBusy(2000);
  const quietDeadline = Date.now() + quietWaitS * 1000;
  while (busyBefore > 0.1 && Date.now() < quietDeadline) {
    log(`machine ${(busyBefore * 100).toFixed(0)} % busy before the run; waiting for it to settle`);
    busyBefore = await machineBusy(5000);
  }
  if (busyBefore > 0.1) log(`warning: machine ${(busyBefore * 100).toFixed(0)} % busy before the run; figures will be noisy`);
  plat.machine_busy_before = +busyBefore.toFixed(3);
  log(`config ${JSON.stringify(config)}${quick ? ' (quick)' : ''}`);
  const results: Results = {};
  if (wants('floor')) results.floor = await repeat('floor', floorRun);
  if (wants('host-start')) results['host-start'] = await benchHostStart();
  if (wants('http')) results.http = await repeat('http', httpRun);
  if (wants('messages')) results.messages = await repeat('messages', messagesRun);
  if (wants('create')) results.create = await repeat('create', createRun);
  if (wants('memory')) results.memory = await repeat('memory', memoryRun);

  plat.machine_busy_after = +(await machineBusy(2000)).toFixed(3);
  plat.loadavg_at_end = os.loadavg();
  const date = started.toISOString().slice(0, 10);
  const rows = buildRows(results);
  const shares: number[] = [];
  for (const r of Object.values(results) as { runs: { foreign_cpu_share?: number }[] }[]) {
    for (const run of r.runs) if (typeof run.foreign_cpu_share === 'number') shares.push(run.foreign_cpu_share);
  }
  const noise = { foreign_cpu_share_max: shares.length ? Math.max(...shares) : null, foreign_cpu_share_median: shares.length ? medianOf(shares) : null };
  const report = {
    suite: 'foundation',
    date: started.toISOString(),
    duration_s: +((Date.now() - started.getTime()) / 1000).toFixed(1),
    quick,
    platform: plat,
    method:
      'driver (this process) and hosts (taglets host --port 0, spawned via taglets/testing) in separate processes, 127.0.0.1 only, ' +
      'undici keep-alive client (taglets/client); latencies in ms measured by the driver around each request; ' +
      'figures are medians over runs (field-wise) of per-run statistics; target checks use p50 for latencies unless stated; ' +
      'cpu_us_per_msg is user+system CPU per message of driver / host / agent child from /proc (10 ms tick resolution).',
    config: { ...config, host_node_options: flags['host-node-options'] ?? null },
    noise,
    results,
    table: rows,
    missed: rows.filter((r) => r.met === false).map((r) => r.operation),
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const write = !quick && !flags['no-write'] && only.size === SCENARIOS.length;
  if (write) {
    const dir = flags['results-dir'] ?? join(BENCH_DIR, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${date}-foundation.json`), json);
    writeFileSync(join(dir, 'latest.json'), json);
    log(`wrote ${join(dir, `${date}-foundation.json`)} and ${join(dir, 'latest.json')}`);
  } else {
    log('results not written (--quick, --only or --no-write)');
  }
  if (flags.json) process.stdout.write(json);
  else if (flags.markdown) printMarkdown(rows, plat, date, noise.foreign_cpu_share_max);
  else printTable(rows, plat, date, noise.foreign_cpu_share_max);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping hosts`);
    void Promise.allSettled([stopAllHosts(), ...[...floorProcs].map(killFloor)]).finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await stopAllHosts();
  await Promise.allSettled([...floorProcs].map(killFloor));
}
