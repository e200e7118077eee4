import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptPeerStatuses,
  buildHostStatus,
  cancelSlotRequests,
  createSchedulerState,
  elasticMasks,
  explainQueue,
  recordAffinityResult,
  recordUsageSample,
  releaseSlot,
  requestSlot,
  resolveSettings,
  rollbackGrant,
  schedulerStatus,
  tick,
  usageSamplesDue,
  type ComputeSlotRequestIn,
  type HostSample,
  type SchedulerContext,
  type SchedulerEffect,
  type SchedulerHostStatus,
  type SchedulerState,
} from '../../src/system/compute-slots/scheduler.ts';

const GiB = 1024 ** 3;
const SELF = 'http://alpha:8765';

function ctxOf(profile = 'throughput', overrides: Record<string, unknown> = {}): SchedulerContext {
  let n = 0;
  return { settings: resolveSettings(profile, overrides), newId: () => `id${(++n).toString(16).padStart(4, '0')}` };
}

function sample(cpus = 8, over: Partial<HostSample> = {}): HostSample {
  return {
    observed_at: 1000,
    cpu_count_logical: cpus,
    eligible_cpu_ids: Array.from({ length: cpus }, (_, i) => i),
    cpu_affinity_supported: true,
    cpu_percent: 5,
    load_average: [0, 0, 0],
    memory_total: 64 * GiB,
    memory_available: 60 * GiB,
    work_dir_base: '/work',
    work_total: 500 * GiB,
    work_free: 400 * GiB,
    host_tags: [],
    errors: [],
    ...over,
  };
}

function fresh(name = 'alpha', url = SELF): SchedulerState {
  return createSchedulerState({ host_name: name, host_url: url });
}

/** Runs request_slot and returns [state, reply, effects]. */
function ask(ctx: SchedulerContext, s: SchedulerState, smp: HostSample, r: ComputeSlotRequestIn, now: number) {
  const out = requestSlot(ctx, s, smp, r, now);
  return [out.state, out.reply, out.effects] as const;
}

/** Fills the host with one lease of `cores` cores. */
function fill(ctx: SchedulerContext, smp: HostSample, cores: number, now = 100): SchedulerState {
  const [s, reply] = ask(ctx, fresh(), smp, { agent_id: 'filler', cpu_cores: cores, estimated_runtime_seconds: 3600 }, now);
  assert.equal(reply.decision, 'run_now');
  return s;
}

const grants = (effects: readonly SchedulerEffect[]) => effects.filter((e) => e.type === 'grant');

describe('request_slot decisions', () => {
  it('run_now creates a lease with CPU ids, TTL max(60, estimate + 120) and no message', () => {
    const ctx = ctxOf();
    const [s, reply, effects] = ask(ctx, fresh(), sample(), { agent_id: 'a', cpu_cores: 2, estimated_runtime_seconds: 10 }, 100);
    assert.equal(reply.decision, 'run_now');
    assert.equal(reply.message, 'compute slot granted');
    assert.equal(reply.lease_id, 'slot-id0002');
    assert.equal(reply.expires_at, 100 + 130);
    assert.equal(reply.host_url, SELF);
    assert.equal(reply.work_dir_base, '/work');
    assert.equal(reply.cpu_affinity_supported, true);
    assert.equal(grants(effects).length, 0);
    assert.equal(s.leases.length, 1);
    assert.deepEqual(s.leases[0]!.cpu_core_ids, [0, 1]);
    const [, noEstimate] = ask(ctx, s, sample(), { agent_id: 'b', estimated_runtime_seconds: 0 }, 100);
    assert.equal(noEstimate.expires_at, 100 + 120);
    const [, floor] = ask(ctxOf('throughput', { lease_runtime_margin_seconds: 10 }), s, sample(), { agent_id: 'c', request_id: 'r-c' }, 100);
    assert.equal(floor.expires_at, 100 + 60, 'never below 60 s');
  });

  it('sleep queues the request with its position', () => {
    const ctx = ctxOf();
    const s0 = fill(ctx, sample(4), 4);
    const [s1, r1] = ask(ctx, s0, sample(4), { agent_id: 'a' }, 101);
    const [s2, r2] = ask(ctx, s1, sample(4), { agent_id: 'b' }, 102);
    assert.equal(r1.decision, 'sleep');
    assert.equal(r1.message, 'queued for compute slot');
    assert.equal(r1.queue_position, 1);
    assert.equal(r2.queue_position, 2);
    assert.deepEqual(
      s2.queue.map((e) => e.request.agent_id),
      ['a', 'b'],
    );
  });

  it('rejected with the reason when no host can ever satisfy the request', () => {
    const ctx = ctxOf();
    const [, r1] = ask(ctx, fresh(), sample(4), { agent_id: 'a', cpu_cores: 6 }, 100);
    assert.equal(r1.decision, 'rejected');
    assert.equal(r1.message, 'requested CPU cores exceed host eligible CPU count');
    const [, r2] = ask(ctx, fresh(), sample(4), { agent_id: 'g', requires_gpu: true }, 100);
    assert.equal(r2.message, 'GPU jobs unsupported');
  });

  it('redirect when this host can never satisfy it but a peer can', () => {
    const ctx = ctxOf();
    const big = buildHostStatus(ctx.settings, fresh('beta', 'http://beta:8765'), { ...sample(32), observed_at: 5 });
    const s = acceptPeerStatuses(ctx, fresh(), [{ status: big, age_seconds: 1 }], 100).state;
    const [, reply] = ask(ctx, s, sample(4), { agent_id: 'a', cpu_cores: 16, redirect_count: 1 }, 100);
    assert.equal(reply.decision, 'redirect');
    assert.equal(reply.message, 'local host cannot satisfy request');
    assert.equal(reply.host_url, 'http://beta:8765');
    assert.equal(reply.redirect_count, 2);
    assert.equal(reply.redirected_from_host_url, SELF);
  });

  it('redirect when a peer has capacity now and this host has none', () => {
    const ctx = ctxOf();
    const peer = buildHostStatus(ctx.settings, fresh('beta', 'http://beta:8765'), sample(8));
    let s = fill(ctx, sample(4), 4);
    s = acceptPeerStatuses(ctx, s, [{ status: peer, age_seconds: 0 }], 100).state;
    const [s2, reply] = ask(ctx, s, sample(4), { agent_id: 'a', cpu_cores: 2 }, 101);
    assert.equal(reply.decision, 'redirect');
    assert.equal(reply.message, 'peer host currently has capacity');
    assert.equal(reply.host_name, 'beta');
    assert.equal(s2.queue.length, 0, 'a redirected request is not left queued');
    assert.equal(s2.shadows.length, 1);
  });

  it('reuses a lease held by the same owner (agent id, request id or job id)', () => {
    const ctx = ctxOf();
    const [s, first] = ask(ctx, fresh(), sample(), { agent_id: 'a', job_id: 'job-a', request_id: 'r-a' }, 100);
    for (const again of [{ agent_id: 'a' }, { request_id: 'r-a', agent_id: 'other' }, { job_id: 'job-a', agent_id: 'x' }]) {
      const [s2, reply] = ask(ctx, s, sample(), again, 200);
      assert.equal(reply.decision, 'run_now');
      assert.equal(reply.message, 'existing compute slot lease');
      assert.equal(reply.lease_id, first.lease_id);
      assert.equal(s2.leases.length, 1);
    }
  });

  it('a re-request of a queued owner replaces its entry in place', () => {
    const ctx = ctxOf();
    let s = fill(ctx, sample(4), 4);
    [s] = ask(ctx, s, sample(4), { agent_id: 'a', memory_bytes: GiB }, 101);
    [s] = ask(ctx, s, sample(4), { agent_id: 'b' }, 102);
    const [s2, reply] = ask(ctx, s, sample(4), { agent_id: 'a', memory_bytes: 2 * GiB }, 103);
    assert.equal(reply.decision, 'sleep');
    assert.equal(reply.queue_position, 1, 'keeps its place');
    assert.equal(s2.queue.length, 2);
    assert.equal(s2.queue[0]!.request.memory_bytes, 2 * GiB);
    assert.equal(s2.queue[0]!.queued_at, 101);
  });

  it('never mutates the input state', () => {
    const ctx = ctxOf();
    const s0 = fill(ctx, sample(4), 4);
    const frozen = JSON.stringify(s0);
    ask(ctx, s0, sample(4), { agent_id: 'a' }, 101);
    tick(ctx, s0, sample(4), 5000, { agentActive: () => false });
    releaseSlot(ctx, s0, { lease_id: s0.leases[0]!.lease_id }, 102, { sample: sample(4) });
    assert.equal(JSON.stringify(s0), frozen);
  });

  it('state is plain JSON and survives a round trip (restart)', () => {
    const ctx = ctxOf();
    let s = fill(ctx, sample(4), 4);
    [s] = ask(ctx, s, sample(4), { agent_id: 'a' }, 101);
    const restored = JSON.parse(JSON.stringify(s)) as SchedulerState;
    assert.deepEqual(restored, s);
    const rel = releaseSlot(ctx, restored, { lease_id: restored.leases[0]!.lease_id }, 102, { sample: sample(4) });
    assert.equal(grants(rel.effects).length, 1);
  });
});

describe('oldest-fit grant pass', () => {
  it('grants queued requests oldest first, skipping ones that do not fit, all with one timestamp', () => {
    const ctx = ctxOf('throughput', { reservation_after_seconds: 0 });
    const smp = sample(4);
    let s = fill(ctx, smp, 4);
    [s] = ask(ctx, s, smp, { agent_id: 'big', cpu_cores: 4 }, 101);
    [s] = ask(ctx, s, smp, { agent_id: 'small1', cpu_cores: 1 }, 102);
    [s] = ask(ctx, s, smp, { agent_id: 'small2', cpu_cores: 2 }, 103);
    // Free 3 cores by hand-editing the filler down to 1 core: big (4) cannot fit, the smaller ones can.
    s = { ...s, leases: s.leases.map((l) => ({ ...l, request: { ...l.request, cpu_cores: 1 }, cpu_core_ids: [0] })) };
    const t = tick(ctx, s, smp, 200);
    const g = grants(t.effects);
    assert.deepEqual(
      g.map((e) => e.agent_id),
      ['small1', 'small2'],
    );
    assert.ok(t.state.leases.slice(1).every((l) => l.granted_at === 200));
    assert.equal(t.state.last_grant_at, 200);
    assert.deepEqual(
      t.state.queue.map((e) => e.request.agent_id),
      ['big'],
    );
    assert.equal(g[0]!.reply.message, 'compute slot granted');
    assert.equal(g[0]!.reply.decision, 'run_now');
  });

  it('an older fitting request is granted before a newer one asking in the same pass', () => {
    const ctx = ctxOf('throughput', { grant_on_release: false });
    const smp = sample(2);
    let s = fill(ctx, smp, 2);
    [s] = ask(ctx, s, smp, { agent_id: 'old', cpu_cores: 2 }, 101);
    // The filler leaves without a pass (grant_on_release off): the old request now fits but waits.
    s = releaseSlot(ctx, s, { lease_id: s.leases[0]!.lease_id }, 102).state;
    const [s2, reply, effects] = ask(ctx, s, smp, { agent_id: 'new', cpu_cores: 2 }, 103);
    assert.equal(reply.decision, 'sleep');
    assert.deepEqual(
      grants(effects).map((e) => e.agent_id),
      ['old'],
    );
    assert.deepEqual(
      s2.queue.map((e) => e.request.agent_id),
      ['new'],
    );
  });

  it('stops at max_grants_per_tick and asks for another pass at once', () => {
    const ctx = ctxOf('throughput', { max_grants_per_tick: 4, grant_on_release: false });
    const smp = sample(8);
    let s = fill(ctx, smp, 8);
    for (let i = 0; i < 6; i++) [s] = ask(ctx, s, smp, { agent_id: `q${i}` }, 101 + i);
    s = releaseSlot(ctx, s, { lease_id: s.leases[0]!.lease_id }, 110).state;
    const t = tick(ctx, s, smp, 111);
    assert.equal(grants(t.effects).length, 4);
    assert.equal(t.next_tick_at, 111);
    const t2 = tick(ctx, t.state, smp, 111);
    assert.equal(grants(t2.effects).length, 2);
  });

  it('dequeues a queued request whose owner already holds a lease', () => {
    const ctx = ctxOf();
    const smp = sample(4);
    let s = fill(ctx, smp, 2);
    [s] = ask(ctx, s, smp, { agent_id: 'x', cpu_cores: 4 }, 101);
    // A queued duplicate of the lease holder (e.g. from a state written by an older version).
    const dup = { ...s.queue[0]!, seq: 99, request: { ...s.leases[0]!.request, request_id: 'other' } };
    s = { ...s, queue: [...s.queue, dup] };
    const t = tick(ctx, s, smp, 102);
    assert.deepEqual(t.effects.filter((e) => e.type === 'dequeued').map((e) => e.agent_id), ['filler']);
    assert.deepEqual(
      t.state.queue.map((e) => e.request.agent_id),
      ['x'],
    );
  });

  it('a release triggers a grant pass at once in throughput, not in conservative', () => {
    for (const [profile, expected] of [
      ['throughput', 1],
      ['conservative', 0],
    ] as const) {
      const ctx = ctxOf(profile);
      const smp = sample(2);
      let s = fill(ctx, smp, 2);
      [s] = ask(ctx, s, smp, { agent_id: 'w' }, 101);
      const rel = releaseSlot(ctx, s, { lease_id: s.leases[0]!.lease_id, agent_id: 'filler' }, 200, { sample: smp });
      assert.ok(rel.released);
      assert.equal(grants(rel.effects).length, expected, profile);
    }
  });

  it('rollback of an undelivered grant restores the lease, queue position and last grant time', () => {
    const ctx = ctxOf('throughput', { grant_on_release: false });
    const smp = sample(2);
    let s = fill(ctx, smp, 2, 100);
    [s] = ask(ctx, s, smp, { agent_id: 'w1' }, 101);
    [s] = ask(ctx, s, smp, { agent_id: 'w2', cpu_cores: 2 }, 102);
    [s] = ask(ctx, s, smp, { agent_id: 'w3' }, 103);
    s = releaseSlot(ctx, s, { lease_id: s.leases[0]!.lease_id }, 104).state;
    const t = tick(ctx, s, smp, 105);
    const g = grants(t.effects);
    assert.deepEqual(
      g.map((e) => e.agent_id),
      ['w1', 'w3'],
    );
    const back = rollbackGrant(ctx, t.state, g[0] as Extract<SchedulerEffect, { type: 'grant' }>, smp);
    assert.deepEqual(
      back.state.queue.map((e) => e.request.agent_id),
      ['w1', 'w2'],
    );
    assert.equal(back.state.last_grant_at, 105, 'w3 still holds a lease of that pass');
    const back2 = rollbackGrant(ctx, back.state, g[1] as Extract<SchedulerEffect, { type: 'grant' }>, smp);
    assert.deepEqual(
      back2.state.queue.map((e) => e.request.agent_id),
      ['w1', 'w2', 'w3'],
    );
    assert.equal(back2.state.last_grant_at, 100);
    assert.equal(back2.state.leases.length, 0);
    assert.equal(back2.state.counters.rollbacks, 2);
  });
});

describe('head reservation (EASY backfill)', () => {
  /**
   * 8 CPUs at t=100: 'long' holds `longCores` (estimate ends at 1000), 'short' `shortCores` (ends
   * at 300), 'big' (4 cores) waits. Default: 3 free, 'big' fits once 'short' ends (t=300), and then
   * nothing is left beside it (3 + 1 - 4 = 0).
   */
  function starving(ctx: SchedulerContext, longCores = 4, shortCores = 1): SchedulerState {
    const smp = sample(8);
    let s = fresh();
    [s] = ask(ctx, s, smp, { agent_id: 'long', cpu_cores: longCores, estimated_runtime_seconds: 900 }, 100);
    [s] = ask(ctx, s, smp, { agent_id: 'short', cpu_cores: shortCores, estimated_runtime_seconds: 200 }, 100);
    [s] = ask(ctx, s, smp, { agent_id: 'big', cpu_cores: 4, estimated_runtime_seconds: 100 }, 100);
    assert.deepEqual(
      s.queue.map((e) => e.request.agent_id),
      ['big'],
    );
    return s;
  }

  it('reserves for a request that waited reservation_after_seconds and reports the window in the status', () => {
    const ctx = ctxOf('throughput', { reservation_after_seconds: 60 });
    const s = starving(ctx);
    assert.equal(buildHostStatus(ctx.settings, s, sample(8, { observed_at: 159 })).backfill, null, 'not yet');
    const b = buildHostStatus(ctx.settings, s, sample(8, { observed_at: 160 })).backfill!;
    assert.equal(b.request_id, s.queue[0]!.request.request_id);
    assert.equal(b.cpu_cores, 4);
    assert.equal(b.window_seconds, 140, "'short' ends at 300");
    assert.equal(b.extra_cpu_cores, 0);
  });

  it('a later request starts only if it ends inside the window or fits beside the reservation', () => {
    const ctx = ctxOf('throughput', { reservation_after_seconds: 60 });
    const s = starving(ctx);
    const smp = sample(8, { observed_at: 200 }); // window 100 s
    const [, inside] = ask(ctx, s, smp, { agent_id: 'quick', cpu_cores: 1, estimated_runtime_seconds: 100 }, 200);
    assert.equal(inside.decision, 'run_now', 'ends before the reserved request can start');
    const [s2, blocked] = ask(ctx, s, smp, { agent_id: 'unknown-length', cpu_cores: 1 }, 200);
    assert.equal(blocked.decision, 'sleep', 'fits the free cores, but they are reserved');
    assert.deepEqual(
      explainQueue(ctx, s2, smp).map((w) => [w.agent_id, w.blockers.map((b) => b.kind)]),
      [
        ['big', ['cpu']],
        ['unknown-length', ['reservation']],
      ],
    );
    assert.match(explainQueue(ctx, s2, smp)[1]!.blockers[0]!.reason, /^capacity reserved for older request id[0-9a-f]+ \(4 CPU cores, expected to start in 100 s\)$/);

    // 'short' holds 4 cores instead: 3 free now, 3 + 4 - 4 = 3 stay free beside 'big' at t=300,
    // so three long jobs may start now and the fourth waits.
    let w = starving(ctx, 1, 4);
    for (let i = 0; i < 3; i++) {
      const [next, r] = ask(ctx, w, smp, { agent_id: `beside${i}`, cpu_cores: 1, estimated_runtime_seconds: 5000 }, 200);
      assert.equal(r.decision, 'run_now', `beside${i}`);
      w = next;
    }
    const [, fourth] = ask(ctx, w, smp, { agent_id: 'beside3', cpu_cores: 1, estimated_runtime_seconds: 5000 }, 200);
    assert.equal(fourth.decision, 'sleep');
  });

  it('plain oldest-fit (0, as in conservative) lets a later request take the cores the big one waits for', () => {
    const ctx = ctxOf('throughput', { reservation_after_seconds: 0 });
    const [, r] = ask(ctx, starving(ctx), sample(8, { observed_at: 5000 }), { agent_id: 'x', cpu_cores: 1, estimated_runtime_seconds: 5000 }, 5000);
    assert.equal(r.decision, 'run_now');
  });

  it('peers see the reservation: a redirect only targets a host where the job may start', () => {
    const ctx = ctxOf('throughput', { reservation_after_seconds: 60 });
    const reserved = buildHostStatus(ctx.settings, { ...starving(ctx), host_name: 'beta', host_url: 'http://beta:8765' }, sample(8, { observed_at: 200 }));
    let s = fill(ctxOf(), sample(2), 2, 200);
    s = acceptPeerStatuses(ctx, s, [{ status: reserved, age_seconds: 0 }], 200).state;
    const [, longJob] = ask(ctx, s, sample(2), { agent_id: 'l', cpu_cores: 1, estimated_runtime_seconds: 5000 }, 200);
    assert.equal(longJob.decision, 'sleep');
    const [, shortJob] = ask(ctx, s, sample(2), { agent_id: 's', cpu_cores: 1, estimated_runtime_seconds: 50 }, 200);
    assert.equal(shortJob.decision, 'redirect');
    // The window shrinks as the status ages: 30 s later a 90 s job no longer ends inside it.
    const [, aged] = ask(ctx, s, sample(2), { agent_id: 'm', cpu_cores: 1, estimated_runtime_seconds: 90 }, 230);
    assert.equal(aged.decision, 'sleep');
  });
});

describe('profiles: grant interval, burst grants and the load gate', () => {
  it('conservative: inside the 15 s grant interval a grant needs burst headroom', () => {
    const ctx = ctxOf('conservative');
    const idle = sample(8, { load_average: [0.8, 0.8, 0.8] }); // 0.1 per CPU
    let s: SchedulerState;
    let r;
    [s, r] = ask(ctx, fresh(), idle, { agent_id: 'a', cpu_cores: 2 }, 100);
    assert.equal(r.decision, 'run_now', 'first grant: interval elapsed');
    [s, r] = ask(ctx, s, idle, { agent_id: 'b', cpu_cores: 2 }, 101);
    assert.equal(r.decision, 'run_now', 'burst: 6 free >= 2 × 2 and load 0.1 < 0.5');
    [s, r] = ask(ctx, s, idle, { agent_id: 'c', cpu_cores: 3 }, 102);
    assert.equal(r.decision, 'sleep', 'no burst: 4 free < 2 × 3');
    const early = tick(ctx, s, idle, 110);
    assert.equal(grants(early.effects).length, 0);
    assert.equal(early.next_tick_at, 101 + 15);
    const later = tick(ctx, s, idle, 116);
    assert.deepEqual(
      grants(later.effects).map((e) => e.agent_id),
      ['c'],
    );
  });

  it('conservative: no burst grant when load per CPU reaches burst_load_per_cpu', () => {
    const ctx = ctxOf('conservative');
    const loaded = sample(8, { load_average: [4, 4, 4] }); // 0.5 per CPU
    let s: SchedulerState;
    let r;
    [s, r] = ask(ctx, fresh(), loaded, { agent_id: 'a' }, 100);
    assert.equal(r.decision, 'run_now');
    [s, r] = ask(ctx, s, loaded, { agent_id: 'b' }, 101);
    assert.equal(r.decision, 'sleep');
  });

  it('conservative: burst grants inside one pass count the cores granted earlier in the pass as load', () => {
    const ctx = ctxOf('conservative', { max_grants_per_tick: 10 });
    const smp = sample(8, { load_average: [0, 0, 0] });
    let s = fill(ctx, smp, 8, 0);
    for (let i = 0; i < 6; i++) [s] = ask(ctx, s, smp, { agent_id: `q${i}` }, 1 + i);
    s = releaseSlot(ctx, s, { lease_id: s.leases[0]!.lease_id }, 20).state;
    const t = tick(ctx, s, smp, 30);
    // first: paced; then bursts while load (0 + n/8) < 0.5 and free >= 2: 1/8, 2/8, 3/8 -> 4 grants
    assert.equal(grants(t.effects).length, 4);
  });

  it('throughput: every grant is paced (interval 0), so no burst headroom is needed', () => {
    const ctx = ctxOf('throughput');
    const loaded = sample(8, { load_average: [12, 12, 12] });
    let s = fresh();
    for (let i = 0; i < 8; i++) {
      const [next, r] = ask(ctx, s, loaded, { agent_id: `j${i}` }, 100);
      assert.equal(r.decision, 'run_now', `j${i}`);
      s = next;
    }
    const [, r] = ask(ctx, s, loaded, { agent_id: 'j9' }, 100);
    assert.equal(r.decision, 'sleep', 'core reservation is the hard limit');
  });

  it('conservative load gate stalls a busy machine; throughput admits by reserved cores', () => {
    const busy = sample(8, { load_average: [12, 12, 12] }); // 1.5 per CPU from foreign processes
    const [sc, rc] = ask(ctxOf('conservative'), fresh(), busy, { agent_id: 'a' }, 100);
    assert.equal(rc.decision, 'sleep');
    assert.deepEqual(explainQueue(ctxOf('conservative'), sc, busy)[0]!.blockers, [{ kind: 'load', reason: 'load-per-cpu 1.50 >= limit 1.00' }]);
    const [, rt] = ask(ctxOf('throughput'), fresh(), busy, { agent_id: 'a' }, 100);
    assert.equal(rt.decision, 'run_now');
  });

  it('an unhealthy local status queues instead of granting', () => {
    const ctx = ctxOf();
    const [s, r] = ask(ctx, fresh(), sample(8, { errors: ['load: timed out'] }), { agent_id: 'a' }, 100);
    assert.equal(r.decision, 'sleep');
    assert.equal(explainQueue(ctx, s, sample(8, { errors: ['load: timed out'] }))[0]!.blockers[0]!.reason, 'host status unavailable: load: timed out');
  });
});

describe('elastic affinity', () => {
  it('10 CPUs, two 2-core jobs: each keeps its 2 reserved ids and runs on 5', () => {
    const ctx = ctxOf();
    const smp = sample(10);
    let s: SchedulerState;
    let r;
    [s] = ask(ctx, fresh(), smp, { agent_id: 'a', cpu_cores: 2 }, 100);
    [s, r] = ask(ctx, s, smp, { agent_id: 'b', cpu_cores: 2 }, 101);
    const [la, lb] = s.leases;
    assert.deepEqual(la!.cpu_core_ids, [0, 1]);
    assert.deepEqual(lb!.cpu_core_ids, [2, 3]);
    assert.equal(la!.affinity_cpu_ids.length, 5);
    assert.equal(lb!.affinity_cpu_ids.length, 5);
    assert.deepEqual(la!.affinity_cpu_ids, [0, 1, 4, 6, 8]);
    assert.deepEqual(lb!.affinity_cpu_ids, [2, 3, 5, 7, 9]);
    assert.deepEqual(r.cpu_core_ids, [2, 3, 5, 7, 9]);
    assert.equal(buildHostStatus(ctx.settings, s, smp).free_cpu_cores, 6, 'admission counts the floors only');
  });

  it('masks shrink toward the floors when another job starts, and grow back after a release', () => {
    const ctx = ctxOf();
    const smp = sample(10);
    let s: SchedulerState;
    let effects;
    [s] = ask(ctx, fresh(), smp, { agent_id: 'a', cpu_cores: 2 }, 100);
    [s] = ask(ctx, s, smp, { agent_id: 'b', cpu_cores: 2 }, 101);
    for (const l of s.leases) s = recordAffinityResult(s, l.lease_id, { cpu_core_ids: l.affinity_cpu_ids, enforced: true });
    [s, , effects] = ask(ctx, s, smp, { agent_id: 'c', cpu_cores: 4 }, 102);
    assert.deepEqual(
      s.leases.map((l) => l.cpu_core_ids),
      [[0, 1], [2, 3], [4, 5, 6, 7]],
    );
    assert.deepEqual(
      s.leases.map((l) => l.affinity_cpu_ids),
      [[0, 1, 8], [2, 3, 9], [4, 5, 6, 7]],
    );
    assert.deepEqual(
      effects.filter((e) => e.type === 'apply_affinity').map((e) => e.cpu_core_ids),
      [[0, 1, 8], [2, 3, 9], [4, 5, 6, 7]],
    );
    for (const l of s.leases) s = recordAffinityResult(s, l.lease_id, { cpu_core_ids: l.affinity_cpu_ids, enforced: true });
    const rel = releaseSlot(ctx, s, { lease_id: s.leases[2]!.lease_id }, 103, { sample: smp });
    assert.deepEqual(
      rel.state.leases.map((l) => l.affinity_cpu_ids.length),
      [5, 5],
    );
    assert.equal(rel.effects.filter((e) => e.type === 'apply_affinity').length, 2);
    // Nothing changed and everything applied: no effects.
    let t = rel.state;
    for (const l of t.leases) t = recordAffinityResult(t, l.lease_id, { cpu_core_ids: l.affinity_cpu_ids, enforced: true });
    assert.deepEqual(tick(ctx, t, smp, 104).effects, []);
  });

  it('deals spare CPUs round-robin by grant time then lease id, over the eligible ids only', () => {
    const lease = (id: string, at: number, ids: number[]) => ({ lease_id: id, granted_at: at, cpu_core_ids: ids, cpu_affinity_supported: true }) as never;
    const masks = elasticMasks([lease('z', 1, [4]), lease('a', 1, [6]), lease('m', 0, [2])], [2, 4, 6, 8, 10, 12, 14]);
    assert.deepEqual(masks, { m: [2, 8, 14], a: [6, 10], z: [4, 12] });
  });

  it('without affinity support no ids are reserved and the reply says so', () => {
    const ctx = ctxOf();
    const [s, r] = ask(ctx, fresh(), sample(4, { eligible_cpu_ids: null, cpu_affinity_supported: null }), { agent_id: 'a', cpu_cores: 2 }, 100);
    assert.equal(r.cpu_affinity_supported, false);
    assert.deepEqual(r.cpu_core_ids, []);
    assert.equal(buildHostStatus(ctx.settings, s, sample(4)).free_cpu_cores, 2);
  });

  it('rejects with "no CPU core IDs available for affinity lease" when the ids ran out before the count', () => {
    const ctx = ctxOf();
    const [s0] = ask(ctx, fresh(), sample(4), { agent_id: 'a', cpu_cores: 1 }, 100);
    // The lease holds three ids for one reserved core (e.g. the mask changed under it): by count
    // 3 cores are free, by ids only CPU 3.
    const s = { ...s0, leases: s0.leases.map((l) => ({ ...l, cpu_core_ids: [0, 1, 2] })) };
    const [, ok] = ask(ctx, s, sample(4), { agent_id: 'b', cpu_cores: 1 }, 101);
    assert.equal(ok.decision, 'run_now');
    assert.deepEqual(ok.cpu_core_ids, [3]);
    const [, r] = ask(ctx, s, sample(4), { agent_id: 'c', cpu_cores: 2 }, 101);
    assert.equal(r.decision, 'rejected');
    assert.equal(r.message, 'no CPU core IDs available for affinity lease');
  });
});

describe('lease expiry, usage and history', () => {
  it('an expired lease of an active job is kept and extended by 300 s', () => {
    const ctx = ctxOf();
    const [s] = ask(ctx, fresh(), sample(), { agent_id: 'a', estimated_runtime_seconds: 30 }, 100);
    assert.equal(s.leases[0]!.expires_at, 250);
    const early = tick(ctx, s, sample(), 249, { agentActive: () => true });
    assert.equal(early.state, s, 'nothing due: the same state object comes back');
    const t = tick(ctx, s, sample(), 250, { agentActive: () => true });
    assert.equal(t.state.leases.length, 1);
    assert.equal(t.state.leases[0]!.expires_at, 550);
    assert.equal(t.state.errors['compute-slots-expired-active-lease'], 'retained 1 expired active lease(s)');
    const unknown = tick(ctx, s, sample(), 250);
    assert.equal(unknown.state.leases.length, 1, 'an unknown activity counts as active');
  });

  it('an expired lease of a gone job is removed as expired; an inactive one as inactive', () => {
    const ctx = ctxOf();
    let s: SchedulerState;
    [s] = ask(ctx, fresh(), sample(), { agent_id: 'a', estimated_runtime_seconds: 30 }, 100);
    [s] = ask(ctx, s, sample(), { agent_id: 'b', estimated_runtime_seconds: 3000 }, 100);
    const t = tick(ctx, s, sample(), 300, { agentActive: () => false });
    assert.equal(t.state.leases.length, 0);
    assert.deepEqual(
      t.state.finished.map((f) => [f.agent_id, f.finish_reason]),
      [
        ['a', 'expired'],
        ['b', 'inactive'],
      ],
    );
    assert.deepEqual(
      t.effects.filter((e) => e.type === 'lease_ended').map((e) => e.reason),
      ['expired', 'inactive'],
    );
    assert.equal(t.state.errors['compute-slots-expired-active-lease'], undefined);
  });

  it('samples usage at most every usage_sample_interval and keeps maxima', () => {
    const ctx = ctxOf();
    let [s] = ask(ctx, fresh(), sample(), { agent_id: 'a', agent_class: './jobs.js#Job' }, 100);
    const id = s.leases[0]!.lease_id;
    assert.deepEqual(usageSamplesDue(ctx, s, 100), [{ lease_id: id, agent_id: 'a' }]);
    s = recordUsageSample(s, id, { cpu_percent: 90, rss_bytes: 100, work_dir_bytes: 10, extra_bytes: 5 }, 100);
    assert.deepEqual(usageSamplesDue(ctx, s, 159), []);
    s = recordUsageSample(s, id, { cpu_percent: 40, rss_bytes: 300, work_dir_bytes: 2 }, 160);
    const rel = releaseSlot(ctx, s, { lease_id: id, agent_id: 'a' }, 200, { final_usage: { cpu_percent: 10 } });
    const f = rel.released!;
    assert.equal(f.sample_count, 3);
    assert.equal(f.max_cpu_percent, 90);
    assert.equal(f.max_rss_bytes, 300);
    assert.equal(f.max_total_work_bytes, 15);
    assert.equal(f.runtime_seconds, 100);
    assert.equal(f.finish_reason, 'released');
    assert.equal(f.agent_class, './jobs.js#Job');
  });

  it('release needs the matching agent (or none) and is idempotent', () => {
    const ctx = ctxOf();
    const [s] = ask(ctx, fresh(), sample(), { agent_id: 'a' }, 100);
    const id = s.leases[0]!.lease_id;
    assert.equal(releaseSlot(ctx, s, { lease_id: id, agent_id: 'b' }, 101).released, null);
    const ok = releaseSlot(ctx, s, { lease_id: id }, 101);
    assert.ok(ok.released);
    assert.equal(releaseSlot(ctx, ok.state, { lease_id: id }, 102).released, null);
  });

  it('keeps the newest usage_history_limit summaries (0 keeps none)', () => {
    for (const [limit, kept] of [
      [3, ['j2', 'j3', 'j4']],
      [0, []],
      [100, ['j0', 'j1', 'j2', 'j3', 'j4']],
    ] as const) {
      const ctx = ctxOf('throughput', { usage_history_limit: limit });
      let s = fresh();
      for (let i = 0; i < 5; i++) {
        const [next] = ask(ctx, s, sample(), { agent_id: `j${i}` }, 100 + i);
        s = releaseSlot(ctx, next, { lease_id: next.leases[0]!.lease_id }, 101 + i).state;
      }
      assert.deepEqual(
        s.finished.map((f) => f.agent_id),
        [...kept],
      );
    }
  });

  it('cancel removes matching queued requests, and leases only when asked', () => {
    const ctx = ctxOf();
    let s = fill(ctx, sample(2), 2);
    [s] = ask(ctx, s, sample(2), { agent_id: 'a', job_id: 'ja' }, 101);
    [s] = ask(ctx, s, sample(2), { agent_id: 'b', job_id: 'jb' }, 102);
    assert.equal(cancelSlotRequests(ctx, s, {}, 103).state, s, 'no filter: no-op');
    const c1 = cancelSlotRequests(ctx, s, { job_ids: ['jb'], agent_ids: ['filler'] }, 103);
    assert.deepEqual(
      c1.state.queue.map((e) => e.request.agent_id),
      ['a'],
    );
    assert.equal(c1.cancelled_leases.length, 0);
    const c2 = cancelSlotRequests(ctx, s, { all: true, include_leases: true }, 103);
    assert.equal(c2.cancelled_requests.length, 2);
    assert.equal(c2.cancelled_leases.length, 1);
    assert.equal(c2.state.finished[0]!.finish_reason, 'cancelled');
  });

  it('scheduler_status reports the status and, on request, queue, jobs and history', () => {
    const ctx = ctxOf();
    let s = fill(ctx, sample(2), 2);
    [s] = ask(ctx, s, sample(2), { agent_id: 'a' }, 101);
    const bare = schedulerStatus(ctx, s, sample(2), 110);
    assert.equal(bare.status.queue_length, 1);
    assert.equal(bare.status.active_leases, 1);
    assert.deepEqual(bare.queued_requests, []);
    const full = schedulerStatus(ctx, s, sample(2), 110, { include_queue: true, include_jobs: true, include_usage: true, include_usage_history: true });
    assert.equal(full.queued_requests[0]!.position, 1);
    assert.equal(full.leases.length, 1);
    assert.equal(full.active_jobs[0]!.runtime_seconds, 10);
    assert.ok(full.active_jobs[0]!.usage);
  });

  it('why: blockers per queued request, grantable ones reserve before the next is judged', () => {
    const ctx = ctxOf('throughput', { grant_on_release: false });
    let s = fill(ctx, sample(4), 4);
    [s] = ask(ctx, s, sample(4), { agent_id: 'a', cpu_cores: 3 }, 101);
    [s] = ask(ctx, s, sample(4), { agent_id: 'b', cpu_cores: 2 }, 102);
    s = releaseSlot(ctx, s, { lease_id: s.leases[0]!.lease_id }, 103).state;
    const why = explainQueue(ctx, s, sample(4));
    assert.equal(why[0]!.grantable, true);
    assert.equal(why[1]!.grantable, false);
    assert.deepEqual(why[1]!.blockers, [{ kind: 'cpu', reason: 'not enough free CPU cores: requested 2, free 1' }]);
  });
});

describe('host status used by peers', () => {
  it('free amounts never go negative', () => {
    const ctx = ctxOf();
    const [s] = ask(ctx, fresh(), sample(4, { memory_available: 10 * GiB }), { agent_id: 'a', memory_bytes: 8 * GiB }, 100);
    const st: SchedulerHostStatus = buildHostStatus(ctx.settings, s, sample(4, { memory_available: 2 * GiB }));
    assert.equal(st.free_memory_bytes, 0);
  });
});
