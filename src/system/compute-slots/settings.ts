/**
 * Scheduler settings, the two profiles and their validation.
 *
 * `conservative` holds the values of the paglets compute-slots documentation (grant interval
 * 15 s, load gate 1.0 per CPU, …). `throughput` is the default: core reservation already is the
 * hard admission counter, so grants are not paced (`grant_interval` 0), a release triggers a
 * grant pass at once, and the load average is never a gate that could stall a queue on a busy
 * machine (`max_load_per_cpu` 0); it only guards burst grants when pacing is switched on.
 */
import { ValidationError } from '../../core/errors.ts';

export interface SchedulerSettings {
  /** Seconds between scheduler passes (expiry, grants, spillover). The fallback loop when grants are event-driven. */
  readonly loop_interval: number;
  /** Seconds between peer status exchanges. */
  readonly gossip_interval: number;
  /** Peers contacted per exchange, rotating through the mesh (0 = every peer, as in paglets). */
  readonly gossip_fanout: number;
  /** Normal wait (seconds) between local grants; grants inside it need burst headroom. */
  readonly grant_interval: number;
  /**
   * Once the oldest waiting request that does not fit has waited this long, reserve capacity for it
   * (EASY backfill on runtime estimates); 0 = plain oldest-fit.
   */
  readonly reservation_after_seconds: number;
  /** Run a grant pass as part of `release_slot` instead of waiting for the next loop. */
  readonly grant_on_release: boolean;
  /** Hard cap for grants sent during one scheduler pass (0 = no cap). */
  readonly max_grants_per_tick: number;
  /** Maximum load per CPU for burst grants (grants inside the grant interval). */
  readonly burst_load_per_cpu: number;
  /** Free CPU/RAM/temp storage must be at least need × this factor for a burst grant. */
  readonly burst_resource_headroom_factor: number;
  /** Load gate: no local admission while load per CPU ≥ this (0 = off). */
  readonly max_load_per_cpu: number;
  /** At most this many active leases (0 = unlimited); reaching it makes free CPU 0. */
  readonly max_active_leases: number;
  /** Whether this host accepts CPU jobs (a sample may override it). */
  readonly supports_cpu_jobs: boolean;
  /** Whether this host advertises GPU support (v1 rejects GPU-required jobs regardless). */
  readonly supports_gpu_jobs: boolean;
  /** Hard cap for peer spillover redirects in one pass. */
  readonly max_redirects_per_tick: number;
  /** Redirect at most this fraction of the local queue per pass. */
  readonly max_redirect_fraction: number;
  /**
   * Capacity offers: a host offers its free cores to particular peers with waiting jobs (in the
   * status it gossips), and peers only redirect into capacity offered to them. false = any peer's
   * free cores are a target, as in paglets (herds onto the same free slot under load).
   */
  readonly capacity_offers: boolean;
  /** Seconds before a redirected request can be redirected again. */
  readonly redirect_cooldown_seconds: number;
  /** Seconds a peer status stays usable for spillover and placement (local age). */
  readonly peer_max_age_seconds: number;
  /** Seconds a redirect's shadow reservation stays subtracted from its target (0 = this pass only). */
  readonly shadow_reservation_seconds: number;
  /** Default window of best-ranked candidates initial placement selects from. */
  readonly placement_sample_size: number;
  /** Minimum seconds between usage samples of an active job. */
  readonly usage_sample_interval: number;
  /** Finished job usage summaries kept (0 keeps none). */
  readonly usage_history_limit: number;
  /** Lease TTL floor: TTL = max(lease_min_ttl_seconds, estimate + lease_runtime_margin_seconds). */
  readonly lease_min_ttl_seconds: number;
  /** Seconds added to the runtime estimate for the lease TTL. */
  readonly lease_runtime_margin_seconds: number;
  /** Seconds an expired lease of a still-active job is extended by. */
  readonly active_lease_extension_seconds: number;
}

export type SchedulerProfileName = 'throughput' | 'conservative';

/** The profile used when none is configured. */
export const DEFAULT_PROFILE: SchedulerProfileName = 'throughput';

const CONSERVATIVE: SchedulerSettings = Object.freeze({
  loop_interval: 5,
  gossip_interval: 5,
  gossip_fanout: 0,
  grant_interval: 15,
  reservation_after_seconds: 0,
  grant_on_release: false,
  max_grants_per_tick: 4,
  burst_load_per_cpu: 0.5,
  burst_resource_headroom_factor: 2,
  max_load_per_cpu: 1,
  max_active_leases: 0,
  supports_cpu_jobs: true,
  supports_gpu_jobs: false,
  max_redirects_per_tick: 4,
  max_redirect_fraction: 0.5,
  capacity_offers: false,
  redirect_cooldown_seconds: 60,
  peer_max_age_seconds: 20,
  shadow_reservation_seconds: 10,
  placement_sample_size: 3,
  usage_sample_interval: 60,
  usage_history_limit: 100,
  lease_min_ttl_seconds: 60,
  lease_runtime_margin_seconds: 120,
  active_lease_extension_seconds: 300,
});

const THROUGHPUT: SchedulerSettings = Object.freeze({
  ...CONSERVATIVE,
  loop_interval: 1,
  gossip_interval: 2,
  gossip_fanout: 8,
  grant_interval: 0,
  reservation_after_seconds: 900,
  grant_on_release: true,
  max_grants_per_tick: 16,
  max_load_per_cpu: 0,
  capacity_offers: true,
  redirect_cooldown_seconds: 15,
});

/** The built-in profiles. */
export const PROFILES: Readonly<Record<SchedulerProfileName, SchedulerSettings>> = Object.freeze({
  throughput: THROUGHPUT,
  conservative: CONSERVATIVE,
});

type Kind = 'seconds' | 'count' | 'fraction' | 'number' | 'boolean';

interface Spec {
  kind: Kind;
  /** Smallest allowed value (numbers). */
  min: number;
}

/** How each setting is validated. Every key of `SchedulerSettings` is listed. */
export const SETTING_KINDS: Readonly<Record<keyof SchedulerSettings, Spec>> = Object.freeze({
  loop_interval: { kind: 'seconds', min: 0.01 },
  gossip_interval: { kind: 'seconds', min: 0.01 },
  gossip_fanout: { kind: 'count', min: 0 },
  grant_interval: { kind: 'seconds', min: 0 },
  reservation_after_seconds: { kind: 'seconds', min: 0 },
  grant_on_release: { kind: 'boolean', min: 0 },
  max_grants_per_tick: { kind: 'count', min: 0 },
  burst_load_per_cpu: { kind: 'number', min: 0 },
  burst_resource_headroom_factor: { kind: 'number', min: 0 },
  max_load_per_cpu: { kind: 'number', min: 0 },
  max_active_leases: { kind: 'count', min: 0 },
  supports_cpu_jobs: { kind: 'boolean', min: 0 },
  supports_gpu_jobs: { kind: 'boolean', min: 0 },
  max_redirects_per_tick: { kind: 'count', min: 0 },
  max_redirect_fraction: { kind: 'fraction', min: 0 },
  capacity_offers: { kind: 'boolean', min: 0 },
  redirect_cooldown_seconds: { kind: 'seconds', min: 0 },
  peer_max_age_seconds: { kind: 'seconds', min: 0 },
  shadow_reservation_seconds: { kind: 'seconds', min: 0 },
  placement_sample_size: { kind: 'count', min: 1 },
  usage_sample_interval: { kind: 'seconds', min: 0 },
  usage_history_limit: { kind: 'count', min: 0 },
  lease_min_ttl_seconds: { kind: 'seconds', min: 0 },
  lease_runtime_margin_seconds: { kind: 'seconds', min: 0 },
  active_lease_extension_seconds: { kind: 'seconds', min: 1 },
});

const SETTING_NAMES = Object.keys(SETTING_KINDS).sort();
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600 };

/**
 * The settings of `profile` with `overrides` applied and validated. Durations accept seconds as
 * a number or a string with a unit (`'15s'`, `'500ms'`, `'2m'`, `'1h'`); counts and numbers
 * accept numeric strings; booleans accept `true/false` (also as strings). Throws a
 * `ValidationError` naming the setting (and listing the valid ones for an unknown name).
 */
export function resolveSettings(profile: string = DEFAULT_PROFILE, overrides: Readonly<Record<string, unknown>> = {}): SchedulerSettings {
  if (!Object.hasOwn(PROFILES, profile)) {
    throw new ValidationError(`unknown scheduler profile '${profile}'; valid profiles: ${Object.keys(PROFILES).join(', ')}`, { field: 'profile', value: profile });
  }
  const base = PROFILES[profile as SchedulerProfileName];
  const out: Record<string, number | boolean> = { ...base };
  for (const [name, raw] of Object.entries(overrides)) {
    if (raw === undefined) continue;
    if (!Object.hasOwn(SETTING_KINDS, name)) {
      throw new ValidationError(`unknown scheduler setting '${name}'; valid settings: ${SETTING_NAMES.join(', ')}`, { field: name, value: raw });
    }
    out[name] = coerce(name, SETTING_KINDS[name as keyof SchedulerSettings], raw);
  }
  return Object.freeze(out as unknown as SchedulerSettings);
}

function coerce(name: string, spec: Spec, raw: unknown): number | boolean {
  const fail = (expected: string): never => {
    throw new ValidationError(`scheduler setting '${name}' must be ${expected}, got ${JSON.stringify(raw) ?? String(raw)}`, { field: name, value: raw });
  };
  if (spec.kind === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    return fail('true or false');
  }
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && raw.trim() !== '') {
    const m = /^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
    const unit = m?.[2]?.toLowerCase() ?? '';
    if (!m || (unit !== '' && (spec.kind !== 'seconds' || !Object.hasOwn(UNIT_SECONDS, unit)))) value = Number.NaN;
    else value = Number(m[1]) * (unit === '' ? 1 : UNIT_SECONDS[unit]!);
  } else value = Number.NaN;
  const expected =
    spec.kind === 'seconds'
      ? `a duration >= ${spec.min} s (seconds as a number, or a string like '15s', '500ms', '2m')`
      : spec.kind === 'count'
        ? `an integer >= ${spec.min}`
        : spec.kind === 'fraction'
          ? 'a number between 0 and 1'
          : `a number >= ${spec.min}`;
  if (!Number.isFinite(value) || value < spec.min) return fail(expected);
  if (spec.kind === 'count' && !Number.isInteger(value)) return fail(expected);
  if (spec.kind === 'fraction' && value > 1) return fail(expected);
  return value;
}
