/**
 * Durability benchmarks: deactivate, activate and wake-by-message of an agent (process runner),
 * host start with the bundled default services, and the idle CPU of such a host.
 *
 *   node bench/durability.ts [--quick] [--json] [--markdown] [--only lifecycle,host-start,idle-cpu] [--cpu-prof DIR]
 */
import { HostClient } from 'taglets/client';
import { cpuMs, now, safeCpuMs, sleep, startHost, stopHost, summarize, withHost, type Stats } from './lib.ts';
import { log, ms, pct, pollUntil, processTree, runSuite, type Row, type SuiteContext } from './report.ts';

const COUNTER = './agents.js#Counter';
const SCENARIOS = ['lifecycle', 'host-start', 'idle-cpu'] as const;
const EAGER = ['service.mesh-info', 'service.compute-slots'];

const config = (quick: boolean) => ({
  cycles: quick ? 8 : 30,
  warmupCycles: quick ? 2 : 5,
  hostStarts: quick ? 2 : 5,
  idleSettleS: quick ? 2 : 10,
  idleWindowS: quick ? 5 : 30,
});
type Config = ReturnType<typeof config>;

async function poolReady(client: HostClient, timeoutMs = 15_000): Promise<void> {
  await pollUntil(async () => {
    const p = (await client.health()).runner_pool.process!;
    return p.idle >= p.target_idle ? true : null;
  }, timeoutMs, 20);
}

interface LifecycleResult {
  deactivate: Stats;
  activate: Stats;
  wake_by_message: Stats;
}

async function lifecycle(ctx: SuiteContext<Config>): Promise<LifecycleResult> {
  return withHost(ctx.hostOptions(), async (host) => {
    const client = new HostClient(host.url);
    await poolReady(client);
    const agent = await client.createAgent(COUNTER);
    const deact: number[] = [];
    const act: number[] = [];
    const wake: number[] = [];
    let expected = 0;
    for (let i = 0; i < ctx.config.warmupCycles + ctx.config.cycles; i++) {
      let t = now();
      await agent.deactivate();
      const d = now() - t;
      t = now();
      await agent.activate();
      const a = now() - t;
      if (!(await agent.info()).active) throw new Error('activate returned but the agent is not active');
      if (i >= ctx.config.warmupCycles) {
        deact.push(d);
        act.push(a);
      }
    }
    for (let i = 0; i < ctx.config.warmupCycles + ctx.config.cycles; i++) {
      await agent.deactivate();
      if ((await agent.info()).active) throw new Error('deactivate returned but the agent is active');
      const t = now();
      const count = await agent.send<number>('inc', {}, { timeoutMs: 30_000 });
      const w = now() - t;
      if (count !== ++expected) throw new Error(`wake by message: count ${count}, expected ${expected} (state lost?)`);
      if (i >= ctx.config.warmupCycles) wake.push(w);
    }
    await agent.dispose();
    const out = { deactivate: summarize(deact), activate: summarize(act), wake_by_message: summarize(wake) };
    log(`lifecycle: deactivate p50 ${ms(out.deactivate.p50)}, activate p50 ${ms(out.activate.p50)}, wake by message p50 ${ms(out.wake_by_message.p50)}`);
    return out;
  });
}

interface HostStartRun {
  /** spawn → ready line */
  ready_ms: number;
  /** spawn → GET /health answers */
  health_ms: number;
  /** spawn → the eager services (mesh-info, compute-slots) are listed active in GET /agents */
  services_ms: number;
  /** CPU of the host and its children until then */
  services_cpu_ms: number;
}

async function hostStart(ctx: SuiteContext<Config>): Promise<{ runs: HostStartRun[]; median: Record<string, number> }> {
  const runs: HostStartRun[] = [];
  for (let i = 0; i <= ctx.config.hostStarts; i++) {
    const t0 = now();
    const host = await startHost(ctx.hostOptions({ launch: true }));
    try {
      const ready = now() - t0;
      const client = new HostClient(host.url, { timeoutMs: 2000 });
      const health = await pollUntil(async () => (await client.health(), now() - t0), 30_000, 1);
      const services = await pollUntil(async () => {
        const agents = await client.listAgents({ state: 'active' });
        const active = new Set(agents.filter((a) => a.active).map((a) => a.agent_id));
        return EAGER.every((id) => active.has(id)) ? now() - t0 : null;
      }, 30_000, 1);
      if (health === null || services === null) throw new Error(`host ${host.name}: /health or the eager services did not come up within 30 s`);
      const cpu = processTree(host.pid).reduce((s, p) => s + safeCpuMs(p), 0);
      const run = { ready_ms: ready, health_ms: health, services_ms: services, services_cpu_ms: cpu };
      log(`host start ${i === 0 ? '(warm-up)' : i}: ready line ${ms(ready)}, /health ${ms(health)}, eager services active ${ms(services)}, CPU ${ms(cpu)}`);
      if (i > 0) runs.push(run);
    } finally {
      await stopHost(host);
    }
  }
  const med = (k: keyof HostStartRun): number => summarize(runs.map((r) => r[k])).p50;
  const median = { ready_ms: med('ready_ms'), health_ms: med('health_ms'), services_ms: med('services_ms'), services_cpu_ms: med('services_cpu_ms') };
  return { runs, median };
}

interface IdleResult {
  window_s: number;
  cpu_ms: number;
  /** % of one core */
  cpu_percent: number;
  host_cpu_ms: number;
  children_cpu_ms: number;
  processes: number;
  /** processes of the tree that appeared or disappeared during the window */
  churn: number;
  /** per agent of the host: its pid (process runner) or null (inline) */
  agents: Record<string, number | null>;
}

async function idleCpu(ctx: SuiteContext<Config>): Promise<IdleResult> {
  return withHost(ctx.hostOptions({ launch: true }), async (host) => {
    const client = new HostClient(host.url);
    await pollUntil(async () => {
      const active = new Set((await client.listAgents({ state: 'active' })).map((a) => a.agent_id));
      return EAGER.every((id) => active.has(id)) ? true : null;
    }, 30_000, 20);
    await poolReady(client);
    const agents = Object.fromEntries((await client.listAgents()).map((a) => [a.agent_id, a.pid]));
    // Let the start-up work (pool forks, first samples, first gossip) pass; then hands off.
    await sleep(ctx.config.idleSettleS * 1000);
    const before = new Map(processTree(host.pid).map((p) => [p, safeCpuMs(p)]));
    const t0 = now();
    await sleep(ctx.config.idleWindowS * 1000);
    const wall = now() - t0;
    const afterPids = processTree(host.pid);
    const after = new Map(afterPids.map((p) => [p, safeCpuMs(p)]));
    let total = 0;
    let children = 0;
    for (const [pid, c1] of after) {
      const delta = c1 - (before.get(pid) ?? 0);
      total += delta;
      if (pid !== host.pid) children += delta;
    }
    const churn = [...before.keys()].filter((p) => !after.has(p)).length + afterPids.filter((p) => !before.has(p)).length;
    const out: IdleResult = {
      window_s: wall / 1000,
      cpu_ms: total,
      cpu_percent: (total / wall) * 100,
      host_cpu_ms: (after.get(host.pid) ?? 0) - (before.get(host.pid) ?? 0),
      children_cpu_ms: children,
      processes: afterPids.length,
      churn,
      agents,
    };
    log(
      `idle CPU over ${out.window_s.toFixed(1)} s: ${pct(out.cpu_percent)} of a core (host ${ms(out.host_cpu_ms)}, children ${ms(children)}; ` +
        `${out.processes} processes, churn ${churn}; host CPU total ${ms(cpuMs(host.pid))})`,
    );
    return out;
  });
}

function rows(results: Record<string, Record<string, unknown>>, ctx: SuiteContext<Config>): Row[] {
  const out: Row[] = [];
  const l = results.lifecycle as unknown as LifecycleResult | undefined;
  if (l) {
    const n = ctx.config.cycles;
    out.push({
      operation: `deactivate (process agent → store, median of ${n})`,
      taglets: `${ms(l.deactivate.p50)} (p90 ${ms(l.deactivate.p90)})`,
      paglets: '7.8 ms',
      target: '≤ 5 ms',
      met: l.deactivate.p50 <= 5,
    });
    out.push({
      operation: `activate (POST /activate, median of ${n})`,
      taglets: `${ms(l.activate.p50)} (p90 ${ms(l.activate.p90)})`,
      paglets: '374 ms',
      target: '≤ 15 ms',
      met: l.activate.p50 <= 15,
    });
    out.push({
      operation: `wake by message (sync send to a sleeping agent → reply, median of ${n})`,
      taglets: `${ms(l.wake_by_message.p50)} (p90 ${ms(l.wake_by_message.p90)})`,
      paglets: '341 ms',
      target: '≤ 15 ms',
      met: l.wake_by_message.p50 <= 15,
    });
  }
  const h = results['host-start'] as unknown as { runs: HostStartRun[]; median: Record<string, number> } | undefined;
  if (h) {
    out.push({
      operation: `host start with default services: spawn → /health answers and mesh-info + compute-slots active (median of ${h.runs.length})`,
      taglets: `${ms(h.median.services_ms)} (ready line ${ms(h.median.ready_ms)}, /health ${ms(h.median.health_ms)}; CPU ${ms(h.median.services_cpu_ms)})`,
      paglets: '1.0 s',
      target: '≤ 300 ms',
      met: h.median.services_ms! <= 300,
    });
  }
  const i = results['idle-cpu'] as unknown as IdleResult | undefined;
  if (i) {
    out.push({
      operation: `idle CPU of a host with default services (host + children, ${i.window_s.toFixed(0)} s)`,
      taglets: `${pct(i.cpu_percent)} of a core (host ${ms(i.host_cpu_ms)}, children ${ms(i.children_cpu_ms)})`,
      paglets: '1.8 %',
      target: '≤ 0.5 %',
      met: i.cpu_percent <= 0.5,
    });
  }
  return out;
}

await runSuite<Config>({
  name: 'durability',
  title: 'taglets durability benchmarks',
  scenarios: SCENARIOS,
  config,
  run: async (scenario, ctx) => {
    if (scenario === 'lifecycle') return lifecycle(ctx) as unknown as Record<string, unknown>;
    if (scenario === 'host-start') return hostStart(ctx) as unknown as Record<string, unknown>;
    return idleCpu(ctx) as unknown as Record<string, unknown>;
  },
  rows,
  method:
    'driver (this process) and hosts (taglets host --port 0, spawned via taglets/testing) in separate processes, 127.0.0.1 only. ' +
    'lifecycle: one host without launch config, one Counter agent (process runner), warm pool full; deactivate and activate are ' +
    'POST /agents/:id/deactivate and /activate timed by the driver; wake by message = sync send to the sleeping agent until its reply ' +
    '(default policy: activate_on_message); warm-up cycles not counted. host start: a fresh persistence dir and the bundled default ' +
    'launch config each time; time from spawn until GET /agents lists service.mesh-info and service.compute-slots active (polled every ~1 ms); ' +
    'one discarded warm-up start. idle CPU: a host with the default services (mesh on), after the services are active, the warm pool ' +
    'full and a settle period; utime+stime from /proc/<pid>/stat of the host and all its descendants over the window, as % of one core; ' +
    'the driver sends no request during the window.',
});
