/**
 * Compute jobs with real hosts and their compute-slots services: admission by cores, sleeping
 * and waking on grants, spillover to an idle peer, and a restart while jobs wait.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HostClient } from 'taglets/client';
import { spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

const JOB = './compute-jobs.js#SleepyJob';
const gates = mkdtempSync(join(tmpdir(), 'taglets-gates-'));
let gateN = 0;
/** A closed gate (a file path that does not exist yet) and the function that opens it. */
function gate(): { path: string; open: () => void } {
  const path = join(gates, `g${++gateN}`);
  return { path, open: () => writeFileSync(path, '') };
}
const hosts: SpawnedHost[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  for (const d of [...dirs, gates]) rmSync(d, { recursive: true, force: true });
});

async function start(name: string, args: string[] = [], persistenceDir?: string): Promise<{ h: SpawnedHost; c: HostClient }> {
  const h = await spawnHost({ name, root: FIXTURES, launch: true, args, readyTimeoutMs: 60_000, ...(persistenceDir ? { persistenceDir } : {}) });
  hosts.push(h);
  return { h, c: new HostClient(h.url) };
}

type JobState = { compute_status: string; compute_error: string | null; ran_on: string | null; started_at: number | null; finished_at: number | null; cpu_core_ids: number[] };
const jobState = async (c: HostClient, id: string): Promise<JobState> => (await c.getState(id)).state as JobState;

async function allDone(c: HostClient, ids: string[], timeoutMs = 60_000): Promise<JobState[]> {
  return waitFor(async () => {
    const states = await Promise.all(ids.map((id) => jobState(c, id).catch(() => null)));
    return states.every((s) => s && (s.compute_status === 'COMPLETED' || s.compute_status === 'FAILED_FINAL')) ? (states as JobState[]) : null;
  }, timeoutMs, 100);
}

/** The most jobs whose [started, finished] intervals overlap at one instant. */
function maxOverlap(states: JobState[]): number {
  const points = states.flatMap((s) => [
    [s.started_at!, 1],
    [s.finished_at!, -1],
  ]) as [number, number][];
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (cur += d));
  return max;
}

describe('compute jobs', () => {
  it('five 2-core jobs on a host with fewer free cores: some run, the others sleep and run later; all complete', async () => {
    const { c } = await start('cmp1', ['--no-mesh']);
    const ids = ['a', 'b', 'c', 'd', 'e'].map((x) => `job-${x}`);
    const g = gate();
    for (const id of ids) await c.createAgent(JOB, { agentId: id, state: { cpu_cores: 2, ms: 50, gate: g.path } });
    // The first job holds both CPUs until the gate opens: the other four must be asleep, queued.
    await waitFor(async () => (await c.listAgents({ state: 'inactive' })).length === 4, 60_000, 50);
    g.open();
    const states = await allDone(c, ids);
    assert.ok(states.every((s) => s.compute_status === 'COMPLETED'), JSON.stringify(states.map((s) => s.compute_error)));
    assert.equal(maxOverlap(states), 1, 'a 2-CPU host runs one 2-core job at a time');
    assert.ok(states.every((s) => s.cpu_core_ids.length === 2));
    const ev = await c.events({ limit: 1000 });
    assert.ok(ev.filter((e) => e.kind === 'deactivate').length >= 1, 'some slept');
    assert.ok(ev.filter((e) => e.kind === 'activate' && (e.data as { reason: string }).reason === 'message').length >= 1, 'woken by a grant');
  });

  it('a job asking for more cores than the host has is rejected with the reason', async () => {
    const { c } = await start('cmp2', ['--no-mesh']);
    await c.createAgent(JOB, { agentId: 'huge', state: { cpu_cores: 64 } });
    const [s] = await allDone(c, ['huge']);
    assert.equal(s!.compute_status, 'FAILED_FINAL');
    assert.match(s!.compute_error ?? '', /requested CPU cores exceed host eligible CPU count/);
  });

  it('a job that fails reports it and releases its lease', async () => {
    const { c } = await start('cmp3', ['--no-mesh']);
    await c.createAgent('./compute-jobs.js#FailingJob', { agentId: 'bad' });
    const [s] = await allDone(c, ['bad']);
    assert.equal(s!.compute_status, 'FAILED_FINAL');
    assert.equal(s!.compute_error, 'job exploded');
    const status = (await c.proxy('service.compute-slots').send('compute-slots.scheduler_status', { request: { include_queue: true } })) as {
      leases: unknown[];
    };
    assert.deepEqual(status.leases, []);
  });

  it('waiting jobs survive a host restart and run afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taglets-cmp-'));
    dirs.push(dir);
    let { h, c } = await start('cmp4', ['--no-mesh'], dir);
    const ids = ['r1', 'r2', 'r3'];
    const g = gate();
    for (const id of ids) await c.createAgent(JOB, { agentId: id, state: { cpu_cores: 2, ms: 50, gate: g.path } });
    await waitFor(async () => (await c.listAgents({ state: 'inactive' })).length === 2, 60_000, 50);
    const { code } = await h.stop(15_000);
    assert.equal(code, 0);
    ({ h, c } = await start('cmp4', ['--no-mesh'], dir));
    g.open();
    const states = await allDone(c, ids, 90_000);
    assert.ok(states.every((s) => s.compute_status === 'COMPLETED'), JSON.stringify(states));
  });

  it('spills over from a busy host to an idle peer', async () => {
    const a = await start('busy', ['--no-mesh-multicast']);
    const b = await start('idle', ['--no-mesh-multicast', '--peer', a.h.url]);
    await waitFor(async () => (await a.c.call<{ hosts: { online: boolean }[] }>('GET', '/hosts')).hosts.filter((x) => x.online).length === 2, 20_000);
    // Let the schedulers exchange status, then queue more 2-core jobs on 'busy' than it can run.
    await waitFor(async () => {
      const s = (await a.c.proxy('service.compute-slots').send('compute-slots.sync_scheduler_status', { request: { statuses: [] } })) as { statuses: unknown[] };
      return s.statuses.length >= 2;
    }, 30_000, 200);
    const ids = ['s1', 's2', 's3', 's4'];
    for (const id of ids) await a.c.createAgent(JOB, { agentId: id, state: { cpu_cores: 2, ms: 3000 } });
    const ranOn = await waitFor(async () => {
      const found = await Promise.all(
        ids.map(async (id) => {
          for (const c of [a.c, b.c]) {
            const st = await jobState(c, id).catch(() => null);
            if (st?.compute_status === 'COMPLETED') return st.ran_on;
          }
          return null;
        }),
      );
      return found.every((x) => x) ? found : null;
    }, 90_000, 200);
    assert.ok(ranOn.includes('idle'), `some job moved to the idle peer: ${ranOn}`);
    assert.ok(ranOn.includes('busy'), `the busy host kept working too: ${ranOn}`);
  });
});
