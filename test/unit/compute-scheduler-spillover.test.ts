import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  PROFILES,
  acceptPeerStatuses,
  buildHostStatus,
  candidateHosts,
  computeOffers,
  createSchedulerState,
  gossipPayload,
  gossipTargets,
  projectedPeers,
  redirectBudget,
  requestSlot,
  resolveSettings,
  rollbackRedirect,
  selectionIndex,
  statusForPeers,
  tick,
  type ComputeSlotRequestIn,
  type HostSample,
  type SchedulerContext,
  type SchedulerEffect,
  type SchedulerHostStatus,
  type SchedulerState,
} from '../../src/system/compute-slots/scheduler.ts';

const GiB = 1024 ** 3;
const A = 'http://a:8765';

function ctxOf(profile = 'throughput', overrides: Record<string, unknown> = {}): SchedulerContext {
  let n = 0;
  return { settings: resolveSettings(profile, overrides), newId: () => `id${(++n).toString(16).padStart(4, '0')}` };
}

function sample(cpus = 4, over: Partial<HostSample> = {}): HostSample {
  return {
    observed_at: 1000,
    cpu_count_logical: cpus,
    eligible_cpu_ids: Array.from({ length: cpus }, (_, i) => i),
    cpu_affinity_supported: true,
    cpu_percent: 0,
    load_average: [0, 0, 0],
    memory_total: 64 * GiB,
    memory_available: 64 * GiB,
    work_dir_base: '/work',
    work_total: 100 * GiB,
    work_free: 100 * GiB,
    host_tags: [],
    errors: [],
    ...over,
  };
}

/** A peer's status with `free` of `cpus` cores free (busy cores held by one lease-sized reservation). */
function peer(name: string, cpus: number, free: number, over: Partial<SchedulerHostStatus> = {}): SchedulerHostStatus {
  const st = buildHostStatus(PROFILES.throughput, createSchedulerState({ host_name: name, host_url: `http://${name}:8765` }), sample(cpus));
  return { ...st, free_cpu_cores: free, reserved_cpu_cores: cpus - free, ...over };
}

/** Host A: `cpus` cores all leased, `waiting` 1-core requests queued, the given peers known. */
function busyA(ctx: SchedulerContext, waiting: number, peers: SchedulerHostStatus[], now = 100, cpus = 4): SchedulerState {
  let s = createSchedulerState({ host_name: 'a', host_url: A });
  s = requestSlot(ctx, s, sample(cpus), { agent_id: 'filler', cpu_cores: cpus, estimated_runtime_seconds: 9999 }, now).state;
  for (let i = 0; i < waiting; i++) {
    const r = requestSlot(ctx, s, sample(cpus), { agent_id: `w${i}` }, now);
    assert.equal(r.reply.decision, 'sleep');
    s = r.state;
  }
  return acceptPeerStatuses(
    ctx,
    s,
    peers.map((status) => ({ status, age_seconds: 0 })),
    now,
  ).state;
}

const redirects = (effects: readonly SchedulerEffect[]) => effects.filter((e): e is Extract<SchedulerEffect, { type: 'redirect' }> => e.type === 'redirect');

function ask(ctx: SchedulerContext, s: SchedulerState, r: ComputeSlotRequestIn, now: number, cpus = 4) {
  return requestSlot(ctx, s, sample(cpus), r, now);
}

describe('spillover budget', () => {
  it('keeps a local anchor: budgets 0, 1, 1, 3, 4 for queues of 0, 1, 2, 5, 20', () => {
    const settings = PROFILES.conservative;
    assert.deepEqual(
      [0, 1, 2, 5, 20].map((n) => redirectBudget(n, settings)),
      [0, 1, 1, 3, 4],
    );
  });

  it('is 0 when the fraction or the per-tick cap is 0', () => {
    assert.equal(redirectBudget(10, { max_redirect_fraction: 0, max_redirects_per_tick: 4 }), 0);
    assert.equal(redirectBudget(10, { max_redirect_fraction: 0.5, max_redirects_per_tick: 0 }), 0);
    assert.equal(redirectBudget(3, { max_redirect_fraction: 1, max_redirects_per_tick: 10 }), 2);
  });
});

describe('bounded spillover', () => {
  for (const profile of ['throughput', 'conservative'] as const) {
    it(`${profile}: 5 waiting and a peer with room for 3 -> 3 redirected there`, () => {
      const ctx = ctxOf(profile);
      const s = busyA(ctx, 5, [peer('b', 8, 3)]);
      const t = tick(ctx, s, sample(), 101);
      const r = redirects(t.effects);
      assert.equal(r.length, 3);
      assert.ok(r.every((e) => e.reply.host_url === 'http://b:8765' && e.reply.decision === 'redirect'));
      assert.deepEqual(
        r.map((e) => e.agent_id),
        ['w0', 'w1', 'w2'],
        'oldest first',
      );
      assert.equal(r[0]!.reply.redirect_count, 1);
      assert.equal(r[0]!.reply.redirected_from_host_url, A);
      assert.equal(t.state.queue.length, 2);
      assert.equal(t.state.counters.spilled, 3);
    });
  }

  it('5 waiting and room for 6 on two peers: still 3 (anchor and fraction), 20 waiting: max_redirects_per_tick', () => {
    const ctx = ctxOf('conservative');
    const t5 = tick(ctx, busyA(ctx, 5, [peer('b', 8, 3), peer('c', 8, 3)]), sample(), 101);
    assert.equal(redirects(t5.effects).length, 3);
    assert.equal(t5.state.queue.length, 2);
    const t20 = tick(ctx, busyA(ctx, 20, [peer('b', 64, 30), peer('c', 64, 30)]), sample(), 101);
    assert.equal(redirects(t20.effects).length, 4);
    assert.equal(t20.next_tick_at, 101, 'budget used up with work left: tick again soon');
  });

  it('a single waiting job may move when a peer has a fitting slot', () => {
    const ctx = ctxOf();
    const t = tick(ctx, busyA(ctx, 1, [peer('b', 8, 1)]), sample(), 101);
    assert.equal(redirects(t.effects).length, 1);
    assert.equal(t.state.queue.length, 0);
  });

  it('no redirect when no peer can run the job now', () => {
    const ctx = ctxOf();
    const peers = [peer('b', 8, 0), peer('c', 8, 8, { errors: ['load: failed'] }), peer('d', 2, 2, { host_tags: ['laptop'] })];
    let s = busyA(ctx, 0, peers);
    for (let i = 0; i < 3; i++) s = ask(ctx, s, { agent_id: `w${i}`, excluded_host_tags: ['laptop'] }, 100).state;
    assert.equal(s.queue.length, 3, 'not redirected on arrival either');
    assert.equal(redirects(tick(ctx, s, sample(), 101).effects).length, 0);
    // Without the exclusion, d takes what fits: budget min(2, ceil(3 × 0.5), 4) = 2, d has 2 free.
    const open = busyA(ctx, 3, peers);
    assert.deepEqual(
      redirects(tick(ctx, open, sample(), 101).effects).map((e) => [e.agent_id, e.reply.host_name]),
      [
        ['w0', 'd'],
        ['w1', 'd'],
      ],
    );
  });

  it('a job that can run locally is granted locally, never redirected', () => {
    // Conservative, inside the grant interval, no burst headroom: it fits but waits for the interval.
    const ctx = ctxOf('conservative');
    let s = createSchedulerState({ host_name: 'a', host_url: A });
    const loaded = sample(4, { load_average: [3, 3, 3] });
    s = requestSlot(ctx, s, loaded, { agent_id: 'first' }, 100).state;
    const second = requestSlot(ctx, s, loaded, { agent_id: 'second' }, 101);
    assert.equal(second.reply.decision, 'sleep');
    s = acceptPeerStatuses(ctx, second.state, [{ status: peer('b', 8, 8), age_seconds: 0 }], 101).state;
    const t = tick(ctx, s, loaded, 102);
    assert.equal(redirects(t.effects).length, 0);
    assert.equal(t.state.queue.length, 1);
    const later = tick(ctx, t.state, loaded, 116);
    assert.deepEqual(
      later.effects.filter((e) => e.type === 'grant').map((e) => e.agent_id),
      ['second'],
    );
  });

  it('shadow reservations: with B 2 free and C 1 free, two redirects go to B then C', () => {
    const ctx = ctxOf();
    const t = tick(ctx, busyA(ctx, 3, [peer('b', 8, 2), peer('c', 8, 1)]), sample(), 101);
    assert.deepEqual(
      redirects(t.effects).map((e) => e.reply.host_name),
      ['b', 'c'],
    );
    assert.deepEqual(
      t.state.shadows.map((s) => [s.host_url, s.cpu_cores]),
      [
        ['http://b:8765', 1],
        ['http://c:8765', 1],
      ],
    );
  });

  it('shadows keep counting until they expire, so a stale peer status is not oversubscribed', () => {
    const ctx = ctxOf('throughput', { max_redirects_per_tick: 2 });
    const s = busyA(ctx, 10, [peer('b', 8, 3, { memory_total: 64 * GiB })]);
    const t1 = tick(ctx, s, sample(), 101);
    assert.equal(redirects(t1.effects).length, 2);
    const t2 = tick(ctx, t1.state, sample(), 102);
    assert.equal(redirects(t2.effects).length, 1, 'b had room for 3: only one more');
    const t3 = tick(ctx, t2.state, sample(), 103);
    assert.equal(redirects(t3.effects).length, 0);
    const projected = projectedPeers(ctx.settings, t3.state, 103);
    assert.equal(projected[0]!.free_cpu_cores, 0);
    assert.equal(projected[0]!.active_leases, 3);
    // After the shadows expired a fresh status of b decides again.
    const fresh = acceptPeerStatuses(ctx, t3.state, [{ status: { ...peer('b', 8, 1), observed_at: 2000 }, age_seconds: 0 }], 115).state;
    const t4 = tick(ctx, fresh, sample(), 115);
    assert.equal(redirects(t4.effects).length, 1);
  });

  it('rollback of an undelivered redirect puts the request back and drops its shadow', () => {
    const ctx = ctxOf();
    const t = tick(ctx, busyA(ctx, 3, [peer('b', 8, 2)]), sample(), 101);
    const [first] = redirects(t.effects);
    const back = rollbackRedirect(t.state, first!);
    assert.deepEqual(
      back.queue.map((e) => e.request.agent_id),
      ['w0', 'w2'],
    );
    assert.equal(back.shadows.filter((s) => s.request_id === first!.reply.request_id).length, 0);
  });

  it('prefers a peer other than the one the job was last redirected from, falling back to it', () => {
    const ctx = ctxOf();
    const from = { redirect_count: 1, last_redirect_from_host_url: 'http://b:8765/' };
    // A redirected job arriving here is cooling down: it waits, and the pass after the cooldown moves it.
    const s = ask(ctx, busyA(ctx, 0, [peer('b', 8, 8), peer('c', 8, 1)]), { agent_id: 'x', ...from }, 100).state;
    const fresher = acceptPeerStatuses(ctx, s, [{ status: { ...peer('b', 8, 8), observed_at: 5000 }, age_seconds: 0 }, { status: { ...peer('c', 8, 1), observed_at: 5000 }, age_seconds: 0 }], 115).state;
    assert.deepEqual(
      redirects(tick(ctx, fresher, sample(), 115).effects).map((e) => e.reply.host_name),
      ['c'],
      'c although b has more room',
    );
    const only = ask(ctx, busyA(ctx, 0, [peer('b', 8, 8)]), { agent_id: 'z', ...from }, 100).state;
    const onlyB = acceptPeerStatuses(ctx, only, [{ status: { ...peer('b', 8, 8), observed_at: 5000 }, age_seconds: 0 }], 115).state;
    assert.deepEqual(
      redirects(tick(ctx, onlyB, sample(), 115).effects).map((e) => e.reply.host_name),
      ['b'],
      'falls back to the source',
    );
  });

  it('orders targets by queue length, then most free CPU, then score, name and URL', () => {
    const ctx = ctxOf();
    const t1 = ask(ctx, busyA(ctx, 0, [peer('b', 8, 8, { queue_length: 1 }), peer('c', 8, 2)]), { agent_id: 'x' }, 100);
    assert.equal(t1.reply.host_name, 'c', 'shorter queue first');
    const t2 = ask(ctx, busyA(ctx, 0, [peer('b', 8, 2), peer('c', 8, 5)]), { agent_id: 'x' }, 100);
    assert.equal(t2.reply.host_name, 'c', 'more free CPU next');
    const t3 = ask(ctx, busyA(ctx, 0, [peer('b', 8, 4, { cpu_percent: 50 }), peer('c', 8, 4)]), { agent_id: 'x' }, 100);
    assert.equal(t3.reply.host_name, 'c', 'lower score next');
    const t4 = ask(ctx, busyA(ctx, 0, [peer('c', 8, 4), peer('b', 8, 4)]), { agent_id: 'x' }, 100);
    assert.equal(t4.reply.host_name, 'b', 'then name');
  });
});

describe('capacity offers', () => {
  /** Host b (8 CPUs, `free` free) knowing peers with the given queued demand (cores). */
  function offerer(ctx: SchedulerContext, free: number, demands: Record<string, number>, observedAt = 1000): SchedulerState {
    let s = createSchedulerState({ host_name: 'b', host_url: 'http://b:8765' });
    if (free < 8) s = requestSlot(ctx, s, sample(8), { agent_id: 'busy', cpu_cores: 8 - free, estimated_runtime_seconds: 9999 }, 100).state;
    return acceptPeerStatuses(
      ctx,
      s,
      Object.entries(demands).map(([name, cores]) => ({ status: { ...peer(name, 8, 0, { queue_length: cores > 0 ? 1 : 0, queued_cpu_cores: cores }), observed_at: observedAt }, age_seconds: 0 })),
      100,
    ).state;
  }

  it('reports queued demand in cores', () => {
    const ctx = ctxOf();
    const s = busyA(ctx, 0, []);
    const s2 = ask(ctx, ask(ctx, s, { agent_id: 'x', cpu_cores: 3 }, 100).state, { agent_id: 'y', cpu_cores: 0 }, 100).state;
    assert.equal(buildHostStatus(ctx.settings, s2, sample()).queued_cpu_cores, 4);
  });

  it('keeps free cores open (null) while they cover the queued demand it sees', () => {
    const ctx = ctxOf();
    const s = offerer(ctx, 6, { a: 2, c: 4 });
    assert.equal(computeOffers(ctx.settings, s, buildHostStatus(ctx.settings, s, sample(8)), 100), null);
    assert.equal(statusForPeers(ctx, s, sample(8), 100).offers, null);
  });

  it('under contention hands out whole demands in a rotating order, summing to the free cores', () => {
    const ctx = ctxOf();
    const seen = new Set<string>();
    for (let t = 0; t < 40; t++) {
      const s = offerer(ctx, 6, { a: 4, c: 4, d: 1 });
      const offers = computeOffers(ctx.settings, s, buildHostStatus(ctx.settings, s, sample(8, { observed_at: 1000 + t })), 100)!;
      const values = Object.values(offers);
      assert.equal(values.reduce((x, y) => x + y, 0), 6);
      assert.ok(values.includes(4), 'someone gets room for a whole 4-core demand');
      seen.add(Object.entries(offers).filter(([, v]) => v === 4).map(([k]) => k).join());
    }
    assert.ok(seen.size >= 2, 'the first pick rotates');
    const st = sample(8, { observed_at: 1000 });
    const s = offerer(ctx, 6, { a: 4, c: 4, d: 1 });
    assert.deepEqual(computeOffers(ctx.settings, s, buildHostStatus(ctx.settings, s, st), 100), computeOffers(ctx.settings, s, buildHostStatus(ctx.settings, s, st), 100), 'deterministic');
  });

  it('offers nothing while unhealthy, load-gated or full; nothing at all when the setting is off', () => {
    const ctx = ctxOf();
    const s = offerer(ctx, 6, { a: 8, c: 8 });
    assert.deepEqual(computeOffers(ctx.settings, s, buildHostStatus(ctx.settings, s, sample(8, { errors: ['x'] })), 100), {});
    assert.deepEqual(computeOffers(ctx.settings, s, { ...buildHostStatus(ctx.settings, s, sample(8)), load_per_cpu: 2, max_load_per_cpu: 1 }, 100), {});
    assert.deepEqual(computeOffers(ctx.settings, offerer(ctx, 0, { a: 8 }), buildHostStatus(ctx.settings, offerer(ctx, 0, { a: 8 }), sample(8)), 100), {});
    const off = ctxOf('conservative');
    assert.equal(statusForPeers(off, s, sample(8), 100).offers, null);
  });

  it('statusForPeers and gossipPayload carry the offers', () => {
    const ctx = ctxOf();
    const s = offerer(ctx, 6, { a: 8, c: 8 });
    const st = sample(8, { observed_at: 1000 });
    const expected = computeOffers(ctx.settings, s, buildHostStatus(ctx.settings, s, st), 100);
    assert.ok(expected && Object.keys(expected).length > 0);
    assert.deepEqual(statusForPeers(ctx, s, st, 100).offers, expected);
    assert.deepEqual(gossipPayload(ctx, s, buildHostStatus(ctx.settings, s, st), 100)[0]!.status.offers, expected);
  });

  it('a host only redirects into capacity offered to it, counting what it sent since the offer arrived', () => {
    const ctx = ctxOf('throughput', { max_redirects_per_tick: 10 });
    const offering = (offers: Record<string, number> | null, at: number) => ({ status: { ...peer('b', 8, 6), observed_at: at, offers }, age_seconds: 0 });
    let s = busyA(ctx, 10, []);
    s = acceptPeerStatuses(ctx, s, [offering({ 'http://c:8765': 6 }, 1000)], 100).state;
    assert.equal(redirects(tick(ctx, s, sample(), 101).effects).length, 0, 'offered to someone else');
    s = acceptPeerStatuses(ctx, s, [offering({ [A]: 2, 'http://c:8765': 4 }, 1001)], 102).state;
    const t1 = tick(ctx, s, sample(), 102);
    assert.equal(redirects(t1.effects).length, 2);
    assert.equal(redirects(tick(ctx, t1.state, sample(), 103).effects).length, 0, 'the offer is used up');
    const renewed = acceptPeerStatuses(ctx, t1.state, [offering({ [A]: 3 }, 1002)], 104).state;
    assert.equal(redirects(tick(ctx, renewed, sample(), 104).effects).length, 3, 'a new offer counts afresh');
    const open = acceptPeerStatuses(ctx, t1.state, [offering(null, 1003)], 104).state;
    assert.equal(redirects(tick(ctx, open, sample(), 104).effects).length, 4, 'null: free cores open to all (6 free - 2 shadows)');
  });
});

describe('redirect cooldown', () => {
  for (const [profile, cooldown] of [
    ['conservative', 60],
    ['throughput', 15],
  ] as const) {
    it(`${profile}: a just-redirected job is not redirected again for ${cooldown} s, counted on the local clock`, () => {
      const ctx = ctxOf(profile);
      let s = busyA(ctx, 0, [peer('b', 8, 8)], 100);
      // Its last_redirect_at comes from another host's clock (here: far in the past); the
      // cooldown counts from its arrival here instead.
      const arrived = ask(ctx, s, { agent_id: 'x', redirect_count: 1, last_redirect_at: 5, last_redirect_from_host_url: 'http://c:8765' }, 100);
      assert.equal(arrived.reply.decision, 'sleep');
      s = acceptPeerStatuses(ctx, arrived.state, [{ status: { ...peer('b', 8, 8), observed_at: 3000 }, age_seconds: 0 }], 100 + cooldown - 1).state;
      assert.equal(redirects(tick(ctx, s, sample(), 100 + cooldown - 1).effects).length, 0);
      assert.equal(tick(ctx, s, sample(), 100 + cooldown - 1).next_tick_at, 100 + cooldown);
      const t = tick(ctx, s, sample(), 100 + cooldown);
      assert.deepEqual(
        redirects(t.effects).map((e) => [e.agent_id, e.reply.redirect_count]),
        [['x', 2]],
      );
    });
  }

  it('a job redirected here that this host can never run moves on despite the cooldown', () => {
    const ctx = ctxOf();
    const s = busyA(ctx, 0, [peer('big', 32, 32)]);
    const r = ask(ctx, s, { agent_id: 'x', cpu_cores: 16, redirect_count: 3 }, 100);
    assert.equal(r.reply.decision, 'redirect');
    assert.equal(r.reply.host_name, 'big');
  });
});

describe('peer status exchange', () => {
  it('ages statuses on the local clock from their age at receipt, never comparing clocks', () => {
    const ctx = ctxOf();
    const skewed = { ...peer('b', 8, 8), observed_at: 9e9 }; // b's clock is far ahead
    let s = createSchedulerState({ host_name: 'a', host_url: A });
    const r = acceptPeerStatuses(ctx, s, [{ status: skewed, age_seconds: 5 }], 100);
    assert.equal(r.accepted, 1);
    s = r.state;
    assert.equal(projectedPeers(ctx.settings, s, 115).length, 1, 'age 5 + 10 s here = 15 <= 20');
    assert.equal(projectedPeers(ctx.settings, s, 116).length, 0, 'age 21 > 20: stale');
    assert.equal(acceptPeerStatuses(ctx, s, [{ status: skewed, age_seconds: 25 }], 100).accepted, 0, 'too old on arrival');
  });

  it('keeps the newest status per host; a stale held status yields to any fresh one', () => {
    const ctx = ctxOf();
    let s = createSchedulerState({ host_name: 'a', host_url: A });
    s = acceptPeerStatuses(ctx, s, [{ status: { ...peer('b', 8, 8), observed_at: 500 }, age_seconds: 0 }], 100).state;
    assert.equal(acceptPeerStatuses(ctx, s, [{ status: { ...peer('b', 8, 1), observed_at: 400 }, age_seconds: 0 }], 101).accepted, 0);
    const newer = acceptPeerStatuses(ctx, s, [{ status: { ...peer('b', 8, 2), observed_at: 501 }, age_seconds: 0 }], 101);
    assert.equal(newer.accepted, 1);
    assert.equal(newer.state.peers.length, 1);
    assert.equal(newer.state.peers[0]!.status.free_cpu_cores, 2);
    // b restarted with its clock set back: once its held status is stale, the lower one is taken.
    assert.equal(acceptPeerStatuses(ctx, s, [{ status: { ...peer('b', 8, 3), observed_at: 10 }, age_seconds: 0 }], 130).accepted, 1);
  });

  it('ignores its own status and falls back to observed_at without an age', () => {
    const ctx = ctxOf();
    const s = createSchedulerState({ host_name: 'a', host_url: A });
    const own = { ...peer('a', 8, 8), host_url: `${A}/` };
    assert.equal(acceptPeerStatuses(ctx, s, [{ status: own, age_seconds: 0 }], 100).accepted, 0);
    assert.equal(acceptPeerStatuses(ctx, s, [{ status: { ...peer('b', 8, 8), observed_at: 90 } }], 100).accepted, 1);
    assert.equal(acceptPeerStatuses(ctx, s, [{ status: { ...peer('b', 8, 8), observed_at: 50 } }], 100).accepted, 0);
  });

  it('sends its own status and the fresh peers with their ages', () => {
    const ctx = ctxOf();
    let s = createSchedulerState({ host_name: 'a', host_url: A });
    s = acceptPeerStatuses(ctx, s, [{ status: peer('b', 8, 8), age_seconds: 2 }, { status: peer('c', 8, 8), age_seconds: 19 }], 100).state;
    const own = buildHostStatus(ctx.settings, s, sample());
    const payload = gossipPayload(ctx, s, own, 103);
    assert.deepEqual(
      payload.map((p) => [p.status.host_name, p.age_seconds]),
      [
        ['a', 0],
        ['b', 5],
      ],
    );
  });

  it('bounded fan-out rotates through the mesh; 0 means everyone', () => {
    const urls = ['http://e', 'http://b', 'http://d', 'http://c', 'http://f', A];
    const ctx = ctxOf('throughput', { gossip_fanout: 2 });
    let s = createSchedulerState({ host_name: 'a', host_url: A });
    const rounds: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const r = gossipTargets(ctx, s, urls);
      rounds.push(r.targets);
      s = r.state;
    }
    assert.deepEqual(rounds, [
      ['http://b', 'http://c'],
      ['http://d', 'http://e'],
      ['http://f', 'http://b'],
    ]);
    assert.equal(gossipTargets(ctxOf('conservative'), s, urls).targets.length, 5);
  });
});

describe('candidate_hosts', () => {
  function withPeers(ctx: SchedulerContext, peers: SchedulerHostStatus[]): SchedulerState {
    return acceptPeerStatuses(
      ctx,
      createSchedulerState({ host_name: 'a', host_url: A }),
      peers.map((status) => ({ status, age_seconds: 1 })),
      100,
    ).state;
  }

  it('filters by can-ever-satisfy and health only, never by the current load gate', () => {
    const ctx = ctxOf('conservative');
    const s = withPeers(ctx, [
      peer('busy', 8, 0, { load_per_cpu: 5, max_load_per_cpu: 1, cpu_percent: 100, queue_length: 4 }),
      peer('sick', 8, 8, { errors: ['df: failed'] }),
      peer('small', 2, 2),
      peer('laptop', 8, 8, { host_tags: ['laptop'] }),
    ]);
    const r = candidateHosts(ctx, s, sample(4), { agent_id: 'j', cpu_cores: 3, excluded_host_tags: ['laptop'] }, 101, { include_self: false });
    assert.deepEqual(
      r.candidates.map((c) => c.status.host_name),
      ['busy'],
    );
    assert.deepEqual(r.candidates[0]!.reasons, ['load-per-cpu 5.00 >= limit 1.00', 'not enough free CPU cores: requested 3, free 0']);
    assert.deepEqual(r.rejected, {
      a: 'self excluded',
      sick: 'host status unavailable: df: failed',
      small: 'requested CPU cores exceed host eligible CPU count',
      laptop: 'excluded host tags present: laptop',
    });
    assert.equal(r.selected!.status.host_name, 'busy');
  });

  it('ranks by score and selects deterministically within the placement window', () => {
    const ctx = ctxOf();
    const peers = ['b', 'c', 'd', 'e', 'f'].map((n, i) => peer(n, 8, 8, { cpu_percent: i * 10 }));
    const s = withPeers(ctx, peers);
    const rev = withPeers(ctx, [...peers].reverse());
    const picks = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const job = `compute-job-agent-${i}`;
      const r1 = candidateHosts(ctx, s, sample(4, { cpu_percent: 100 }), { agent_id: `agent-${i}`, job_id: job }, 101, { include_self: false });
      const r2 = candidateHosts(ctx, rev, sample(4, { cpu_percent: 100 }), { agent_id: `agent-${i}`, job_id: job }, 101, { include_self: false });
      assert.deepEqual(
        r1.candidates.map((c) => c.status.host_name),
        ['b', 'c', 'd', 'e', 'f'],
      );
      assert.equal(r1.selected!.status.host_name, r2.selected!.status.host_name, 'independent of arrival order');
      const digest = createHash('sha256').update(job).digest();
      assert.equal(r1.selected!.status.host_name, ['b', 'c', 'd'][Number(digest.readBigUInt64BE(0) % 3n)]);
      picks.add(r1.selected!.status.host_name);
    }
    assert.deepEqual([...picks].sort(), ['b', 'c', 'd'], 'a batch spreads over the window, never beyond it');
  });

  it('is stable for a fixed seed, and the window and limit are honoured', () => {
    const ctx = ctxOf();
    const s = withPeers(ctx, ['b', 'c', 'd', 'e'].map((n, i) => peer(n, 8, 8, { cpu_percent: i * 10 })));
    const base = { include_self: false, placement_seed: 'seed-42' };
    const first = candidateHosts(ctx, s, sample(), { agent_id: 'x' }, 101, base).selected!.status.host_name;
    for (let i = 0; i < 5; i++) assert.equal(candidateHosts(ctx, s, sample(), { agent_id: `other-${i}` }, 101 + i, base).selected!.status.host_name, first);
    assert.equal(first, ['b', 'c', 'd'][selectionIndex('seed-42', 3)]);
    assert.equal(candidateHosts(ctx, s, sample(), { agent_id: 'x', job_id: 'j' }, 101, { include_self: false, placement_sample_size: 1 }).selected!.status.host_name, 'b');
    assert.equal(candidateHosts(ctx, s, sample(), { job_id: 'j', placement_sample_size: 1 }, 101, { include_self: false }).selected!.status.host_name, 'b');
    assert.equal(candidateHosts(ctx, s, sample(), {}, 101, { include_self: false }).selected!.status.host_name, 'b', 'no seed: the first');
    // limit 1 of 4 candidates takes the top-k path, limit 2 the sorting one: same ranking.
    assert.equal(candidateHosts(ctx, s, sample(), { job_id: 'j' }, 101, { include_self: false, limit: 1 }).candidates[0]!.status.host_name, 'b');
    const limited = candidateHosts(ctx, s, sample(), { job_id: 'j' }, 101, { include_self: false, limit: 2 });
    assert.equal(limited.candidates.length, 2);
    assert.ok(['b', 'c'].includes(limited.selected!.status.host_name));
  });

  it('uses live statuses over cached ones, skips stale cache, and includes itself by default', () => {
    const ctx = ctxOf();
    const s = withPeers(ctx, [peer('b', 8, 8, { cpu_percent: 90 })]);
    const live = [{ status: peer('b', 8, 8, { cpu_percent: 0 }), age_seconds: 0 }];
    const r = candidateHosts(ctx, s, sample(4, { cpu_percent: 50 }), { job_id: 'j' }, 101, { live, placement_sample_size: 1, errors: { c: 'timed out' } });
    assert.deepEqual(
      r.candidates.map((c) => [c.status.host_name, c.score]),
      [
        ['b', 0],
        ['a', 0.5],
      ],
    );
    assert.deepEqual(r.errors, { c: 'timed out' });
    const stale = candidateHosts(ctx, s, sample(), { job_id: 'j' }, 200, {});
    assert.deepEqual(
      stale.candidates.map((c) => c.status.host_name),
      ['a'],
    );
  });
});
