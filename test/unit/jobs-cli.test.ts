/** Pure helpers of `taglets jobs`: CPU lists, job/class/state filters, rm plans, collector counts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classMatches,
  formatCpuIds,
  groupSummaryOf,
  jobIdOf,
  jobMatches,
  jobStateOf,
  planRemoval,
  stateMatches,
  type AgentWithState,
} from '../../src/cli/jobs-command.ts';
import type { QueueEntry } from '../../src/system/compute-slots/types.ts';

const CLASS = './compute-jobs.js#SleepyJob';

function agent(id: string, active: boolean, state: Record<string, unknown> | null, extra: Partial<AgentWithState> = {}): AgentWithState {
  return {
    agent_id: id,
    agent_class: CLASS,
    host: 'alpha',
    address: 'http://127.0.0.1:1',
    active,
    runner: active ? 'process' : null,
    pid: null,
    crashed: false,
    exitcode: null,
    error: null,
    created_at: 0,
    mailbox: { queued_count: 0, in_flight_count: 0, delivered_count: 0, failed_count: 0 },
    ...(state ? { state } : {}),
    ...extra,
  } as AgentWithState;
}

function queued(agentId: string, requestId: string, seq: number): QueueEntry {
  return {
    seq,
    queued_at: 0,
    cooldown_from: null,
    request: { request_id: requestId, agent_id: agentId, job_id: `compute-job-${agentId}` } as QueueEntry['request'],
  };
}

describe('formatCpuIds', () => {
  it('collapses runs', () => {
    assert.equal(formatCpuIds([0, 1, 2, 3]), '0-3');
    assert.equal(formatCpuIds([6, 0, 1, 2, 3, 3]), '0-3,6');
    assert.equal(formatCpuIds([1, 3, 5]), '1,3,5');
    assert.equal(formatCpuIds([]), '-');
    assert.equal(formatCpuIds(null), '-');
  });
});

describe('job filters', () => {
  const waiting = agent('w', false, { compute_status: 'WAITING_FOR_SLOT', slot_request_id: 'req-w', status: 'queued' });
  const running = agent('r', true, { compute_status: 'RUNNING', job_id: 'sample-7', slot_request_id: 'req-r' });

  it('only states with compute_status are jobs', () => {
    assert.equal(jobStateOf(agent('x', true, { count: 1 })), null);
    assert.equal(jobStateOf(agent('x', true, null)), null);
    assert.equal(jobStateOf(waiting)?.compute_status, 'WAITING_FOR_SLOT');
  });

  it('job id is job_id, else slot_request_id', () => {
    assert.equal(jobIdOf(running, jobStateOf(running)!), 'sample-7');
    assert.equal(jobIdOf(waiting, jobStateOf(waiting)!), 'req-w');
  });

  it('class: exact or a suffix at a name boundary', () => {
    assert.ok(classMatches(CLASS, CLASS));
    assert.ok(classMatches(CLASS, 'SleepyJob'));
    assert.ok(classMatches(CLASS, '#SleepyJob'));
    assert.ok(classMatches(CLASS, 'compute-jobs.js#SleepyJob'));
    assert.ok(!classMatches(CLASS, 'Job'));
    assert.ok(!classMatches(CLASS, 'FailingJob'));
  });

  it('state: compute or app status, case-insensitive', () => {
    assert.ok(stateMatches(jobStateOf(waiting)!, 'waiting_for_slot'));
    assert.ok(stateMatches(jobStateOf(waiting)!, 'QUEUED'));
    assert.ok(!stateMatches(jobStateOf(waiting)!, 'RUNNING'));
  });

  it('active/inactive default to both; ids match job_id, slot request id and compute-job-<agent>', () => {
    const m = (a: AgentWithState, f: Parameters<typeof jobMatches>[2]) => jobMatches(a, jobStateOf(a)!, f);
    assert.ok(m(waiting, {}) && m(running, {}));
    assert.ok(!m(waiting, { active: true }) && m(running, { active: true }));
    assert.ok(m(waiting, { inactive: true }) && !m(running, { inactive: true }));
    assert.ok(m(waiting, { active: true, inactive: true }));
    assert.ok(m(running, { jobs: ['sample-7'] }) && m(running, { jobs: ['req-r'] }) && m(running, { jobs: ['compute-job-r'] }));
    assert.ok(!m(waiting, { jobs: ['sample-7'] }));
    assert.ok(m(waiting, { agents: ['w'] }) && !m(waiting, { agents: ['r'] }));
    assert.ok(m(running, { states: ['running'], classes: ['SleepyJob'] }));
  });
});

describe('planRemoval', () => {
  const agents = [
    agent('w1', false, { compute_status: 'WAITING_FOR_SLOT', slot_request_id: 'req-1' }),
    agent('w2', false, { compute_status: 'WAITING_FOR_SLOT', slot_request_id: 'req-2', job_id: 'app-2' }),
    agent('w3', true, { compute_status: 'WAITING_FOR_SLOT', slot_request_id: 'req-3' }),
    agent('f1', false, { compute_status: 'FAILED_FINAL' }),
    agent('svc', true, { profile: '' }),
  ];
  const queue = [queued('w1', 'req-1', 1), queued('w2', 'req-2', 2), queued('w3', 'req-3', 3), queued('gone', 'req-4', 4)];
  const ids = (p: ReturnType<typeof planRemoval>) => ({
    requests: p.requests.map((e) => e.request.request_id),
    jobs: p.jobs.map((j) => j.agent.agent_id),
    skipped: p.skipped.map((s) => s.agent.agent_id),
  });

  it('--all: every queued request, every inactive waiting job; active jobs (and their requests) are skipped', () => {
    assert.deepEqual(ids(planRemoval(queue, agents, { jobs: [], agents: [], all: true, state: 'WAITING_FOR_SLOT' })), {
      requests: ['req-1', 'req-2', 'req-4'],
      jobs: ['w1', 'w2'],
      skipped: ['w3'],
    });
  });

  it('--agent and --job (scheduler job id, request id or the app job_id)', () => {
    assert.deepEqual(ids(planRemoval(queue, agents, { jobs: [], agents: ['w1'], all: false, state: 'WAITING_FOR_SLOT' })), {
      requests: ['req-1'],
      jobs: ['w1'],
      skipped: [],
    });
    assert.deepEqual(ids(planRemoval(queue, agents, { jobs: ['compute-job-gone'], agents: [], all: false, state: 'WAITING_FOR_SLOT' })), {
      requests: ['req-4'],
      jobs: [],
      skipped: [],
    });
    // The app job id names the agent; its queued request goes with it.
    assert.deepEqual(ids(planRemoval(queue, agents, { jobs: ['app-2'], agents: [], all: false, state: 'WAITING_FOR_SLOT' })), {
      requests: ['req-2'],
      jobs: ['w2'],
      skipped: [],
    });
  });

  it('another --state disposes only jobs in that state and cancels no unrelated request', () => {
    assert.deepEqual(ids(planRemoval(queue, agents, { jobs: [], agents: [], all: false, state: 'FAILED_FINAL' })), {
      requests: [],
      jobs: ['f1'],
      skipped: [],
    });
  });
});

describe('groupSummaryOf', () => {
  it('counts keyed collections and lists pending keys', () => {
    const s = groupSummaryOf({
      group_id: 'g',
      status: 'ACTIVE',
      expected_jobs: { 'g-0': {}, 'g-1': {}, 'g-2': {} },
      results: { 'g-0': {} },
      failures: {},
      duplicate_reports: [{ job_key: 'g-0' }],
    });
    assert.deepEqual(s, {
      group_id: 'g',
      status: 'ACTIVE',
      expected: 3,
      results: 1,
      failures: 0,
      pending: 2,
      duplicates: 1,
      pending_jobs: ['g-1', 'g-2'],
      complete: false,
    });
  });

  it('accepts arrays of job records and plain counts', () => {
    const s = groupSummaryOf({ group_id: 'g', expected_jobs: [{ job_key: 'a' }, { job_key: 'b' }], results: [{ job_key: 'a' }], failures: [{ job_key: 'b' }] });
    assert.equal(s?.pending, 0);
    assert.equal(s?.complete, true);
    const n = groupSummaryOf({ group_id: 'g', expected_jobs: 5, results: 2, failures: 1 });
    assert.deepEqual([n?.expected, n?.pending, n?.pending_jobs], [5, 2, null]);
  });

  it('ignores states without group_id and expected_jobs', () => {
    assert.equal(groupSummaryOf({ group_id: 'g' }), null);
    assert.equal(groupSummaryOf({ expected_jobs: {} }), null);
    assert.equal(groupSummaryOf(null), null);
  });
});
