/**
 * Compute benchmarks: batches of trivial compute jobs (bench/compute-agents.js#TrivialJob, a
 * ComputeJobAgent whose runComputeJob is one multiplication; allow_home_compute, 1 MiB,
 * estimated 1 s, one core) on hosts with the bundled default services (compute-slots with the
 * default `throughput` profile), on 1 host and on 2 peered hosts. Measures wall time from the
 * first create to every job COMPLETED, and jobs/s.
 *
 *   node bench/compute.ts [--quick] [--json] [--markdown] [--only 1-host,2-hosts] [--cpu-prof DIR]
 *
 * How a batch runs: the driver creates the jobs on the first host with 4 concurrent clients
 * (as submitComputeJobGroup does by default) and meanwhile polls
 * `GET /agents?state=active&include_state=1` of every host (sleeping jobs wait for a slot, they
 * are never COMPLETED), pausing at least as long as the previous poll took so polling uses at
 * most half of the host's attention. A COMPLETED job stays active in its own agent process
 * (the default process runner); the driver disposes it when it sees it COMPLETED when
 * `dispose` is 'as-completed' (1,000 jobs: 1,000 idle Node processes would need ~17 GB), or
 * after the whole batch ('after', 50 jobs: what a user who collects results at the end does).
 * Completion time is taken from the jobs' own `finished_at` (epoch ms set in runComputeJob),
 * so the poll interval does not blur it; the poll that saw the last completion is recorded too.
 */
import { HostClient } from 'taglets/client';
import type { SpawnedHost } from 'taglets/testing';
import { childrenOf, now, sleep, startHost, stopHost } from './lib.ts';
import { log, ms, perS, pollUntil, rate, runSuite, treeCpuMs, type Row, type SuiteContext } from './report.ts';

const JOB = './compute-agents.js#TrivialJob';
const SCENARIOS = ['1-host', '2-hosts'] as const;

const config = (quick: boolean) => ({
  small: quick ? 10 : 50,
  large: quick ? 50 : 1000,
  createClients: 4,
  smallTimeoutS: quick ? 60 : 120,
  largeTimeoutS: quick ? 120 : 600,
  minPollMs: 50,
});
type Config = ReturnType<typeof config>;

interface JobView {
  agent_id: string;
  active: boolean;
  state?: { compute_status?: string; finished_at?: number | null; ran_on?: string | null; compute_error?: string | null };
}

interface BatchResult {
  jobs: number;
  dispose: 'after' | 'as-completed';
  completed: number;
  failed: number;
  timed_out: boolean;
  /** first create → last job's finished_at (the job's own clock reading) */
  wall_ms: number;
  jobs_per_s: number;
  /** first create → the poll that saw the last completion */
  observed_wall_ms: number;
  /** first create → last create answered */
  create_ms: number;
  create_per_s: number;
  ran_on: Record<string, number>;
  polls: number;
  poll_mean_ms: number;
  /** most agent processes (host children) seen during the batch, per host */
  max_children: number[];
  /** CPU ms per job of each host's process tree (host + agent children) */
  host_cpu_ms_per_job: number[];
  dispose_ms: number;
  /** agent processes the warm pool forked / reused during the batch, per host */
  pool_spawned: number[];
  pool_reused: number[];
  runner: 'process' | 'inline';
}

const servicesActive = async (client: HostClient): Promise<boolean> => {
  const agents = await client.listAgents({ state: 'active' });
  const ids = new Set(agents.map((a) => a.agent_id));
  return ids.has('service.compute-slots') && ids.has('service.mesh-info');
};

/** Hosts with the default services, ready: services active, warm pool idle, (mesh) all peers online. */
async function startComputeHosts(ctx: SuiteContext<Config>, count: number): Promise<SpawnedHost[]> {
  const hosts: SpawnedHost[] = [];
  try {
    const first = await startHost(ctx.hostOptions({ launch: true, args: ['--no-mesh-multicast'] }));
    hosts.push(first);
    for (let i = 1; i < count; i++) {
      hosts.push(await startHost(ctx.hostOptions({ launch: true, args: ['--no-mesh-multicast', '--peer', first.url] })));
    }
    for (const h of hosts) {
      const c = new HostClient(h.url);
      if ((await pollUntil(async () => ((await servicesActive(c)) ? true : null), 60_000, 20)) === null) throw new Error(`services of ${h.name} not active`);
      await pollUntil(async () => {
        const p = (await c.health()).runner_pool.process!;
        return p.idle >= p.target_idle ? true : null;
      }, 15_000, 20);
    }
    if (count > 1) {
      // Both hosts online in each other's mesh, and the schedulers exchanged status.
      for (const h of hosts) {
        const c = new HostClient(h.url);
        const ok = await pollUntil(async () => ((await c.hosts()).filter((x) => x.online).length === count ? true : null), 30_000, 50);
        if (ok === null) throw new Error(`${h.name} does not list ${count} hosts online`);
        const slots = c.proxy('service.compute-slots');
        await pollUntil(async () => {
          const s = (await slots.send('compute-slots.sync_scheduler_status', { request: { statuses: [] } }, { timeoutMs: 5000 })) as { statuses: unknown[] };
          return s.statuses.length >= count ? true : null;
        }, 30_000, 100);
      }
    }
    return hosts;
  } catch (err) {
    await Promise.allSettled(hosts.map(stopHost));
    throw err;
  }
}


async function runBatch(
  ctx: SuiteContext<Config>,
  hosts: SpawnedHost[],
  jobs: number,
  dispose: 'after' | 'as-completed',
  timeoutS: number,
  runner: 'process' | 'inline' = 'process',
): Promise<BatchResult> {
  const clients = hosts.map((h) => new HostClient(h.url, { timeoutMs: 60_000 }));
  const poolStats = (): Promise<{ spawned: number; reused: number }[]> => Promise.all(clients.map(async (c) => (await c.health()).runner_pool.process!));
  const pool0 = await poolStats();
  const submit = clients[0]!;
  const created = new Set<string>();
  const finishedAt = new Map<string, number>();
  const ranOn = new Map<string, string>();
  const failed = new Map<string, string>();
  const disposed = new Set<string>();
  const maxChildren = hosts.map(() => 0);
  const cpu0 = hosts.map((h) => treeCpuMs(h.pid));
  let polls = 0;
  let pollMs = 0;
  let createMs = Number.NaN;
  let createError: unknown = null;
  let disposing: Promise<unknown>[] = [];

  const t0Epoch = Date.now();
  const t0 = now();
  let next = 0;
  const creating = Promise.all(
    Array.from({ length: Math.min(ctx.config.createClients, jobs) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= jobs) return;
        const p = await submit.createAgent(JOB, { state: { n: i }, ...(runner === 'inline' ? { runner } : {}) });
        created.add(p.agentId);
      }
    }),
  ).then(
    () => (createMs = now() - t0),
    (err: unknown) => {
      createError = err;
      createMs = now() - t0;
    },
  );

  const deadline = t0 + timeoutS * 1000;
  let observed = Number.NaN;
  while (now() < deadline) {
    const tp = now();
    const views = await Promise.all(
      clients.map((c) => c.call<{ agents: JobView[] }>('GET', '/agents?state=active&include_state=1').then((r) => r.agents, () => [] as JobView[])),
    );
    const took = now() - tp;
    polls++;
    pollMs += took;
    views.forEach((agents, hi) => {
      for (const a of agents) {
        const s = a.state;
        if (!s || s.compute_status === undefined) continue;
        if (s.compute_status === 'COMPLETED' && !finishedAt.has(a.agent_id)) {
          finishedAt.set(a.agent_id, s.finished_at ?? Date.now());
          ranOn.set(a.agent_id, s.ran_on ?? hosts[hi]!.name);
          if (dispose === 'as-completed') {
            disposed.add(a.agent_id);
            disposing.push(clients[hi]!.dispose(a.agent_id).catch(() => disposed.delete(a.agent_id)));
          }
        } else if (s.compute_status === 'FAILED_FINAL' && !failed.has(a.agent_id)) {
          failed.set(a.agent_id, s.compute_error ?? 'failed');
        }
      }
    });
    hosts.forEach((h, hi) => (maxChildren[hi] = Math.max(maxChildren[hi]!, childrenOf(h.pid).length)));
    if (finishedAt.size + failed.size >= jobs) {
      observed = now() - t0;
      break;
    }
    if (createError) break;
    await sleep(Math.max(ctx.config.minPollMs, took));
  }
  await creating;
  if (createError) log(`create failed: ${(createError as Error).message}`);
  await Promise.allSettled(disposing);
  const cpu1 = hosts.map((h) => treeCpuMs(h.pid));
  const pool1 = await poolStats();
  const completed = finishedAt.size;
  const lastFinish = completed ? Math.max(...finishedAt.values()) : Number.NaN;
  const wall = completed === jobs ? lastFinish - t0Epoch : Number.NaN;

  // Dispose whatever is left (completed, failed or still queued), on whichever host it is.
  const td = now();
  disposing = [];
  for (const c of clients) {
    const left = (await c.listAgents()).filter((a) => !a.agent_id.startsWith('service.'));
    for (const a of left) disposing.push(c.dispose(a.agent_id).catch(() => {}));
  }
  await Promise.allSettled(disposing);
  const disposeMs = now() - td;
  const ran_on: Record<string, number> = {};
  for (const h of ranOn.values()) ran_on[h] = (ran_on[h] ?? 0) + 1;
  const out: BatchResult = {
    jobs,
    dispose,
    completed,
    failed: failed.size,
    timed_out: completed + failed.size < jobs,
    wall_ms: wall,
    jobs_per_s: completed === jobs ? rate(jobs, wall) : rate(completed, (lastFinish || Date.now()) - t0Epoch),
    observed_wall_ms: observed,
    create_ms: createMs,
    create_per_s: rate(created.size, createMs),
    ran_on,
    polls,
    poll_mean_ms: pollMs / Math.max(1, polls),
    max_children: maxChildren,
    host_cpu_ms_per_job: hosts.map((_, i) => (cpu1[i]! - cpu0[i]!) / Math.max(1, completed)),
    dispose_ms: disposeMs,
    pool_spawned: pool1.map((p, i) => p.spawned - pool0[i]!.spawned),
    pool_reused: pool1.map((p, i) => p.reused - pool0[i]!.reused),
    runner,
  };
  if (failed.size) log(`${failed.size} jobs failed, e.g. ${[...failed.values()][0]}`);
  log(
    `${jobs} jobs on ${hosts.length} host(s), dispose ${dispose}: ${completed} completed in ${ms(wall)} (${perS(out.jobs_per_s)}); ` +
      `creates ${ms(createMs)}; polls ${polls} × ${ms(out.poll_mean_ms)}; ran on ${JSON.stringify(ran_on)}; max children ${maxChildren.join('/')}; ` +
      `pool spawned ${out.pool_spawned.join('/')}, reused ${out.pool_reused.join('/')}; CPU/job ${out.host_cpu_ms_per_job.map((x) => ms(x)).join('/')}${runner === 'inline' ? ' (inline runner)' : ''}`,
  );
  return out;
}

async function scenario(name: string, ctx: SuiteContext<Config>): Promise<Record<string, unknown>> {
  const count = name === '1-host' ? 1 : 2;
  const out: Record<string, BatchResult> = {};
  const batches: [string, number, 'after' | 'as-completed', number, 'process' | 'inline'][] = [
    ['small', ctx.config.small, 'after', ctx.config.smallTimeoutS, 'process'],
    ['small_dispose_as_completed', ctx.config.small, 'as-completed', ctx.config.smallTimeoutS, 'process'],
    ['large', ctx.config.large, 'as-completed', ctx.config.largeTimeoutS, 'process'],
  ];
  // Diagnostic, not a default: the same jobs in the host process (no agent process per job).
  if (count === 1) batches.push(['small_inline', ctx.config.small, 'after', ctx.config.smallTimeoutS, 'inline']);
  for (const [key, jobs, dispose, timeoutS, runner] of batches) {
    // A fresh, idle set of hosts for every batch.
    const hosts = await startComputeHosts(ctx, count);
    try {
      await sleep(1000);
      out[key] = await runBatch(ctx, hosts, jobs, dispose, timeoutS, runner);
    } finally {
      await Promise.allSettled(hosts.map(stopHost));
    }
  }
  return out as unknown as Record<string, unknown>;
}

function rows(results: Record<string, Record<string, unknown>>, ctx: SuiteContext<Config>): Row[] {
  const out: Row[] = [];
  const c = ctx.config;
  for (const name of SCENARIOS) {
    const r = results[name] as unknown as Record<string, BatchResult> | undefined;
    if (!r) continue;
    const where = name === '1-host' ? '1 host' : '2 peered hosts (created on the first)';
    const hosts = name === '1-host' ? 1 : 2;
    const text = (b: BatchResult): string =>
      b.timed_out
        ? `${b.completed} of ${b.jobs} COMPLETED within the timeout (${perS(b.jobs_per_s)})`
        : `${ms(b.wall_ms)}, ${perS(b.jobs_per_s)} (creates ${perS(b.create_per_s)}; ran on ${Object.entries(b.ran_on).map(([h, n]) => `${h.replace(/^bench-compute-\d+-/, '#')}: ${n}`).join(', ')})`;
    if (r.small) {
      out.push({
        operation: `${c.small} trivial compute jobs, ${where}, default settings (jobs disposed after the batch)`,
        taglets: text(r.small),
        paglets: '18.6–253 s default; 2.9–4.4/s tuned',
        target: `≤ 2 s, ≥ ${200 * hosts}/s`,
        met: !r.small.timed_out && r.small.wall_ms <= 2000 && r.small.jobs_per_s >= 200 * hosts,
      });
    }
    if (r.small_dispose_as_completed) {
      out.push({
        operation: `${c.small} trivial compute jobs, ${where}, each disposed once COMPLETED`,
        taglets: text(r.small_dispose_as_completed),
        paglets: '—',
        target: `≤ 2 s, ≥ ${200 * hosts}/s`,
        met: !r.small_dispose_as_completed.timed_out && r.small_dispose_as_completed.wall_ms <= 2000 && r.small_dispose_as_completed.jobs_per_s >= 200 * hosts,
      });
    }
    if (r.small_inline) {
      out.push({
        operation: `${c.small} trivial compute jobs, ${where}, runner 'inline' (diagnostic: no agent process per job)`,
        taglets: text(r.small_inline),
        paglets: '—',
        target: '—',
      });
    }
    if (r.large) {
      out.push({
        operation: `${c.large} trivial compute jobs, ${where}, each disposed once COMPLETED`,
        taglets: text(r.large),
        paglets: '2.9–4.4/s tuned',
        target: `≥ ${200 * hosts}/s`,
        met: !r.large.timed_out && r.large.jobs_per_s >= 200 * hosts,
      });
    }
  }
  return out;
}

await runSuite<Config>({
  name: 'compute',
  title: 'taglets compute benchmarks',
  scenarios: SCENARIOS,
  config,
  run: scenario,
  rows,
  method:
    'driver (this process) and hosts (taglets host --port 0 with the bundled default launch config: compute-slots with the default throughput profile; ' +
    '--no-mesh-multicast, the second host --peer the first) in separate processes on 127.0.0.1; fresh hosts per batch, started and idle (services active, ' +
    'warm pool full, peers online and scheduler status exchanged) before the first create; jobs created on the first host by 4 concurrent clients; ' +
    'wall time = first create → the latest finished_at the jobs recorded (Date.now() in runComputeJob); completion polled with ' +
    'GET /agents?state=active&include_state=1 on every host, pausing max(50 ms, the previous poll) between polls; jobs/s = jobs / wall time.',
});
