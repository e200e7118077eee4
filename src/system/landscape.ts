/**
 * The pure core of `mesh-info`: host snapshots, the landscape of snapshots gossiped in from
 * peers, and host selection. No I/O and an injected clock, so every rule is unit-tested.
 *
 * Ages never compare two hosts' clocks: a snapshot carries its age (`age_seconds`) when it is
 * gossiped, and a receiver keeps aging it on its own clock from the moment it arrived. Only
 * `observed_at` values of the same host are compared (the newer snapshot of a host wins).
 */
import Type, { type Static } from 'typebox';
import { round2 } from './proc.ts';

const NNum = Type.Union([Type.Number(), Type.Null()]);
const NStr = Type.Union([Type.String(), Type.Null()]);

/** Seconds a snapshot counts as fresh (gossiped, selectable). */
export const SNAPSHOT_TTL_S = 20;
/** Seconds after which a peer's snapshot is forgotten. */
export const SNAPSHOT_PRUNE_S = 60;
/** Most snapshots one `sync` takes or answers with. */
export const SYNC_BATCH = 64;

/** The measured fields of a snapshot (everything but who and when). */
const measured = {
  code_version: NStr,
  platform: NStr,
  cpu_count_logical: NNum,
  cpu_percent: NNum,
  load_average: Type.Union([Type.Array(Type.Number()), Type.Null()]),
  load_per_cpu: NNum,
  memory_total: NNum,
  memory_available: NNum,
  memory_percent: NNum,
  swap_percent: NNum,
  work_path: NStr,
  work_total: NNum,
  work_free: NNum,
  work_percent_used: NNum,
  active_count: NNum,
  inactive_count: NNum,
  host_tags: Type.Array(Type.String()),
  host_properties: Type.Record(Type.String(), Type.String()),
  errors: Type.Array(Type.String()),
};

const identity = {
  host_name: Type.String({ minLength: 1 }),
  host_url: Type.String({ minLength: 1 }),
  /** Seconds since epoch on the described host's clock. */
  observed_at: Type.Number(),
};

/** One host described by its own mesh-info service. */
export const MeshSnapshotSchema = Type.Object({ ...identity, ...measured });
export type MeshSnapshot = Static<typeof MeshSnapshotSchema>;

/**
 * A snapshot as `sync` accepts it: who and when are required, missing measurements count as
 * unknown. `age_seconds` is the sender's view of its age (gossip carries it).
 */
export const SnapshotInSchema = Type.Object({
  ...identity,
  code_version: Type.Optional(measured.code_version),
  platform: Type.Optional(measured.platform),
  cpu_count_logical: Type.Optional(measured.cpu_count_logical),
  cpu_percent: Type.Optional(measured.cpu_percent),
  load_average: Type.Optional(measured.load_average),
  load_per_cpu: Type.Optional(measured.load_per_cpu),
  memory_total: Type.Optional(measured.memory_total),
  memory_available: Type.Optional(measured.memory_available),
  memory_percent: Type.Optional(measured.memory_percent),
  swap_percent: Type.Optional(measured.swap_percent),
  work_path: Type.Optional(measured.work_path),
  work_total: Type.Optional(measured.work_total),
  work_free: Type.Optional(measured.work_free),
  work_percent_used: Type.Optional(measured.work_percent_used),
  active_count: Type.Optional(measured.active_count),
  inactive_count: Type.Optional(measured.inactive_count),
  host_tags: Type.Optional(measured.host_tags),
  host_properties: Type.Optional(measured.host_properties),
  errors: Type.Optional(measured.errors),
  age_seconds: Type.Optional(Type.Number({ minimum: 0 })),
});
export type SnapshotIn = Static<typeof SnapshotInSchema>;

/** A snapshot as listed: with its age (on the lister's clock) and whether it is fresh. */
export const LandscapeEntrySchema = Type.Object({ ...identity, ...measured, age_seconds: Type.Number(), fresh: Type.Boolean() });
export type LandscapeEntry = Static<typeof LandscapeEntrySchema>;

/** Fills unknown measurements of an incoming snapshot. */
export function normalizeSnapshot(s: SnapshotIn): MeshSnapshot {
  return {
    host_name: s.host_name,
    host_url: s.host_url.replace(/\/+$/, ''),
    observed_at: s.observed_at,
    code_version: s.code_version ?? null,
    platform: s.platform ?? null,
    cpu_count_logical: s.cpu_count_logical ?? null,
    cpu_percent: s.cpu_percent ?? null,
    load_average: s.load_average ?? null,
    load_per_cpu: s.load_per_cpu ?? null,
    memory_total: s.memory_total ?? null,
    memory_available: s.memory_available ?? null,
    memory_percent: s.memory_percent ?? null,
    swap_percent: s.swap_percent ?? null,
    work_path: s.work_path ?? null,
    work_total: s.work_total ?? null,
    work_free: s.work_free ?? null,
    work_percent_used: s.work_percent_used ?? null,
    active_count: s.active_count ?? null,
    inactive_count: s.inactive_count ?? null,
    host_tags: s.host_tags ?? [],
    host_properties: s.host_properties ?? {},
    errors: s.errors ?? [],
  };
}

interface Held {
  snapshot: MeshSnapshot;
  /** Age when it arrived (sender's view, or `now - observed_at` when the sender gave none). */
  ageAtReceipt: number;
  /** Our clock when it arrived. */
  receivedAt: number;
}

/** Snapshots of other hosts, newest per host URL, plus the last error per peer host name. */
export class Landscape {
  private readonly held = new Map<string, Held>();
  private readonly peerErrors = new Map<string, string>();
  private readonly selfUrl: () => string;
  private readonly now: () => number;

  constructor(selfUrl: () => string, now: () => number = () => Date.now() / 1000) {
    this.selfUrl = selfUrl;
    this.now = now;
  }

  /**
   * Takes snapshots in (at most `limit`): a snapshot older than `maxAgeSeconds`, of this host,
   * or not newer than the one held for its host is ignored. A fresh snapshot clears the
   * host's peer error.
   */
  merge(incoming: SnapshotIn[], options: { maxAgeSeconds?: number; limit?: number } = {}): { accepted: number; ignored: number } {
    const maxAge = options.maxAgeSeconds ?? SNAPSHOT_TTL_S;
    const batch = incoming.slice(0, options.limit ?? SYNC_BATCH);
    const now = this.now();
    let accepted = 0;
    for (const raw of batch) {
      const snapshot = normalizeSnapshot(raw);
      const age = raw.age_seconds ?? Math.max(0, now - snapshot.observed_at);
      const current = this.held.get(snapshot.host_url);
      if (snapshot.host_url === this.selfUrl() || age > maxAge || (current && current.snapshot.observed_at >= snapshot.observed_at)) continue;
      this.held.set(snapshot.host_url, { snapshot, ageAtReceipt: age, receivedAt: now });
      this.peerErrors.delete(snapshot.host_name);
      accepted++;
    }
    return { accepted, ignored: incoming.length - accepted };
  }

  /** Every held snapshot with its current age, sorted by (name, url). */
  entries(): { snapshot: MeshSnapshot; age_seconds: number }[] {
    const now = this.now();
    return [...this.held.values()]
      .map((h) => ({ snapshot: h.snapshot, age_seconds: round2(h.ageAtReceipt + Math.max(0, now - h.receivedAt)) }))
      .sort((a, b) => compareHosts(a.snapshot, b.snapshot));
  }

  /** Forgets snapshots older than `maxAgeSeconds`; returns how many. */
  prune(maxAgeSeconds = SNAPSHOT_PRUNE_S): number {
    let n = 0;
    for (const e of this.entries()) {
      if (e.age_seconds > maxAgeSeconds) {
        this.held.delete(e.snapshot.host_url);
        n++;
      }
    }
    return n;
  }

  recordError(hostName: string, error: string): void {
    this.peerErrors.set(hostName, error);
  }

  clearError(hostName: string): void {
    this.peerErrors.delete(hostName);
  }

  /** Last gossip error per peer host name. */
  errors(): Record<string, string> {
    return Object.fromEntries([...this.peerErrors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  get size(): number {
    return this.held.size;
  }
}

function compareHosts(a: { host_name: string; host_url: string }, b: { host_name: string; host_url: string }): number {
  if (a.host_name !== b.host_name) return a.host_name < b.host_name ? -1 : 1;
  return a.host_url < b.host_url ? -1 : a.host_url > b.host_url ? 1 : 0;
}

/** Listing order and freshness of snapshots. */
export function toEntries(list: { snapshot: MeshSnapshot; age_seconds: number }[], maxAgeSeconds: number): LandscapeEntry[] {
  return list
    .map((e) => ({ ...e.snapshot, age_seconds: e.age_seconds, fresh: e.age_seconds <= maxAgeSeconds }))
    .sort(compareHosts);
}

export const SelectRequestSchema = Type.Object(
  {
    /** @default 1 */
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** Older snapshots are stale. @default 20 */
    max_age_seconds: Type.Optional(Type.Number({ minimum: 0 })),
    /** Skip hosts whose 1-minute load per CPU is above this (or unknown). */
    max_load_per_cpu: Type.Optional(Type.Number({ minimum: 0 })),
    /** Skip hosts whose CPU busy % is above this (or unknown). */
    max_cpu_percent: Type.Optional(Type.Number({ minimum: 0 })),
    /** Skip hosts with less memory available (or unknown). */
    min_memory_available_bytes: Type.Optional(Type.Number({ minimum: 0 })),
    /** Skip hosts with less free space in their work directory (or unknown). */
    min_work_free_bytes: Type.Optional(Type.Number({ minimum: 0 })),
    /** @default true */
    include_self: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type SelectRequest = Static<typeof SelectRequestSchema>;

export const SelectCandidateSchema = Type.Object({
  host_name: Type.String(),
  host_url: Type.String(),
  score: Type.Number(),
  age_seconds: Type.Number(),
  snapshot: MeshSnapshotSchema,
});
export type SelectCandidate = Static<typeof SelectCandidateSchema>;

export const SelectReplySchema = Type.Object({
  candidates: Type.Array(SelectCandidateSchema),
  /** True when no host passed and the candidates are the fresh hosts tagged `fallback`. */
  fallback: Type.Boolean(),
  rejected: Type.Array(Type.Object({ host_name: Type.String(), host_url: Type.String(), reasons: Type.Array(Type.String()) })),
});
export type SelectReply = Static<typeof SelectReplySchema>;

/**
 * Lower is better: load per CPU + CPU %/100 + memory %/100 + work disk %/100, an unknown
 * term counting as 1 (fully busy).
 */
export function scoreSnapshot(s: MeshSnapshot): number {
  const term = (v: number | null, scale: number): number => (v === null || !Number.isFinite(v) ? 1 : v / scale);
  return Math.round((term(s.load_per_cpu, 1) + term(s.cpu_percent, 100) + term(s.memory_percent, 100) + term(s.work_percent_used, 100)) * 10_000) / 10_000;
}

const fmt = (n: number): string => String(round2(n));

/**
 * Why a snapshot may not be selected (empty = selectable). Unlike paglets, the load and CPU
 * limits are honoured; a limit on a value the host did not report rejects it.
 */
export function rejectionReasons(
  entry: { snapshot: MeshSnapshot; age_seconds: number },
  request: SelectRequest,
  peerError: string | undefined,
): string[] {
  const s = entry.snapshot;
  const maxAge = request.max_age_seconds ?? SNAPSHOT_TTL_S;
  const out: string[] = [];
  if (entry.age_seconds > maxAge) out.push(`stale: ${fmt(entry.age_seconds)} s old > max_age_seconds ${fmt(maxAge)}`);
  if (s.errors.length) out.push(`snapshot errors: ${s.errors.join('; ')}`);
  if (peerError) out.push(`unreachable: ${peerError}`);
  const limit = (value: number | null, bound: number | undefined, what: string, cmp: 'max' | 'min', unit = ''): void => {
    if (bound === undefined) return;
    if (value === null) out.push(`${what} unknown`);
    else if (cmp === 'max' ? value > bound : value < bound) out.push(`${what} ${fmt(value)}${unit} ${cmp === 'max' ? '>' : '<'} ${fmt(bound)}${unit}`);
  };
  limit(s.load_per_cpu, request.max_load_per_cpu, 'load per CPU', 'max');
  limit(s.cpu_percent, request.max_cpu_percent, 'CPU', 'max', '%');
  limit(s.memory_available, request.min_memory_available_bytes, 'memory available', 'min', ' B');
  limit(s.work_free, request.min_work_free_bytes, 'work free', 'min', ' B');
  return out;
}

/**
 * Picks hosts for work: every snapshot (self included unless `include_self` is false) that
 * passes {@link rejectionReasons}, lowest {@link scoreSnapshot} first (then name, URL), at
 * most `limit`. When none passes, the fresh, error-free hosts tagged `fallback` are offered
 * instead (`fallback: true`), whatever their load.
 */
export function selectHosts(
  entries: { snapshot: MeshSnapshot; age_seconds: number }[],
  request: SelectRequest,
  options: { selfUrl: string; peerErrors?: Record<string, string> },
): SelectReply {
  const includeSelf = request.include_self ?? true;
  const limit = request.limit ?? 1;
  const maxAge = request.max_age_seconds ?? SNAPSHOT_TTL_S;
  const pool = entries.filter((e) => includeSelf || e.snapshot.host_url !== options.selfUrl);
  const candidate = (e: { snapshot: MeshSnapshot; age_seconds: number }): SelectCandidate => ({
    host_name: e.snapshot.host_name,
    host_url: e.snapshot.host_url,
    score: scoreSnapshot(e.snapshot),
    age_seconds: e.age_seconds,
    snapshot: e.snapshot,
  });
  const rank = (list: SelectCandidate[]): SelectCandidate[] => list.sort((a, b) => a.score - b.score || compareHosts(a, b)).slice(0, limit);
  const passed: SelectCandidate[] = [];
  const rejected: SelectReply['rejected'] = [];
  for (const e of pool) {
    const reasons = rejectionReasons(e, request, options.peerErrors?.[e.snapshot.host_name]);
    if (reasons.length) rejected.push({ host_name: e.snapshot.host_name, host_url: e.snapshot.host_url, reasons });
    else passed.push(candidate(e));
  }
  rejected.sort(compareHosts);
  if (passed.length) return { candidates: rank(passed), fallback: false, rejected };
  const fallback = pool.filter(
    (e) =>
      e.age_seconds <= maxAge &&
      e.snapshot.errors.length === 0 &&
      !options.peerErrors?.[e.snapshot.host_name] &&
      e.snapshot.host_tags.includes('fallback'),
  );
  return { candidates: rank(fallback.map(candidate)), fallback: fallback.length > 0, rejected };
}
