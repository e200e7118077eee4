/**
 * `taglets jobs …` against real hosts with their compute-slots services: one scheduler host
 * ('jobs-alpha') with a finished job, a running job that holds every eligible CPU and two
 * queued jobs; later a second host without compute-slots ('jobs-beta') joins, to check that
 * per-host failures are reported and never end the command.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HostClient } from 'taglets/client';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

const JOB = './compute-jobs.js#SleepyJob';
const hosts: SpawnedHost[] = [];
let alpha: SpawnedHost;
let a: HostClient;
/** Eligible CPUs of alpha: every long job asks for all of them, so one runs and the others queue. */
let cores = 0;

/** `taglets --entry <alpha> ...args` */
const cli = (...args: string[]) => runCli(['--entry', alpha.url, ...args], { timeoutMs: 60_000 });
const json = (r: { code: number | null; stdout: string; stderr: string }): any => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
  }
};
const computeStatus = async (c: HostClient, id: string): Promise<string | null> =>
  ((await c.getState(id).catch(() => null))?.state as { compute_status?: string } | undefined)?.compute_status ?? null;

before(async () => {
  alpha = await spawnHost({ name: 'jobs-alpha', root: FIXTURES, launch: true, args: ['--no-mesh-multicast'] });
  hosts.push(alpha);
  a = new HostClient(alpha.url);
  const status = json(await cli('jobs', 'status', '--json'));
  cores = status.hosts[0].status.eligible_cpu_ids.length;
  assert.ok(cores >= 1);

  // A finished job for `history`, then one running job and two queued ones.
  await a.createAgent(JOB, { agentId: 'quick', state: { cpu_cores: 1, ms: 10 } });
  await waitFor(async () => (await computeStatus(a, 'quick')) === 'COMPLETED', 30_000, 50);
  await a.createAgent(JOB, { agentId: 'run1', state: { cpu_cores: cores, ms: 600_000 } });
  await waitFor(async () => (await computeStatus(a, 'run1')) === 'RUNNING', 30_000, 50);
  for (const id of ['q1', 'q2']) await a.createAgent(JOB, { agentId: id, state: { cpu_cores: cores, ms: 10 } });
  await waitFor(async () => {
    const inactive = await a.listAgents({ state: 'inactive' });
    return ['q1', 'q2'].every((id) => inactive.some((x) => x.agent_id === id));
  }, 30_000, 50);
});
after(() => Promise.all(hosts.map((h) => h.stop())));

describe('taglets jobs (one scheduler host)', () => {
  it('status: capacity, queue length and leases, as a table and as JSON (--json before or after)', async () => {
    const [table, after_, before_] = await Promise.all([cli('jobs', 'status'), cli('jobs', 'status', '--json'), cli('--json', 'jobs', 'status')]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /HOST\s+CPUS\s+FREE\s+RESERVED\s+MEM FREE\s+MEM RSVD\s+TEMP FREE\s+QUEUED\s+LEASES\s+LOAD\/CPU/);
    assert.match(table.stdout, new RegExp(`jobs-alpha\\s+${cores}\\s+0\\s+${cores}\\s+\\d+\\.\\d[KMGT]\\s+1\\.0M\\s+\\d+\\.\\d[KMGT]\\s+2\\s+1\\s`));
    for (const r of [after_, before_]) {
      assert.equal(r.code, 0, r.stderr);
      const out = json(r);
      assert.deepEqual(out.errors, []);
      assert.equal(out.hosts.length, 1);
      const h = out.hosts[0];
      assert.equal(h.host_name, 'jobs-alpha');
      assert.equal(h.host_url, alpha.url);
      assert.equal(h.status.queue_length, 2);
      assert.equal(h.status.active_leases, 1);
      assert.equal(h.status.free_cpu_cores, 0);
      assert.equal(h.status.reserved_cpu_cores, cores);
    }
  });

  it('queue: queued requests in order with their reservations', async () => {
    const [table, j] = await Promise.all([cli('jobs', 'queue'), cli('jobs', 'queue', '--json')]);
    assert.equal(j.code, 0, j.stderr);
    const queued = json(j).queued;
    assert.deepEqual(
      queued.map((q: any) => [q.position, q.agent_id, q.job_id, q.cpu_cores, q.memory_bytes]),
      [
        [1, 'q1', 'compute-job-q1', cores, 1024 * 1024],
        [2, 'q2', 'compute-job-q2', cores, 1024 * 1024],
      ],
    );
    assert.ok(queued.every((q: any) => q.waited_seconds >= 0 && q.host_name === 'jobs-alpha'));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /HOST\s+POS\s+JOB\s+AGENT\s+CORES\s+MEM\s+TEMP\s+WAITED/);
    assert.match(table.stdout, new RegExp(`jobs-alpha\\s+1\\s+compute-job-q1\\s+q1\\s+${cores}\\s+1\\.0M\\s+0B\\s+\\d+(\\.\\d)?[smhd]`));
  });

  it('why: each queued request is blocked by CPU', async () => {
    const [table, j] = await Promise.all([cli('jobs', 'why'), cli('jobs', 'why', '--json')]);
    assert.equal(j.code, 0, j.stderr);
    const requests = json(j).requests;
    assert.deepEqual(requests.map((r: any) => [r.position, r.agent_id, r.grantable]), [
      [1, 'q1', false],
      [2, 'q2', false],
    ]);
    for (const r of requests) assert.ok(r.blockers.some((b: any) => b.kind === 'cpu' && /not enough free CPU cores/.test(b.reason)), JSON.stringify(r));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /VERDICT\s+BLOCKERS/);
    assert.match(table.stdout, /q1.*blocked\s+cpu: not enough free CPU cores: requested \d+, free 0/);
  });

  it('top: the running job with its CPU ids and sampled usage', async () => {
    // The scheduler samples a new lease at its next pass.
    const out = await waitFor(async () => {
      const r = await cli('jobs', 'top', '--json');
      const job = r.code === 0 ? json(r).jobs.find((x: any) => x.agent_id === 'run1') : null;
      return job?.usage?.sample_count >= 1 ? json(r) : null;
    }, 30_000, 200);
    assert.equal(out.jobs.length, 1);
    const job = out.jobs[0];
    assert.equal(job.job_id, 'compute-job-run1');
    assert.equal(job.cpu_cores, cores);
    assert.ok(job.runtime_seconds >= 0);
    assert.ok(job.usage.max_tree_rss_bytes > 0, JSON.stringify(job.usage));
    if (job.cpu_core_ids.length) assert.match(job.cpu_list, /^\d+(-\d+)?(,\d+(-\d+)?)*$/);
    const table = await cli('jobs', 'top');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /JOB\s+AGENT\s+CORES\s+CPU IDS\s+RUNTIME\s+TREE RSS\s+WORK\s+EXTRA\s+MAX CPU%\s+SAMPLES/);
    assert.match(table.stdout, new RegExp(`compute-job-run1\\s+run1\\s+${cores}\\s+(${job.cpu_list}|-)\\s+\\S+\\s+\\d+\\.\\d[KMG]\\s+\\S+\\s+\\S+\\s+\\d+\\.\\d%\\s+\\d+`));
  });

  it('ps: compute job agents with --active, --inactive, --state, --class, --job and --agent', async () => {
    const ids = async (...args: string[]): Promise<{ code: number | null; ids: string[] }> => {
      const r = await cli('jobs', 'ps', '--json', ...args);
      return { code: r.code, ids: r.code === 2 ? [] : json(r).jobs.map((x: any) => x.agent_id).sort() };
    };
    const [all, active, inactive, waiting, running, cls, partial, byJob, byAgent, none] = await Promise.all([
      ids(),
      ids('--active'),
      ids('--inactive'),
      ids('--state', 'WAITING_FOR_SLOT'),
      ids('--state', 'running'),
      ids('--class', 'SleepyJob'),
      ids('--class', 'Job'),
      ids('--job', 'compute-job-q1'),
      ids('--agent', 'q2', '--agent', 'run1'),
      ids('--agent', 'nope'),
    ]);
    assert.deepEqual(all, { code: 0, ids: ['q1', 'q2', 'quick', 'run1'] });
    assert.deepEqual(active, { code: 0, ids: ['quick', 'run1'] });
    assert.deepEqual(inactive, { code: 0, ids: ['q1', 'q2'] });
    assert.deepEqual(waiting, { code: 0, ids: ['q1', 'q2'] });
    assert.deepEqual(running, { code: 0, ids: ['run1'] });
    assert.deepEqual(cls, { code: 0, ids: ['q1', 'q2', 'quick', 'run1'] });
    assert.deepEqual(partial, { code: 1, ids: [] }, 'a class suffix must start at a name boundary');
    assert.deepEqual(byJob, { code: 0, ids: ['q1'] });
    assert.deepEqual(byAgent, { code: 0, ids: ['q2', 'run1'] });
    assert.deepEqual(none, { code: 1, ids: [] });

    const [table, j] = await Promise.all([cli('jobs', 'ps', '--inactive'), cli('jobs', 'ps', '--agent', 'q1', '--json')]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /AGENT\s+CLASS\s+AGENT STATUS\s+COMPUTE\s+APP STATUS\s+JOB/);
    assert.match(table.stdout, /q1\s+\.\/compute-jobs\.js#SleepyJob\s+inactive\s+WAITING_FOR_SLOT/);
    assert.doesNotMatch(table.stdout, /run1/);
    const q1 = json(j).jobs[0];
    assert.equal(q1.compute_status, 'WAITING_FOR_SLOT');
    assert.equal(q1.active, false);
    assert.equal(q1.cpu_cores, cores);
    assert.match(q1.job_id, /^[0-9a-f]{32}$/, 'without job_id in its state, the job id is its slot request id');
  });

  it('history: finished usage summaries, newest first, with --limit', async () => {
    const [table, j] = await Promise.all([cli('jobs', 'history'), cli('jobs', 'history', '--limit', '1', '--json')]);
    assert.equal(j.code, 0, j.stderr);
    const history = json(j).history;
    assert.equal(history.length, 1);
    assert.equal(history[0].agent_id, 'quick');
    assert.equal(history[0].job_id, 'compute-job-quick');
    assert.equal(history[0].finish_reason, 'released');
    assert.equal(history[0].agent_class, JOB);
    assert.ok(history[0].runtime_seconds >= 0);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /FINISHED\s+JOB\s+AGENT\s+CLASS\s+REASON\s+RUNTIME\s+CORES\s+MAX CPU%\s+MAX TREE RSS\s+MAX WORK/);
    assert.match(table.stdout, /jobs-alpha\s+\S+ ago\s+compute-job-quick\s+quick\s+\.\/compute-jobs\.js#SleepyJob\s+released\s+\d+(\.\d)?[smhd]\s+1\s/);
    const bad = await cli('jobs', 'history', '--limit', '0');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit must be an integer >= 1/);
  });

  it('hosts: candidates for a request; exit 1 with the reasons when none qualifies', async () => {
    const [ok, table, tooBig, tag, gpu, badSize] = await Promise.all([
      cli('jobs', 'hosts', '--cores', String(cores), '--mem', '1M', '--disk', '1K', '--json'),
      cli('jobs', 'hosts', '--prefer-tag', 'gpu'),
      cli('jobs', 'hosts', '--cores', '100000'),
      cli('jobs', 'hosts', '--tag', 'gpu-box', '--json'),
      cli('jobs', 'hosts', '--gpu', '--gpu-memory', '8G'),
      cli('jobs', 'hosts', '--mem', 'lots'),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const out = json(ok);
    assert.deepEqual(out.candidates.map((c: any) => c.host_name), ['jobs-alpha']);
    assert.equal(out.selected, alpha.url);
    assert.equal(out.request.cpu_cores, cores);
    assert.equal(out.request.memory_bytes, 1024 * 1024);
    assert.ok(out.candidates[0].reasons.some((r: string) => /not enough free CPU cores/.test(r)), 'busy, but still a candidate');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /RANK\s+HOST\s+URL\s+SCORE\s+CPUS FREE\s+MEM FREE\s+TEMP FREE\s+QUEUED\s+LEASES\s+NOW/);
    assert.match(table.stdout, new RegExp(`\\*\\s+1\\s+jobs-alpha\\s+${alpha.url.replaceAll('.', '\\.')}\\s+\\d+\\.\\d{3}\\s+0/${cores}`));
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stderr, /no candidate host/);
    assert.match(tooBig.stderr, /jobs-alpha: requested CPU cores exceed host eligible CPU count/);
    assert.equal(tag.code, 1);
    assert.deepEqual(json(tag).candidates, []);
    assert.match(json(tag).rejected['jobs-alpha'], /missing required host tags: gpu-box/);
    assert.equal(gpu.code, 1);
    assert.match(gpu.stderr, /GPU jobs unsupported/);
    assert.equal(badSize.code, 2);
    assert.match(badSize.stderr, /--mem: invalid size 'lots'/);
  });

  it('rm: needs a filter, refuses without --force off a terminal, previews with --dry-run', async () => {
    const [noFilter, refused, dry, dryJob, activeOnly] = await Promise.all([
      cli('jobs', 'rm'),
      cli('jobs', 'rm', '--all'),
      cli('jobs', 'rm', '--agent', 'q1', '--dry-run', '--json'),
      cli('jobs', 'rm', '-n', '--job', 'compute-job-q2'),
      cli('jobs', 'rm', '--agent', 'run1', '--state', 'RUNNING', '-n', '--json'),
    ]);
    assert.equal(noFilter.code, 2);
    assert.match(noFilter.stderr, /needs a filter: --job ID, --agent ID, --all or --state/);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /add --force/);

    assert.equal(dry.code, 0, dry.stderr);
    const plan = json(dry);
    assert.equal(plan.dry_run, true);
    assert.deepEqual(plan.requests.map((r: any) => [r.agent_id, r.job_id, r.result]), [['q1', 'compute-job-q1', 'would-cancel']]);
    assert.deepEqual(plan.jobs.map((r: any) => [r.agent_id, r.compute_status, r.result]), [['q1', 'WAITING_FOR_SLOT', 'would-dispose']]);

    assert.equal(dryJob.code, 0, dryJob.stderr);
    assert.match(dryJob.stdout, /HOST\s+ACTION\s+AGENT\s+JOB\s+STATUS\s+RESULT/);
    assert.match(dryJob.stdout, /jobs-alpha\s+cancel request\s+q2\s+compute-job-q2\s+queued #2\s+would-cancel/);
    assert.match(dryJob.stdout, /jobs-alpha\s+dispose job\s+q2\s+\S+\s+WAITING_FOR_SLOT\s+would-dispose/);

    // A running job is never removed: it is listed as skipped and nothing matches.
    assert.equal(activeOnly.code, 1, activeOnly.stderr);
    const skipped = json(activeOnly);
    assert.deepEqual(skipped.requests, []);
    assert.deepEqual(skipped.jobs, []);
    assert.deepEqual(skipped.skipped.map((s: any) => s.agent_id), ['run1']);

    // Nothing was removed.
    const q = json(await cli('jobs', 'queue', '--json')).queued;
    assert.deepEqual(q.map((x: any) => x.agent_id), ['q1', 'q2']);
  });

  it('rm --force: cancels the queued requests and disposes the waiting jobs, never the running one', async () => {
    const r = await cli('jobs', 'rm', '--all', '--force', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = json(r);
    assert.equal(out.dry_run, false);
    assert.deepEqual(out.requests.map((x: any) => [x.agent_id, x.result]).sort(), [
      ['q1', 'cancelled'],
      ['q2', 'cancelled'],
    ]);
    assert.deepEqual(out.jobs.map((x: any) => [x.agent_id, x.result]).sort(), [
      ['q1', 'disposed'],
      ['q2', 'disposed'],
    ]);
    const [queue, ps, top] = await Promise.all([cli('jobs', 'queue'), cli('jobs', 'ps', '--json'), cli('jobs', 'top', '--json')]);
    assert.equal(queue.code, 1, 'an empty queue exits 1');
    assert.match(queue.stdout, /no queued requests on 1 host\(s\)/);
    assert.deepEqual(json(ps).jobs.map((x: any) => x.agent_id).sort(), ['quick', 'run1']);
    assert.deepEqual(json(top).jobs.map((x: any) => x.agent_id), ['run1'], 'the lease of the running job is untouched');
    assert.equal(await computeStatus(a, 'run1'), 'RUNNING');
    const again = await cli('jobs', 'rm', '--all', '--force');
    assert.equal(again.code, 1, `nothing left to remove: ${again.stderr}`);
    assert.match(again.stdout, /nothing matches on 1 host\(s\)/);
  });

  it('groups: agents whose state looks like a result collector, with counts', async () => {
    // Any agent whose state has group_id and expected_jobs counts: a Counter with such a state will do.
    await a.createAgent('./agents.js#Counter', {
      agentId: 'collector-1',
      state: {
        group_id: 'group-abc',
        status: 'ACTIVE',
        expected_jobs: { 'group-abc-0000': { agent_id: 'x' }, 'group-abc-0001': { agent_id: 'y' }, 'group-abc-0002': { agent_id: 'z' } },
        results: { 'group-abc-0000': { result: 1 } },
        failures: { 'group-abc-0001': { error: 'boom' } },
        duplicate_reports: [],
      },
    });
    const [table, j, other] = await Promise.all([
      cli('jobs', 'groups'),
      cli('jobs', 'groups', '--group', 'group-abc', '--json'),
      cli('jobs', 'groups', '--group', 'group-none'),
    ]);
    assert.equal(j.code, 0, j.stderr);
    const [g] = json(j).groups;
    assert.equal(g.group_id, 'group-abc');
    assert.equal(g.agent_id, 'collector-1');
    assert.equal(g.host_name, 'jobs-alpha');
    assert.deepEqual([g.expected, g.results, g.failures, g.pending, g.duplicates], [3, 1, 1, 1, 0]);
    assert.deepEqual(g.pending_jobs, ['group-abc-0002']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /GROUP\s+HOST\s+COLLECTOR\s+AGENT STATUS\s+STATUS\s+EXPECTED\s+RESULTS\s+FAILURES\s+PENDING\s+DUPLICATES/);
    assert.match(table.stdout, /group-abc\s+jobs-alpha\s+collector-1\s+active\s+ACTIVE\s+3\s+1\s+1\s+1\s+0/);
    assert.equal(other.code, 1);
    assert.match(other.stdout, /no job groups matching group-none/);
  });

  it('--help of every subcommand has examples', async () => {
    const subs = ['status', 'queue', 'why', 'top', 'ps', 'history', 'hosts', 'rm', 'groups'];
    const helps = await Promise.all(subs.map((s) => runCli(['jobs', s, '--help'])));
    helps.forEach((h, i) => {
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`Examples:\\n\\s+\\$ taglets jobs ${subs[i]}`), subs[i]);
    });
  });
});

describe('taglets jobs (a host without compute-slots joins)', () => {
  let b: HostClient;
  before(async () => {
    const beta = await spawnHost({ name: 'jobs-beta', root: FIXTURES, args: ['--no-mesh-multicast', '--peer', alpha.url] });
    hosts.push(beta);
    b = new HostClient(beta.url);
    await waitFor(async () => (await a.hosts()).filter((h) => h.online).length === 2, 30_000, 100);
    // A job on a host without a scheduler fails: something for ps to find there.
    await b.createAgent('./compute-jobs.js#FailingJob', { agentId: 'orphan' });
    await waitFor(async () => (await computeStatus(b, 'orphan')) === 'FAILED_FINAL', 30_000, 50);
  });

  it('scheduler views report the failing host and still list the others (exit 1)', async () => {
    const [table, j, queue] = await Promise.all([cli('jobs', 'status'), cli('jobs', 'status', '--json'), cli('jobs', 'queue', '--json')]);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /jobs-alpha/);
    assert.match(table.stderr, /error: jobs-beta \(http:\/\/127\.0\.0\.1:\d+\): \w+Error: /);
    assert.equal(j.code, 1);
    const out = json(j);
    assert.deepEqual(out.hosts.map((h: any) => h.host_name), ['jobs-alpha']);
    assert.deepEqual(out.errors.map((e: any) => e.host_name), ['jobs-beta']);
    assert.equal(queue.code, 1);
    assert.deepEqual(json(queue).errors.map((e: any) => e.host_name), ['jobs-beta']);
  });

  it('ps lists jobs of every online host', async () => {
    const [all, failed] = await Promise.all([cli('jobs', 'ps', '--json'), cli('jobs', 'ps', '--state', 'FAILED_FINAL')]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(
      json(all).jobs.map((x: any) => `${x.host_name}/${x.agent_id}`).sort(),
      ['jobs-alpha/quick', 'jobs-alpha/run1', 'jobs-beta/orphan'],
    );
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(failed.stdout, /jobs-beta\s+orphan\s+\.\/compute-jobs\.js#FailingJob\s+active\s+FAILED_FINAL/);
  });
});
