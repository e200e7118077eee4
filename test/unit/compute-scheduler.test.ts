import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PROFILES,
  buildHostStatus,
  canEverSatisfy,
  canRunNow,
  createSchedulerState,
  everReason,
  everReasons,
  hasBurstHeadroom,
  healthReason,
  loadGateReason,
  normalizeRequest,
  requestSlot,
  resolveSettings,
  runNowBlockers,
  scoreHost,
  type ComputeSlotRequestIn,
  type HostSample,
  type SchedulerHostStatus,
  type SchedulerSettings,
  type SchedulerState,
} from '../../src/system/compute-slots/scheduler.ts';

const GiB = 1024 ** 3;
const SELF = 'http://alpha:8765';

function idGen(): () => string {
  let n = 0;
  return () => `id${(++n).toString(16).padStart(4, '0')}`;
}

function ctxOf(profile = 'throughput', overrides: Record<string, unknown> = {}) {
  return { settings: resolveSettings(profile, overrides), newId: idGen() };
}

function sample(cpus = 8, over: Partial<HostSample> = {}): HostSample {
  return {
    observed_at: 1000,
    cpu_count_logical: cpus,
    eligible_cpu_ids: Array.from({ length: cpus }, (_, i) => i),
    cpu_affinity_supported: true,
    cpu_percent: 10,
    load_average: [0.1 * cpus, 0.1 * cpus, 0.1 * cpus],
    memory_total: 64 * GiB,
    memory_available: 48 * GiB,
    work_dir_base: '/var/taglets/work',
    work_total: 500 * GiB,
    work_free: 400 * GiB,
    host_tags: ['linux'],
    host_properties: {},
    errors: [],
    ...over,
  };
}

function fresh(): SchedulerState {
  return createSchedulerState({ host_name: 'alpha', host_url: SELF });
}

function req(over: ComputeSlotRequestIn = {}) {
  return normalizeRequest({ agent_id: 'agent-1', ...over }, { newId: () => 'generated', selfUrl: SELF, now: 50 });
}

function status(settings: SchedulerSettings, s: SchedulerState, smp: HostSample): SchedulerHostStatus {
  return buildHostStatus(settings, s, smp);
}

describe('request normalization', () => {
  it('generates the id, defaults the host URL, clamps numbers and sorts lowercased lists', () => {
    const r = normalizeRequest(
      {
        agent_id: ' job-agent ',
        cpu_cores: 0,
        memory_bytes: -5,
        temp_storage_bytes: Number.NaN,
        estimated_runtime_seconds: -1,
        gpu_memory_mb: -3,
        redirect_count: -2,
        required_host_tags: ['Linux', 'GPU', 'linux', ' '],
        excluded_host_tags: ['Laptop'],
        preferred_host_tags: ['Fast', 'big'],
        excluded_host_names: ['Beta', 'alpha'],
        excluded_host_urls: ['http://beta:8765///', 'http://alpha:8765/'],
        last_redirect_from_host_url: 'http://gamma:1/',
      },
      { newId: () => 'fresh-id', selfUrl: 'http://alpha:8765/', now: 123 },
    );
    assert.equal(r.request_id, 'fresh-id');
    assert.equal(r.agent_id, 'job-agent');
    assert.equal(r.agent_host_url, 'http://alpha:8765');
    assert.equal(r.cpu_cores, 1);
    assert.equal(r.memory_bytes, 0);
    assert.equal(r.temp_storage_bytes, 0);
    assert.equal(r.estimated_runtime_seconds, 0);
    assert.equal(r.gpu_memory_mb, 0);
    assert.equal(r.redirect_count, 0);
    assert.deepEqual(r.required_host_tags, ['gpu', 'linux']);
    assert.deepEqual(r.excluded_host_tags, ['laptop']);
    assert.deepEqual(r.preferred_host_tags, ['big', 'fast']);
    assert.deepEqual(r.excluded_host_names, ['alpha', 'beta']);
    assert.deepEqual(r.excluded_host_urls, ['http://alpha:8765', 'http://beta:8765']);
    assert.equal(r.last_redirect_from_host_url, 'http://gamma:1');
    assert.equal(r.last_redirect_at, null);
    assert.equal(r.submitted_at, 123);
  });

  it('keeps given ids and values', () => {
    const r = normalizeRequest(
      { request_id: 'r-1', agent_id: 'a', job_id: 'j', agent_host_url: 'http://beta/', cpu_cores: 3.7, memory_bytes: 1024, submitted_at: 77, redirect_count: 2, last_redirect_at: 70 },
      { newId: () => 'unused', selfUrl: SELF, now: 100 },
    );
    assert.equal(r.request_id, 'r-1');
    assert.equal(r.agent_host_url, 'http://beta');
    assert.equal(r.cpu_cores, 3);
    assert.equal(r.memory_bytes, 1024);
    assert.equal(r.submitted_at, 77);
    assert.equal(r.redirect_count, 2);
    assert.equal(r.last_redirect_at, 70);
  });

  it('uses the injected id function in request_slot', () => {
    const ctx = { settings: resolveSettings(), newId: () => 'injected' };
    const r = requestSlot(ctx, fresh(), sample(), { agent_id: 'a' }, 100);
    assert.equal(r.request.request_id, 'injected');
    assert.equal(r.reply.lease_id, 'slot-injected');
  });
});

describe('host status', () => {
  const settings = resolveSettings('throughput');

  it('8 CPUs with four 1-core leases report 4 free cores even while the load average is still low', () => {
    const ctx = ctxOf();
    let s = fresh();
    const smp = sample(8, { load_average: [0, 0, 0] });
    for (let i = 0; i < 4; i++) s = requestSlot(ctx, s, smp, { agent_id: `a${i}`, cpu_cores: 1 }, 100 + i).state;
    const st = status(settings, s, smp);
    assert.equal(st.active_leases, 4);
    assert.equal(st.reserved_cpu_cores, 4);
    assert.equal(st.free_cpu_cores, 4);
    assert.equal(st.load_per_cpu, 0);
  });

  it('counts the eligible CPU ids of the affinity mask, not the machine CPU count', () => {
    const st = status(settings, fresh(), sample(16, { eligible_cpu_ids: [2, 3, 5, 7] }));
    assert.deepEqual(st.eligible_cpu_ids, [2, 3, 5, 7]);
    assert.equal(st.free_cpu_cores, 4);
    assert.equal(st.cpu_affinity_supported, true);
  });

  it('without a mask, 0..n-1 are eligible and affinity is unsupported', () => {
    const st = status(settings, fresh(), sample(4, { eligible_cpu_ids: null, cpu_affinity_supported: null }));
    assert.deepEqual(st.eligible_cpu_ids, [0, 1, 2, 3]);
    assert.equal(st.cpu_affinity_supported, false);
  });

  it('admits RAM against available RAM minus reservations and temp storage against the work volume', () => {
    const ctx = ctxOf();
    const smp = sample(8, { memory_total: 16 * GiB, memory_available: 10 * GiB, work_total: 100 * GiB, work_free: 20 * GiB });
    const s = requestSlot(ctx, fresh(), smp, { agent_id: 'a', memory_bytes: 4 * GiB, temp_storage_bytes: 5 * GiB }, 100).state;
    const st = status(settings, s, smp);
    assert.equal(st.reserved_memory_bytes, 4 * GiB);
    assert.equal(st.free_memory_bytes, 6 * GiB);
    assert.equal(st.free_temp_storage_bytes, 15 * GiB);
    assert.equal(canRunNow(st, req({ memory_bytes: 6 * GiB })), true);
    assert.equal(canRunNow(st, req({ memory_bytes: 6 * GiB + 1 })), false);
    assert.equal(canRunNow(st, req({ temp_storage_bytes: 16 * GiB })), false);
  });

  it('max_active_leases makes free CPU 0 once reached', () => {
    const ctx = ctxOf('throughput', { max_active_leases: 2 });
    let s = fresh();
    for (let i = 0; i < 2; i++) s = requestSlot(ctx, s, sample(8), { agent_id: `a${i}` }, 100).state;
    const st = status(ctx.settings, s, sample(8));
    assert.equal(st.free_cpu_cores, 0);
    assert.deepEqual(runNowBlockers(st, req()), [{ kind: 'cpu', reason: 'max active leases reached: 2 of 2' }]);
    const third = requestSlot(ctx, s, sample(8), { agent_id: 'a3' }, 101);
    assert.equal(third.reply.decision, 'sleep');
  });
});

describe('predicates and their reason texts', () => {
  const settings = resolveSettings('conservative');
  const base = status(settings, fresh(), sample(8, { host_tags: ['linux', 'fast'] }));

  it('can-ever-satisfy', () => {
    assert.equal(everReason(base, req()), null);
    assert.equal(everReason({ ...base, supports_cpu_jobs: false }, req()), 'CPU jobs unsupported');
    assert.equal(everReason(base, req({ requires_gpu: true })), 'GPU jobs unsupported');
    assert.equal(everReason({ ...base, supports_gpu_jobs: true }, req({ requires_gpu: true })), 'GPU jobs unsupported');
    assert.equal(everReason(base, req({ required_host_tags: ['GPU', 'arm', 'linux'] })), 'missing required host tags: arm, gpu');
    assert.equal(everReason(base, req({ excluded_host_tags: ['fast', 'linux', 'x'] })), 'excluded host tags present: fast, linux');
    assert.equal(everReason(base, req({ excluded_host_names: ['ALPHA'] })), 'host name excluded');
    assert.equal(everReason(base, req({ excluded_host_urls: [`${SELF}/`] })), 'host URL excluded');
    assert.equal(everReason(base, req({ cpu_cores: 9 })), 'requested CPU cores exceed host eligible CPU count');
    assert.equal(everReason(base, req({ memory_bytes: 65 * GiB })), 'requested memory exceeds host RAM');
    assert.equal(everReason(base, req({ temp_storage_bytes: 501 * GiB })), 'requested temp storage exceeds host work storage');
    assert.equal(canEverSatisfy(base, req({ cpu_cores: 9 })), false);
    assert.deepEqual(everReasons(base, req({ cpu_cores: 9, excluded_host_names: ['alpha'] })), ['host name excluded', 'requested CPU cores exceed host eligible CPU count']);
  });

  it('checks totals only when they are known', () => {
    const unknown = { ...base, memory_total: null, work_total: 0 };
    assert.equal(everReason(unknown, req({ memory_bytes: 10_000 * GiB, temp_storage_bytes: 10_000 * GiB })), null);
  });

  it('health and load gate', () => {
    assert.equal(healthReason(base), null);
    assert.equal(healthReason({ ...base, errors: ['load: boom', 'df: gone'] }), 'host status unavailable: load: boom; df: gone');
    assert.equal(loadGateReason({ ...base, load_per_cpu: 0.99 }), null);
    assert.equal(loadGateReason({ ...base, load_per_cpu: 1.234 }), 'load-per-cpu 1.23 >= limit 1.00');
    assert.equal(loadGateReason({ ...base, load_per_cpu: 1 }), 'load-per-cpu 1.00 >= limit 1.00');
    assert.equal(loadGateReason({ ...base, load_per_cpu: 7, max_load_per_cpu: 0 }), null, 'a limit of 0 is off');
  });

  it('can-run-now needs every predicate and free capacity', () => {
    assert.equal(canRunNow(base, req({ cpu_cores: 8 })), true);
    assert.equal(canRunNow({ ...base, errors: ['x'] }, req()), false);
    assert.equal(canRunNow({ ...base, load_per_cpu: 1.5 }, req()), false);
    const busy = { ...base, free_cpu_cores: 1 };
    assert.equal(canRunNow(busy, req({ cpu_cores: 2 })), false);
    assert.deepEqual(runNowBlockers(busy, req({ cpu_cores: 2 })), [{ kind: 'cpu', reason: 'not enough free CPU cores: requested 2, free 1' }]);
    assert.deepEqual(runNowBlockers({ ...base, free_memory_bytes: GiB }, req({ memory_bytes: 2 * GiB })), [
      { kind: 'memory', reason: 'not enough available memory: requested 2.0 GiB, free 1.0 GiB' },
    ]);
    assert.deepEqual(runNowBlockers({ ...base, free_temp_storage_bytes: 0 }, req({ temp_storage_bytes: 1024 })), [
      { kind: 'temp-storage', reason: 'not enough free temp storage: requested 1.0 KiB, free 0 B' },
    ]);
  });

  it('burst headroom: free >= ceil(need × F) and load per CPU < burst limit', () => {
    const st = { ...base, free_cpu_cores: 4, load_per_cpu: 0.2, free_memory_bytes: 4 * GiB, free_temp_storage_bytes: 10 * GiB };
    assert.equal(hasBurstHeadroom(st, req({ cpu_cores: 2 }), settings), true);
    assert.equal(hasBurstHeadroom(st, req({ cpu_cores: 3 }), settings), false, '4 < ceil(3 × 2)');
    assert.equal(hasBurstHeadroom(st, req({ memory_bytes: 2 * GiB + 1 }), settings), false);
    assert.equal(hasBurstHeadroom(st, req({ temp_storage_bytes: 6 * GiB }), settings), false);
    assert.equal(hasBurstHeadroom({ ...st, load_per_cpu: 0.5 }, req(), settings), false);
    assert.equal(hasBurstHeadroom({ ...st, load_per_cpu: null }, req(), settings), false);
    assert.equal(hasBurstHeadroom(st, req({ cpu_cores: 3 }), { ...settings, burst_resource_headroom_factor: 0.5 }), true, 'F = max(1, factor)');
  });

  it('score: load + cpu% + memory and temp use + 0.1 × queue - preferred tags, 6 decimals, floor 0', () => {
    const st: SchedulerHostStatus = {
      ...base,
      load_per_cpu: 0.25,
      cpu_percent: 50,
      memory_total: 100,
      free_memory_bytes: 40,
      work_total: 1000,
      free_temp_storage_bytes: 900,
      queue_length: 3,
      host_tags: ['fast', 'gpu', 'linux'],
    };
    // 0.25 + 0.5 + 0.6 + 0.1 + 0.3 = 1.75
    assert.equal(scoreHost(st, req()), 1.75);
    assert.equal(scoreHost(st, req({ preferred_host_tags: ['fast'] })), 1.5);
    assert.equal(scoreHost(st, req({ preferred_host_tags: ['fast', 'gpu', 'linux', 'x'] })), 1);
    assert.equal(scoreHost({ ...st, memory_total: null, work_total: 0 }, req()), 0.25 + 0.5 + 1 + 1 + 0.3);
    assert.equal(scoreHost({ ...st, load_per_cpu: 0, cpu_percent: 0, free_memory_bytes: 100, free_temp_storage_bytes: 1000, queue_length: 0 }, req({ preferred_host_tags: ['fast'] })), 0);
    assert.equal(scoreHost({ ...st, load_per_cpu: 1 / 3 }, req()), 1.833333);
  });
});

describe('settings and profiles', () => {
  it('conservative holds the documented defaults', () => {
    const c = PROFILES.conservative;
    assert.equal(c.grant_interval, 15);
    assert.equal(c.max_grants_per_tick, 4);
    assert.equal(c.usage_sample_interval, 60);
    assert.equal(c.usage_history_limit, 100);
    assert.equal(c.burst_load_per_cpu, 0.5);
    assert.equal(c.burst_resource_headroom_factor, 2);
    assert.equal(c.max_redirects_per_tick, 4);
    assert.equal(c.max_redirect_fraction, 0.5);
    assert.equal(c.redirect_cooldown_seconds, 60);
    assert.equal(c.placement_sample_size, 3);
    assert.equal(c.loop_interval, 5);
    assert.equal(c.gossip_interval, 5);
    assert.equal(c.max_load_per_cpu, 1);
    assert.equal(c.max_active_leases, 0);
    assert.equal(c.supports_gpu_jobs, false);
    assert.equal(c.peer_max_age_seconds, 20);
    assert.equal(c.lease_min_ttl_seconds, 60);
    assert.equal(c.lease_runtime_margin_seconds, 120);
    assert.equal(c.active_lease_extension_seconds, 300);
  });

  it('throughput (the default) does not pace grants and never gates on load', () => {
    const t = resolveSettings();
    assert.deepEqual(t, PROFILES.throughput);
    assert.equal(t.grant_interval, 0);
    assert.equal(t.grant_on_release, true);
    assert.equal(t.max_load_per_cpu, 0);
    assert.ok(t.loop_interval <= 1);
    assert.equal(t.reservation_after_seconds, 900);
    assert.equal(PROFILES.conservative.reservation_after_seconds, 0, 'conservative keeps plain oldest-fit');
    assert.equal(t.burst_load_per_cpu, 0.5);
  });

  it('every profile has every setting', () => {
    const keys = Object.keys(PROFILES.conservative).sort();
    assert.deepEqual(Object.keys(PROFILES.throughput).sort(), keys);
    assert.equal(keys.length, 25);
  });

  it('applies and coerces overrides', () => {
    const s = resolveSettings('conservative', { grant_interval: '500ms', redirect_cooldown_seconds: '2m', max_grants_per_tick: '8', grant_on_release: 'true', max_redirect_fraction: 1 });
    assert.equal(s.grant_interval, 0.5);
    assert.equal(s.redirect_cooldown_seconds, 120);
    assert.equal(s.max_grants_per_tick, 8);
    assert.equal(s.grant_on_release, true);
    assert.equal(s.max_redirect_fraction, 1);
    assert.equal(s.max_load_per_cpu, 1, 'untouched settings keep the profile value');
    assert.ok(Object.isFrozen(s));
  });

  it('rejects bad values with an error naming the field', () => {
    const bad: [string, unknown, RegExp][] = [
      ['grant_interval', -1, /scheduler setting 'grant_interval' must be a duration >= 0 s/],
      ['grant_interval', '15 parsecs', /'grant_interval'/],
      ['max_grants_per_tick', 1.5, /scheduler setting 'max_grants_per_tick' must be an integer >= 0, got 1.5/],
      ['max_redirect_fraction', 1.2, /'max_redirect_fraction' must be a number between 0 and 1/],
      ['burst_load_per_cpu', 'x', /'burst_load_per_cpu' must be a number >= 0, got "x"/],
      ['grant_on_release', 1, /'grant_on_release' must be true or false/],
      ['placement_sample_size', 0, /'placement_sample_size' must be an integer >= 1/],
      ['max_grants_per_tick', '5s', /'max_grants_per_tick'/],
    ];
    for (const [field, value, message] of bad) {
      assert.throws(
        () => resolveSettings('throughput', { [field]: value }),
        (err: unknown) => err instanceof Error && err.name === 'ValidationError' && message.test(err.message),
        `${field}=${String(value)}`,
      );
    }
  });

  it('rejects unknown settings and profiles listing the valid names', () => {
    assert.throws(() => resolveSettings('throughput', { grant_intervall: 1 }), /unknown scheduler setting 'grant_intervall'; valid settings: .*grant_interval/);
    assert.throws(() => resolveSettings('fast'), /unknown scheduler profile 'fast'; valid profiles: throughput, conservative/);
  });
});
