/**
 * The pure core of mesh-info with injected snapshots and a fake clock: merging gossip (newer
 * observed_at wins, ages carried without comparing clocks, stale and self ignored, pruning,
 * peer errors) and host selection (scores; load, CPU, memory and disk limits honoured; stale,
 * errored and unreachable hosts rejected; include_self; the `fallback` tag).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Landscape, normalizeSnapshot, scoreSnapshot, selectHosts, type MeshSnapshot, type SnapshotIn } from '../../src/system/landscape.ts';
import { MeshInfoContract } from '../../src/system/mesh-info.ts';
import { ServiceContractError } from '../../src/core/errors.ts';

const SELF = 'http://127.0.0.1:9000';

function snap(name: string, port: number, extra: Partial<MeshSnapshot> = {}): MeshSnapshot {
  return normalizeSnapshot({
    host_name: name,
    host_url: `http://127.0.0.1:${port}`,
    observed_at: 1000,
    cpu_count_logical: 4,
    cpu_percent: 10,
    load_average: [0.4, 0.3, 0.2],
    load_per_cpu: 0.1,
    memory_total: 8e9,
    memory_available: 6e9,
    memory_percent: 25,
    swap_percent: 0,
    work_path: '/w',
    work_total: 100e9,
    work_free: 50e9,
    work_percent_used: 50,
    active_count: 1,
    inactive_count: 0,
    host_tags: [],
    host_properties: {},
    errors: [],
    ...extra,
  } as SnapshotIn);
}

const entry = (s: MeshSnapshot, age = 1): { snapshot: MeshSnapshot; age_seconds: number } => ({ snapshot: s, age_seconds: age });

describe('Landscape merge', () => {
  it('keeps the newer observed_at per host and ignores itself', () => {
    let now = 1000;
    const l = new Landscape(() => SELF, () => now);
    assert.deepEqual(l.merge([snap('a', 1, { observed_at: 999, load_per_cpu: 0.5 })]), { accepted: 1, ignored: 0 });
    assert.deepEqual(l.merge([snap('a', 1, { observed_at: 998, load_per_cpu: 0.9 })]), { accepted: 0, ignored: 1 }, 'older loses');
    assert.deepEqual(l.merge([snap('a', 1, { observed_at: 999, load_per_cpu: 0.9 })]), { accepted: 0, ignored: 1 }, 'same is not newer');
    now = 1001;
    assert.deepEqual(l.merge([snap('a', 1, { observed_at: 1000.5, load_per_cpu: 0.7 })]), { accepted: 1, ignored: 0 });
    assert.deepEqual(l.merge([{ ...snap('me', 9000), observed_at: 1001 }]), { accepted: 0, ignored: 1 }, 'own snapshot');
    assert.equal(l.size, 1);
    assert.equal(l.entries()[0]!.snapshot.load_per_cpu, 0.7);
  });

  it('ages with the carried age_seconds on its own clock, never the sender clock', () => {
    let now = 5000;
    const l = new Landscape(() => SELF, () => now);
    // observed_at is on a clock 4000 s behind ours; the sender says the snapshot is 3 s old.
    l.merge([{ ...snap('skewed', 1, { observed_at: 1000 }), age_seconds: 3 }]);
    assert.equal(l.entries()[0]!.age_seconds, 3);
    now += 10;
    assert.equal(l.entries()[0]!.age_seconds, 13);
    // Without a carried age, the age is our clock minus observed_at.
    l.merge([snap('plain', 2, { observed_at: now - 2 })]);
    assert.equal(l.entries().find((e) => e.snapshot.host_name === 'plain')!.age_seconds, 2);
  });

  it('ignores stale snapshots, takes at most `limit`, prunes old ones', () => {
    let now = 100;
    const l = new Landscape(() => SELF, () => now);
    assert.deepEqual(l.merge([{ ...snap('old', 1), age_seconds: 25 }]), { accepted: 0, ignored: 1 });
    assert.deepEqual(l.merge([{ ...snap('old', 1), age_seconds: 25 }], { maxAgeSeconds: 30 }), { accepted: 1, ignored: 0 });
    assert.deepEqual(l.merge([1, 2, 3, 4].map((i) => ({ ...snap(`h${i}`, 10 + i), age_seconds: 0 })), { limit: 2 }), { accepted: 2, ignored: 2 });
    assert.equal(l.size, 3);
    now += 40;
    assert.equal(l.prune(60), 1, 'only the 65 s old one goes');
    assert.deepEqual(l.entries().map((e) => e.snapshot.host_name), ['h1', 'h2']);
  });

  it('peer errors are kept by host name and cleared by a fresh snapshot', () => {
    const l = new Landscape(() => SELF, () => 1000);
    l.recordError('b', 'RemoteHostError: cannot reach host');
    l.recordError('a', 'TimeoutError: no answer');
    assert.deepEqual(Object.keys(l.errors()), ['a', 'b']);
    l.merge([snap('b', 2, { observed_at: 1000 })]);
    assert.deepEqual(l.errors(), { a: 'TimeoutError: no answer' });
  });

  it('normalizes partial snapshots: unknown measurements are null', () => {
    const s = normalizeSnapshot({ host_name: 'x', host_url: 'http://127.0.0.1:1/', observed_at: 1 });
    assert.equal(s.host_url, 'http://127.0.0.1:1');
    assert.equal(s.load_per_cpu, null);
    assert.deepEqual(s.host_tags, []);
    assert.deepEqual(s.errors, []);
  });
});

describe('scoreSnapshot', () => {
  it('is load/cpu + cpu%/100 + mem%/100 + disk%/100, unknown = 1', () => {
    assert.equal(scoreSnapshot(snap('a', 1, { load_per_cpu: 0.5, cpu_percent: 20, memory_percent: 30, work_percent_used: 40 })), 1.4);
    assert.equal(scoreSnapshot(snap('a', 1, { load_per_cpu: null, cpu_percent: null, memory_percent: null, work_percent_used: null })), 4);
    assert.equal(scoreSnapshot(snap('a', 1, { load_per_cpu: 2, cpu_percent: null, memory_percent: 0, work_percent_used: 0 })), 3);
  });
});

describe('selectHosts', () => {
  const idle = snap('idle', 1, { load_per_cpu: 0.1, cpu_percent: 5 });
  const busy = snap('busy', 2, { load_per_cpu: 3, cpu_percent: 20 });
  const hot = snap('hot', 3, { load_per_cpu: 0.2, cpu_percent: 97 });
  const mid = snap('mid', 4, { load_per_cpu: 0.9, cpu_percent: 40 });
  const me = snap('me', 9000, { load_per_cpu: 0.05, cpu_percent: 1 });
  const all = [me, idle, busy, hot, mid].map((s) => entry(s));

  it('ranks by score, ascending, at most limit (default 1)', () => {
    assert.deepEqual(selectHosts(all, {}, { selfUrl: SELF }).candidates.map((c) => c.host_name), ['me']);
    const r = selectHosts(all, { limit: 10 }, { selfUrl: SELF });
    assert.deepEqual(r.candidates.map((c) => c.host_name), ['me', 'idle', 'hot', 'mid', 'busy']);
    for (let i = 1; i < r.candidates.length; i++) assert.ok(r.candidates[i - 1]!.score <= r.candidates[i]!.score);
    assert.equal(r.fallback, false);
    assert.deepEqual(r.rejected, []);
  });

  it('honours max_load_per_cpu (paglets ignores it)', () => {
    const r = selectHosts(all, { limit: 10, max_load_per_cpu: 1, include_self: false }, { selfUrl: SELF });
    // hot: 0.2 + 0.97 + 0.25 + 0.5 = 1.92 < mid: 0.9 + 0.4 + 0.25 + 0.5 = 2.05
    assert.deepEqual(r.candidates.map((c) => c.host_name), ['idle', 'hot', 'mid']);
    assert.deepEqual(r.rejected, [{ host_name: 'busy', host_url: 'http://127.0.0.1:2', reasons: ['load per CPU 3 > 1'] }]);
  });

  it('honours max_cpu_percent', () => {
    const r = selectHosts(all, { limit: 10, max_cpu_percent: 90, include_self: false }, { selfUrl: SELF });
    assert.deepEqual(r.candidates.map((c) => c.host_name), ['idle', 'mid', 'busy']);
    assert.deepEqual(r.rejected.map((x) => x.host_name), ['hot']);
    assert.match(r.rejected[0]!.reasons[0]!, /^CPU 97% > 90%$/);
  });

  it('rejects low memory, low work disk, and unknown values a limit needs', () => {
    const list = [
      entry(snap('small', 1, { memory_available: 1e9 })),
      entry(snap('full', 2, { work_free: 1e6 })),
      entry(snap('unknown', 3, { memory_available: null, load_per_cpu: null })),
      entry(snap('ok', 4)),
    ];
    const r = selectHosts(list, { limit: 10, min_memory_available_bytes: 2e9, min_work_free_bytes: 1e9, max_load_per_cpu: 1 }, { selfUrl: SELF });
    assert.deepEqual(r.candidates.map((c) => c.host_name), ['ok']);
    const reasons = Object.fromEntries(r.rejected.map((x) => [x.host_name, x.reasons]));
    assert.match(reasons.small![0]!, /^memory available 1000000000 B < 2000000000 B$/);
    assert.match(reasons.full![0]!, /^work free/);
    assert.deepEqual(reasons.unknown, ['load per CPU unknown', 'memory available unknown']);
    // Without limits, unknown values only weigh in the score.
    assert.equal(selectHosts(list, { limit: 10 }, { selfUrl: SELF }).candidates.length, 4);
  });

  it('rejects stale, errored and unreachable hosts', () => {
    const list = [
      entry(snap('stale', 1), 30),
      entry(snap('errored', 2, { errors: ['work volume: EACCES'] })),
      entry(snap('gone', 3)),
      entry(snap('fine', 4)),
    ];
    const r = selectHosts(list, { limit: 10 }, { selfUrl: SELF, peerErrors: { gone: 'RemoteHostError: cannot reach host' } });
    assert.deepEqual(r.candidates.map((c) => c.host_name), ['fine']);
    const reasons = Object.fromEntries(r.rejected.map((x) => [x.host_name, x.reasons.join(' | ')]));
    assert.match(reasons.stale!, /^stale: 30 s old > max_age_seconds 20$/);
    assert.match(reasons.errored!, /snapshot errors: work volume: EACCES/);
    assert.match(reasons.gone!, /unreachable: RemoteHostError/);
    assert.deepEqual(selectHosts(list, { limit: 10, max_age_seconds: 60 }, { selfUrl: SELF }).candidates.map((c) => c.host_name), ['fine', 'gone', 'stale']);
  });

  it('falls back to fresh hosts tagged `fallback` when none passes, whatever their load', () => {
    const list = [
      entry(snap('busy', 1, { load_per_cpu: 5 })),
      entry(snap('spare', 2, { load_per_cpu: 4, host_tags: ['fallback'] })),
      entry(snap('stale-spare', 3, { load_per_cpu: 0, host_tags: ['fallback'] }), 99),
    ];
    const r = selectHosts(list, { limit: 5, max_load_per_cpu: 1 }, { selfUrl: SELF });
    assert.equal(r.fallback, true);
    assert.deepEqual(r.candidates.map((c) => c.host_name), ['spare']);
    assert.equal(r.rejected.length, 3);
    const none = selectHosts([entry(snap('busy', 1, { load_per_cpu: 5 }))], { max_load_per_cpu: 1 }, { selfUrl: SELF });
    assert.deepEqual(none, { candidates: [], fallback: false, rejected: none.rejected });
  });

  it('ties break by host name, then URL', () => {
    const r = selectHosts([entry(snap('b', 2)), entry(snap('a', 3)), entry(snap('a', 1))], { limit: 3 }, { selfUrl: SELF });
    assert.deepEqual(r.candidates.map((c) => c.host_url), ['http://127.0.0.1:1', 'http://127.0.0.1:3', 'http://127.0.0.1:2']);
  });
});

describe('MeshInfoContract', () => {
  it('rejects a bad select or sync payload with a ServiceContractError naming the field', () => {
    assert.throws(() => MeshInfoContract.checkRequest('select', { max_load_per_cpu: 'high' }), (err: Error) => err instanceof ServiceContractError && /max_load_per_cpu/.test(err.message));
    assert.throws(() => MeshInfoContract.checkRequest('select', { limit: 0 }), /limit/);
    assert.throws(() => MeshInfoContract.checkRequest('select', { max_load: 1 }), /max_load/);
    assert.throws(() => MeshInfoContract.checkRequest('sync', { snapshots: [{ host_name: 'x' }] }), /snapshots\.0/);
    MeshInfoContract.checkRequest('sync', { snapshots: [{ host_name: 'x', host_url: 'http://h:1', observed_at: 1 }] });
    MeshInfoContract.checkRequest('select', {});
  });
});
