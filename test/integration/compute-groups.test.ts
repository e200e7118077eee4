/**
 * Compute job groups with real hosts (compute-slots services from the bundled launch config):
 * a group of collecting jobs completes with results, a runtime failure and a creation failure;
 * duplicate and key-less reports; drain; artifacts; submitting from inside an agent; a
 * collector created on another host returns home, or waits on disk while home is offline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HostClient } from 'taglets/client';
import { RESULT_COLLECTOR_CLASS, submitComputeJobGroup, type CollectorSummary } from 'taglets/compute';
import { spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

const JOB = './collecting-jobs.js#SquareJob';
const hosts: SpawnedHost[] = [];
after(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
});

async function start(name: string, args: string[] = []): Promise<{ h: SpawnedHost; c: HostClient }> {
  const h = await spawnHost({ name, root: FIXTURES, launch: true, args });
  hosts.push(h);
  return { h, c: new HostClient(h.url) };
}

const summaryOf = (c: HostClient, ref: { host_url: string; agent_id: string }, args: Record<string, unknown> = {}) =>
  c.getProxy(ref).send<CollectorSummary>('summary', args);

async function complete(c: HostClient, ref: { host_url: string; agent_id: string }, timeoutMs = 60_000): Promise<CollectorSummary> {
  return (await waitFor(async () => {
    const s = await summaryOf(c, ref).catch(() => null);
    return s?.complete ? s : null;
  }, timeoutMs, 100))!;
}

describe('compute job groups', () => {
  let alpha: { h: SpawnedHost; c: HostClient };
  before(async () => {
    alpha = await start('grp-alpha', ['--no-mesh']);
  });

  it('a group completes with results, a runtime failure and a creation failure; jobs dispose themselves', async () => {
    const states = [
      { n: 1, ms: 200 },
      { n: 2, ms: 100 },
      { n: 3, ms: 300 },
      { n: 4, fail: true },
      { n: 5, explode_on_create: true },
    ];
    const group = await submitComputeJobGroup(alpha.c, JOB, states, { groupId: 'g1', jobMetadata: { purpose: 'test' } });
    assert.equal(group.group_id, 'g1');
    assert.deepEqual(group.jobs.map((j) => j.job_key), ['g1-0000', 'g1-0001', 'g1-0002', 'g1-0003']);
    assert.equal(group.creation_errors.length, 1);
    assert.equal(group.creation_errors[0]!.job_key, 'g1-0004');
    assert.match(group.creation_errors[0]!.error, /refusing to be created/);
    assert.equal(group.collector.host_url, alpha.h.url);

    const s = await complete(alpha.c, group.collector);
    assert.equal(s.status, 'COMPLETE');
    assert.equal(s.expected_count, 5);
    assert.equal(s.result_count, 3);
    assert.equal(s.failure_count, 2);
    assert.deepEqual(s.pending_jobs, []);
    assert.equal(s.waiting_for_home, false);
    assert.ok(s.completed_at && s.completed_at >= s.created_at!);
    assert.deepEqual(
      Object.values(s.results!).map((r) => r.result).sort((a, b) => (a as { n: number }).n - (b as { n: number }).n),
      [1, 2, 3].map((n) => ({ n, square: n * n, ran_on: 'grp-alpha' })),
    );
    const r0 = s.results!['g1-0000']!;
    assert.equal(r0.group_id, 'g1');
    assert.equal(r0.host_name, 'grp-alpha');
    assert.equal(r0.agent_id, group.jobs[0]!.agent_id);
    assert.equal(s.failures!['g1-0003']!.error, 'job exploded');
    assert.equal(s.failures!['g1-0004']!.stage, 'create');
    assert.match(s.failures!['g1-0004']!.error!, /refusing to be created/);
    assert.deepEqual(s.collector, { agent_id: group.collector.agent_id, host_name: 'grp-alpha', host_url: alpha.h.url });
    assert.deepEqual(s.home, { host_name: 'grp-alpha', host_url: alpha.h.url });

    // Registration metadata is kept with the expected jobs.
    const st = (await alpha.c.getState(group.collector.agent_id)).state as { expected_jobs: Record<string, { agent_id: string | null; metadata: Record<string, unknown> }> };
    assert.deepEqual(st.expected_jobs['g1-0001']!.metadata, { index: 1, purpose: 'test' });
    assert.equal(st.expected_jobs['g1-0001']!.agent_id, group.jobs[1]!.agent_id);

    // Every job reported and disposed itself (the failed one too).
    await waitFor(async () => {
      const ids = new Set((await alpha.c.listAgents({ state: 'all' })).map((a) => a.agent_id));
      return group.jobs.every((j) => !ids.has(j.agent_id));
    }, 20_000, 100);
    await alpha.c.dispose(group.collector.agent_id);
  });

  it('duplicate reports keep the original; key-less reports are refused; unknown keys register; drain', async () => {
    const collector = (await alpha.c.createAgent(RESULT_COLLECTOR_CLASS, { state: { group_id: 'dups' } })).ref;
    const p = alpha.c.getProxy(collector);
    assert.deepEqual(await p.send('register_jobs', { jobs: ['dups-a', { job_key: 'dups-b', agent_id: 'x1' }, { nothing: 1 }] }), {
      ok: false,
      registered: 2,
      expected_count: 2,
      errors: ['jobs[2] has no job_key or job_id'],
    });
    assert.deepEqual(await p.send('job_result', { job_key: 'dups-a', result: { v: 1 } }), { ok: true, duplicate: false, complete: false });
    assert.deepEqual(await p.send('job_failure', { job_key: 'dups-a', error: 'late failure' }), { ok: true, duplicate: true, complete: false });
    assert.deepEqual(await p.send('job_result', { job_key: 'dups-a', result: { v: 2 } }), { ok: true, duplicate: true, complete: false });
    const noKey = (await p.send('job_result', { result: 1 })) as { ok: boolean; error: string };
    assert.equal(noKey.ok, false);
    assert.match(noKey.error, /job_key/);
    // job_id works as the key too; an unknown key is registered on the fly.
    assert.deepEqual(await p.send('job_result', { job_id: 'dups-c', result: 'c' }), { ok: true, duplicate: false, complete: false });

    let s = await summaryOf(alpha.c, collector);
    assert.equal(s.status, 'ACTIVE');
    assert.equal(s.duplicate_count, 2);
    assert.deepEqual(s.results!['dups-a']!.result, { v: 1 }, 'the first report wins');
    assert.equal(s.failures!['dups-a'], undefined);
    assert.deepEqual(s.pending_jobs, ['dups-b']);
    assert.equal(s.expected_count, 3);
    const st = (await alpha.c.getState(collector.agent_id)).state as { duplicate_reports: { job_key: string; success: boolean }[]; expected_jobs: Record<string, { auto_registered: boolean }> };
    assert.deepEqual(st.duplicate_reports.map((d) => [d.job_key, d.success]), [['dups-a', false], ['dups-a', true]]);
    assert.equal(st.expected_jobs['dups-c']!.auto_registered, true);

    // drain hands each report out once.
    const d1 = await p.send<CollectorSummary>('drain');
    assert.deepEqual(Object.keys(d1.results!).sort(), ['dups-a', 'dups-c']);
    await p.send('job_failure', { job_key: 'dups-b', error: 'boom', details: { code: 7 } });
    const d2 = await p.send<CollectorSummary>('drain');
    assert.deepEqual(Object.keys(d2.results!), []);
    assert.deepEqual(Object.keys(d2.failures!), ['dups-b']);
    assert.deepEqual(d2.failures!['dups-b']!.details, { code: 7 });
    assert.equal(d2.complete, true);

    s = await summaryOf(alpha.c, collector, { include_results: false });
    assert.equal(s.status, 'COMPLETE');
    assert.equal(s.results, undefined);
    assert.equal(s.reported_count, 3);
    // A report after completion is still a duplicate, and nothing reopens.
    assert.deepEqual(await p.send('job_result', { job_key: 'dups-b', result: 'late' }), { ok: true, duplicate: true, complete: true });
    await alpha.c.dispose(collector.agent_id);
  });

  it('a job reports a result file as an artifact owned by the collector', async () => {
    const group = await submitComputeJobGroup(alpha.c, './collecting-jobs.js#ArtifactJob', [{ n: 7 }], { groupId: 'art' });
    const s = await complete(alpha.c, group.collector);
    assert.equal(s.result_count, 1, JSON.stringify(s.failures));
    const result = s.results!['art-0000']!.result as { n: number; artifact: { artifact_id: string; owner_agent_id: string; size_bytes: number } };
    assert.equal(result.n, 7);
    assert.equal(result.artifact.owner_agent_id, group.collector.agent_id);
    const info = await alpha.c.artifactInfo(result.artifact.artifact_id);
    assert.equal(info.size_bytes, 3);
    await alpha.c.dispose(group.collector.agent_id);
  });

  it('an agent submits a group through its context', async () => {
    const submitter = await alpha.c.createAgent('./collecting-jobs.js#GroupSubmitterAgent');
    const group = (await submitter.send('submit', { states: [{ n: 2 }, { n: 3 }], options: { groupId: 'inner' } })) as {
      group_id: string;
      collector: { host_url: string; agent_id: string };
      jobs: unknown[];
      creation_errors: unknown[];
    };
    assert.equal(group.group_id, 'inner');
    assert.equal(group.jobs.length, 2);
    assert.deepEqual(group.creation_errors, []);
    const s = await complete(alpha.c, group.collector);
    assert.deepEqual(
      Object.values(s.results!).map((r) => (r.result as { square: number }).square).sort(),
      [4, 9],
    );
    await alpha.c.dispose(group.collector.agent_id);
    await submitter.dispose();
  });
});

describe('collector returning home', () => {
  it('a collector created on another host returns home when the group completes', async () => {
    const home = await start('home-a', ['--no-mesh-multicast']);
    const away = await start('away-b', ['--no-mesh-multicast', '--peer', home.h.url]);
    await waitFor(async () => (await home.c.hosts()).filter((x) => x.online).length === 2 && (await away.c.hosts()).filter((x) => x.online).length === 2, 20_000);

    const group = await submitComputeJobGroup(home.c, JOB, [{ n: 1 }, { n: 2 }, { n: 3 }], {
      groupId: 'trip',
      collectorHost: 'away-b',
      returnHomeWhenComplete: true,
    });
    assert.equal(group.collector.host_url, away.h.url);
    const id = group.collector.agent_id;
    const arrived = await waitFor(async () => {
      const st = await home.c.getState(id).catch(() => null);
      return st && (st.state as { status: string }).status === 'COMPLETE' ? st : null;
    }, 60_000, 100);
    const state = arrived!.state as { status: string; results: Record<string, unknown>; home_host_url: string };
    assert.equal(Object.keys(state.results).length, 3);
    assert.equal(state.home_host_url, home.h.url);
    const s = await summaryOf(home.c, { host_url: home.h.url, agent_id: id });
    assert.equal(s.collector.host_name, 'home-a');
    assert.equal(s.result_count, 3);
    assert.ok(!(await away.c.listAgents({ state: 'all' })).some((a) => a.agent_id === id), 'gone from the away host');
    await home.c.dispose(id);
  });

  it('with its home offline the collector waits on disk and checks again later', async () => {
    const b = await start('lonely-b', ['--no-mesh']);
    const collector = (
      await b.c.createAgent(RESULT_COLLECTOR_CLASS, {
        state: { group_id: 'orphan', home_host_name: 'gone', home_host_url: 'http://127.0.0.1:9', return_home_when_complete: true, home_check_seconds: 600 },
      })
    ).ref;
    const p = b.c.getProxy(collector);
    await p.send('register_jobs', { jobs: ['orphan-0000'] });
    assert.deepEqual(await p.send('job_result', { job_key: 'orphan-0000', result: 42 }), { ok: true, duplicate: false, complete: true });
    const sleeping = await waitFor(async () => (await b.c.listAgents({ state: 'inactive' })).find((a) => a.agent_id === collector.agent_id), 20_000, 100);
    assert.ok(sleeping);
    const st = (await b.c.getState(collector.agent_id)) as unknown as {
      state: { status: string; return_home_error: string };
      deactivation_policy: { activate_at: number; activate_on_message: boolean };
    };
    assert.equal(st.state.status, 'WAITING_FOR_HOME');
    assert.match(st.state.return_home_error, /offline/);
    const wait = st.deactivation_policy.activate_at - Date.now() / 1000;
    assert.ok(wait > 500 && wait <= 600, `wakes in about home_check_seconds (${wait})`);
    // A summary wakes it; it still cannot go home and reports waiting_for_home.
    const s = await summaryOf(b.c, collector);
    assert.equal(s.waiting_for_home, true);
    assert.equal(s.result_count, 1);
    // …and goes back to sleep.
    await waitFor(async () => {
      const st2 = await b.c.getState(collector.agent_id);
      return !st2.active && (st2.state as { status: string }).status === 'WAITING_FOR_HOME';
    }, 20_000, 100);
    await b.c.dispose(collector.agent_id);
  });
});
