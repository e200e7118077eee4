/**
 * Mobility benchmarks: dispatch of an agent between two hosts with 1 KB, 1 MB and 16 MB of
 * state (ms per hop, back and forth), clone of a 1 KB agent (to the other host and on the same
 * host), and mesh convergence of 5 and 20 hosts started from one seed (gossip only).
 *
 *   node bench/mobility.ts [--quick] [--json] [--markdown] [--only dispatch,clone,mesh] [--cpu-prof DIR]
 *
 * The agent (bench/agents.js#Mover) builds its state itself from a size argument (a Buffer of
 * random bytes, not compressible), so the driver never sends the state. Every hop is one
 * `POST /agents/:id/dispatch` to the host the agent is on, timed by the driver until the answer
 * (the agent has arrived and runs on the target).
 */
import { HostClient, type AgentProxy } from 'taglets/client';
import type { SpawnedHost } from 'taglets/testing';
import { childrenOf, now, sleep, startHost, stopHost, summarize, type Stats } from './lib.ts';
import { log, ms, pollUntil, runSuite, treeCpuMs, type Row, type SuiteContext } from './report.ts';

const MOVER = './agents.js#Mover';
const SCENARIOS = ['dispatch', 'clone', 'mesh'] as const;
const SIZES = [
  ['1KB', 1024],
  ['1MB', 1024 * 1024],
  ['16MB', 16 * 1024 * 1024],
] as const;

const config = (quick: boolean) => ({
  hops: quick ? 6 : 20,
  warmupHops: quick ? 2 : 4,
  clones: quick ? 6 : 20,
  meshSizes: quick ? [5] : [5, 20],
  /** convergence runs per mesh size (5 hosts, 20 hosts) */
  meshRuns: quick ? [1] : [3, 2],
  meshTimeoutS: 60,
  meshPollMs: 25,
  /** hosts started at the same time after the seed */
  meshStartConcurrency: 4,
});
type Config = ReturnType<typeof config>;

/** Waits until the host's warm pool is full (idle children ready to take an agent). */
async function poolReady(client: HostClient, timeoutMs = 15_000): Promise<void> {
  const ok = await pollUntil(async () => {
    const p = (await client.health()).runner_pool.process!;
    return p.idle >= p.target_idle ? true : null;
  }, timeoutMs, 20);
  if (ok === null) log(`warning: warm pool of ${client.url} not full within ${timeoutMs} ms`);
}

async function twoHosts<T>(ctx: SuiteContext<Config>, fn: (a: SpawnedHost, b: SpawnedHost) => Promise<T>): Promise<T> {
  const hosts: SpawnedHost[] = [];
  try {
    // No mesh: the hop goes to a URL; gossip would only add noise.
    hosts.push(await startHost(ctx.hostOptions({ args: ['--no-mesh'] })));
    hosts.push(await startHost(ctx.hostOptions({ args: ['--no-mesh'] })));
    for (const h of hosts) await poolReady(new HostClient(h.url));
    return await fn(hosts[0]!, hosts[1]!);
  } finally {
    await Promise.allSettled(hosts.map(stopHost));
  }
}

interface DispatchResult {
  bytes: number;
  hop: Stats;
  /** CPU ms per hop of both hosts' process trees (hosts + agent processes, reaped ones included) */
  cpu_ms_per_hop: number;
  /** agent processes the two warm pools forked / handed out again during the timed hops */
  pool_spawned: number;
  pool_reused: number;
}

async function dispatchScenario(ctx: SuiteContext<Config>): Promise<Record<string, DispatchResult>> {
  const out: Record<string, DispatchResult> = {};
  await twoHosts(ctx, async (a, b) => {
    const ca = new HostClient(a.url, { timeoutMs: 120_000 });
    for (const [label, bytes] of SIZES) {
      let proxy: AgentProxy = await ca.createAgent(MOVER, { init: { bytes } });
      try {
        const size = await proxy.send<number>('size', {}, { timeoutMs: 30_000 });
        if (size !== bytes) throw new Error(`Mover built ${size} bytes, expected ${bytes}`);
        const other = (p: AgentProxy): string => (p.hostUrl === a.url ? b.url : a.url);
        for (let i = 0; i < ctx.config.warmupHops; i++) proxy = await proxy.dispatch(other(proxy), { timeoutMs: 120_000 });
        await poolReady(new HostClient(a.url));
        await poolReady(new HostClient(b.url));
        const samples: number[] = [];
        const pools = async (): Promise<{ spawned: number; reused: number }[]> =>
          Promise.all([a, b].map(async (h) => (await new HostClient(h.url).health()).runner_pool.process!));
        const pool0 = await pools();
        const cpu0 = treeCpuMs(a.pid) + treeCpuMs(b.pid);
        for (let i = 0; i < ctx.config.hops; i++) {
          const target = other(proxy);
          const t = now();
          proxy = await proxy.dispatch(target, { timeoutMs: 120_000 });
          samples.push(now() - t);
          if (proxy.hostUrl !== target) throw new Error(`dispatch answered ${proxy.hostUrl}, expected ${target}`);
        }
        const cpu = (treeCpuMs(a.pid) + treeCpuMs(b.pid) - cpu0) / ctx.config.hops;
        const pool1 = await pools();
        const spawned = pool1.reduce((n, p, i) => n + p.spawned - pool0[i]!.spawned, 0);
        const reused = pool1.reduce((n, p, i) => n + p.reused - pool0[i]!.reused, 0);
        // The state travelled intact (size) and every arrival ran onArrival.
        const [after, arrivals] = [await proxy.send<number>('size'), await proxy.send<number>('arrivals')];
        if (after !== bytes || arrivals !== ctx.config.warmupHops + ctx.config.hops) {
          throw new Error(`after the hops: ${after} bytes, ${arrivals} arrivals`);
        }
        out[label] = { bytes, hop: summarize(samples), cpu_ms_per_hop: cpu, pool_spawned: spawned, pool_reused: reused };
        log(`dispatch ${label}: p50 ${ms(out[label].hop.p50)}, mean ${ms(out[label].hop.mean)}, p90 ${ms(out[label].hop.p90)}, CPU ${ms(cpu)} per hop; pool forked ${spawned}, reused ${reused} over ${ctx.config.hops} hops`);
      } finally {
        await proxy.dispose().catch(() => {});
      }
    }
  });
  return out;
}

interface CloneResult {
  remote: Stats;
  local: Stats;
}

async function cloneScenario(ctx: SuiteContext<Config>): Promise<CloneResult> {
  return twoHosts(ctx, async (a, b) => {
    const ca = new HostClient(a.url);
    const src = await ca.createAgent(MOVER, { init: { bytes: 1024 } });
    try {
      const run = async (target: string | null): Promise<Stats> => {
        for (let i = 0; i < 3; i++) await (await src.clone(target)).dispose();
        const samples: number[] = [];
        for (let i = 0; i < ctx.config.clones; i++) {
          const t = now();
          const copy = await src.clone(target);
          samples.push(now() - t);
          if (target && copy.hostUrl !== target) throw new Error(`clone landed on ${copy.hostUrl}`);
          if ((await copy.send<number>('size')) !== 1024) throw new Error('clone has the wrong state');
          await copy.dispose();
        }
        return summarize(samples);
      };
      const remote = await run(b.url);
      const local = await run(null);
      log(`clone 1 KB: to the other host p50 ${ms(remote.p50)}, on the same host p50 ${ms(local.p50)}`);
      return { remote, local };
    } finally {
      await src.dispose().catch(() => {});
    }
  });
}

interface MeshRun {
  hosts: number;
  /** first spawn → last ready line */
  start_ms: number;
  /** last host's ready line → every host lists all hosts online */
  converge_ms: number;
  /** per host: last ready line → this host lists all online (sorted) */
  per_host_ms: number[];
  polls: number;
}

async function meshRun(ctx: SuiteContext<Config>, n: number): Promise<MeshRun> {
  const hosts: SpawnedHost[] = [];
  // Quiet hosts: no warm agent processes (20 hosts × 2 idle children would only add load).
  const args = ['--warm-pool', '0', '--no-mesh-multicast'];
  try {
    const t0 = now();
    const seed = await startHost(ctx.hostOptions({ args }));
    hosts.push(seed);
    let lastReady = now();
    // The others with --peer seed, `startConcurrency` at a time (19 Node starts at once on 2 vCPUs
    // take longer than a ready timeout; the start time is not what is measured).
    let started = 1;
    const starter = async (): Promise<void> => {
      while (started < n) {
        started++;
        const h = await startHost(ctx.hostOptions({ args: [...args, '--peer', seed.url], readyTimeoutMs: 120_000 }));
        hosts.push(h);
        lastReady = Math.max(lastReady, now());
      }
    };
    const rest = await Promise.allSettled(Array.from({ length: Math.min(ctx.config.meshStartConcurrency, n - 1) }, starter));
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const clients = hosts.map((h) => new HostClient(h.url, { timeoutMs: 5000 }));
    const all = hosts.map((h) => h.url).sort().join(' ');
    const seenAt: number[] = hosts.map(() => Number.NaN);
    let polls = 0;
    const deadline = lastReady + ctx.config.meshTimeoutS * 1000;
    while (seenAt.some((x) => Number.isNaN(x)) && now() < deadline) {
      polls++;
      await Promise.all(
        clients.map(async (c, i) => {
          if (!Number.isNaN(seenAt[i]!)) return;
          const online = (await c.hosts().catch(() => []))
            .filter((h) => h.online)
            .map((h) => h.url)
            .sort()
            .join(' ');
          if (online === all) seenAt[i] = now();
        }),
      );
      await sleep(ctx.config.meshPollMs);
    }
    if (seenAt.some((x) => Number.isNaN(x))) throw new Error(`mesh of ${n} did not converge within ${ctx.config.meshTimeoutS} s`);
    const r: MeshRun = {
      hosts: n,
      start_ms: lastReady - t0,
      converge_ms: Math.max(...seenAt) - lastReady,
      per_host_ms: seenAt.map((x) => +(x - lastReady).toFixed(1)),
      polls,
    };
    log(`mesh ${n}: hosts started in ${ms(r.start_ms)}, converged ${ms(r.converge_ms)} after the last ready line (children of the seed: ${childrenOf(seed.pid).length})`);
    return r;
  } finally {
    await Promise.allSettled(hosts.map(stopHost));
  }
}

async function meshScenario(ctx: SuiteContext<Config>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [i, n] of ctx.config.meshSizes.entries()) {
    const runs: MeshRun[] = [];
    for (let r = 0; r < (ctx.config.meshRuns[i] ?? 1); r++) {
      runs.push(await meshRun(ctx, n));
      await sleep(2000);
    }
    const conv = runs.map((r) => r.converge_ms).sort((x, y) => x - y);
    out[`hosts_${n}`] = {
      converge_ms_median: conv.length % 2 ? conv[conv.length >> 1] : (conv[conv.length / 2 - 1]! + conv[conv.length / 2]!) / 2,
      converge_ms_max: Math.max(...conv),
      start_ms_median: runs.map((r) => r.start_ms).sort((x, y) => x - y)[runs.length >> 1],
      runs,
    };
  }
  return out;
}

function rows(results: Record<string, Record<string, unknown>>, ctx: SuiteContext<Config>): Row[] {
  const out: Row[] = [];
  const d = results.dispatch as unknown as Record<string, DispatchResult> | undefined;
  if (d) {
    const targets: Record<string, [string, string, number | null]> = {
      '1KB': ['354 ms', '≤ 20 ms', 20],
      '1MB': ['387 ms', '≤ 40 ms', 40],
      '16MB': ['—', '—', null],
    };
    for (const [label] of SIZES) {
      const r = d[label];
      if (!r) continue;
      const [paglets, target, limit] = targets[label]!;
      out.push({
        operation: `dispatch between two hosts, ${label.replace('KB', ' KB').replace('MB', ' MB')} state (per hop, median of ${ctx.config.hops} back and forth)`,
        taglets: `${ms(r.hop.p50)} (mean ${ms(r.hop.mean)}, p90 ${ms(r.hop.p90)}; CPU ${ms(r.cpu_ms_per_hop)}/hop)`,
        paglets,
        target,
        ...(limit !== null ? { met: r.hop.p50 <= limit } : {}),
      });
    }
  }
  const c = results.clone as unknown as CloneResult | undefined;
  if (c) {
    out.push({
      operation: `clone, 1 KB state, to the other host (median of ${ctx.config.clones})`,
      taglets: `${ms(c.remote.p50)} (p90 ${ms(c.remote.p90)})`,
      paglets: '—',
      target: '—',
    });
    out.push({
      operation: `clone, 1 KB state, on the same host (median of ${ctx.config.clones})`,
      taglets: `${ms(c.local.p50)} (p90 ${ms(c.local.p90)})`,
      paglets: '—',
      target: '—',
    });
  }
  const m = results.mesh as Record<string, { converge_ms_median: number; converge_ms_max: number; start_ms_median: number; runs: MeshRun[] }> | undefined;
  if (m) {
    for (const n of ctx.config.meshSizes) {
      const r = m[`hosts_${n}`];
      if (!r) continue;
      out.push({
        operation: `mesh convergence, ${n} hosts from one seed (--peer seed, no multicast): last ready line → all list ${n} online`,
        taglets: `${ms(r.converge_ms_median)} (median of ${r.runs.length}, max ${ms(r.converge_ms_max)}; hosts started in ${ms(r.start_ms_median)})`,
        paglets: '—',
        target: '—',
      });
    }
  }
  return out;
}

await runSuite<Config>({
  name: 'mobility',
  title: 'taglets mobility benchmarks',
  scenarios: SCENARIOS,
  config,
  run: async (scenario, ctx) => {
    if (scenario === 'dispatch') return dispatchScenario(ctx) as unknown as Record<string, unknown>;
    if (scenario === 'clone') return cloneScenario(ctx) as unknown as Record<string, unknown>;
    return meshScenario(ctx);
  },
  rows,
  method:
    'driver (this process) and hosts (taglets host --port 0, spawned via taglets/testing) in separate processes, 127.0.0.1 only. ' +
    'dispatch/clone: two hosts with --no-mesh and no launch config, warm pools full before each series; the agent builds its state ' +
    '(random bytes) in onCreation; a hop is POST /agents/:id/dispatch to the host holding the agent, timed by the driver until the ' +
    'answer (agent arrived and active on the target); warm-up hops not counted; clones are disposed between clones (not timed). ' +
    'mesh: hosts with --warm-pool 0 --no-mesh-multicast and no launch config; the seed first, then the others (4 starting at a time) with --peer seed; ' +
    'convergence = time from the last ready line until every host lists every host online in GET /hosts (polled every 25 ms).',
});
