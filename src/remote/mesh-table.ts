/**
 * The pure core of mesh membership: which hosts this host knows, whether they are online,
 * and how reports about them merge. No I/O and no timers; the clock is injected, so the
 * rules are unit-tested with a fake clock (`test/unit/mesh-merge.test.ts`).
 *
 * Rules:
 * - **Version gate**: a ref whose `code_version` differs from ours is never stored or listed.
 * - **Direct** reports (the host itself joined us, answered our join, or sent a beacon) are
 *   authoritative: the entry is replaced, online, error cleared, refreshed now.
 * - **Gossip** (a peer relays what it knows about a third host) is taken only when it is online
 *   and carries a strictly newer `heartbeat` than ours. The heartbeat is the described host's
 *   own clock, so two reports about one host are comparable whatever the relays' clocks say.
 *   Offline reports are never relayed into our view: offline is each host's own conclusion.
 * - **Staleness** uses only our clock: an entry not refreshed (directly, or by a newer heartbeat)
 *   for `staleAfterMs` goes offline with error `stale mesh peer`.
 * - A failed contact marks the entry offline with the error text.
 * - Entries offline for `forgetAfterMs` are dropped.
 */
import type { HostRef } from '../runtime/directory.ts';
import { normalizeHostUrl } from '../runtime/directory.ts';

export const STALE_ERROR = 'stale mesh peer';

export interface MeshTableOptions {
  /** Our `code_version`: the version gate. */
  codeVersion: string;
  /** Our own URL (never stored: self is synthesized by the directory). */
  selfUrl: () => string;
  /** Milliseconds on our clock. @default Date.now */
  now?: () => number;
  /** @default 10000 */
  staleAfterMs?: number;
  /** @default 600000 (10 min) */
  forgetAfterMs?: number;
}

interface Entry {
  ref: HostRef;
  /** The described host's own clock (seconds); orders reports about it. */
  heartbeat: number;
  /** Our clock (ms) when this entry was last refreshed. */
  refreshedAt: number;
  online: boolean;
  error: string | null;
  /** Our clock (ms) when it went offline. */
  offlineSince: number | null;
  /** Our clock when our own contact with it last failed (cleared by any accepted report). */
  contactFailedAt?: number | null;
}

/** A host that went offline in a sweep. */
export interface MeshChange {
  url: string;
  name: string;
  online: boolean;
  error: string | null;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Keeps only the fields of a HostRef (unknown fields from newer peers are dropped), normalizes
 * the URL and the tags (lowercase, deduplicated, sorted) and stringifies properties.
 */
export function sanitizeRef(input: HostRef): HostRef {
  const props: Record<string, string> = {};
  if (input.properties && typeof input.properties === 'object') {
    for (const [k, v] of Object.entries(input.properties)) props[k] = String(v);
  }
  const ref: HostRef = {
    name: String(input.name),
    url: normalizeHostUrl(String(input.url)),
    code_version: String(input.code_version),
    online: input.online !== false,
    last_seen: finite(input.last_seen) ? input.last_seen : 0,
    active_count: finite(input.active_count) ? input.active_count : 0,
    inactive_count: finite(input.inactive_count) ? input.inactive_count : 0,
    tags: [...new Set((Array.isArray(input.tags) ? input.tags : []).map((t) => String(t).toLowerCase()))].sort(),
    properties: props,
    error: typeof input.error === 'string' ? input.error : null,
  };
  if (finite(input.cpu_count)) ref.cpu_count = input.cpu_count;
  if (finite(input.load_per_cpu)) ref.load_per_cpu = input.load_per_cpu;
  if (finite(input.memory_available)) ref.memory_available = input.memory_available;
  if (finite(input.memory_total)) ref.memory_total = input.memory_total;
  if (finite(input.heartbeat)) ref.heartbeat = input.heartbeat;
  return ref;
}

/** The heartbeat of a ref: its own `heartbeat`, else (older peers) its `last_seen`. */
const heartbeatOf = (ref: HostRef): number => (finite(ref.heartbeat) ? ref.heartbeat : finite(ref.last_seen) ? ref.last_seen : 0);

/** Sort order of every host list: (name, url). */
export function compareHosts(a: HostRef, b: HostRef): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.url < b.url ? -1 : a.url > b.url ? 1 : 0;
}

export class MeshTable {
  readonly codeVersion: string;
  private readonly selfUrl: () => string;
  private readonly now: () => number;
  readonly staleAfterMs: number;
  readonly forgetAfterMs: number;
  private readonly entries = new Map<string, Entry>();

  constructor(options: MeshTableOptions) {
    this.codeVersion = options.codeVersion;
    this.selfUrl = options.selfUrl;
    this.now = options.now ?? Date.now;
    this.staleAfterMs = options.staleAfterMs ?? 10_000;
    this.forgetAfterMs = options.forgetAfterMs ?? 600_000;
  }

  /** Whether a ref passes the version gate. */
  accepts(ref: Pick<HostRef, 'code_version'>): boolean {
    return ref.code_version === this.codeVersion;
  }

  get size(): number {
    return this.entries.size;
  }

  has(url: string): boolean {
    return this.entries.has(normalizeHostUrl(url));
  }

  /** The host itself told us about itself (join, join answer, beacon). Returns whether it was taken. */
  observeDirect(input: HostRef): boolean {
    if (!this.accepts(input)) return false;
    const ref = sanitizeRef(input);
    if (ref.url === this.selfUrl()) return false;
    this.entries.set(ref.url, {
      ref,
      heartbeat: heartbeatOf(ref),
      refreshedAt: this.now(),
      online: true,
      error: null,
      offlineSince: null,
    });
    return true;
  }

  /**
   * A peer relayed what it knows about another host. Taken only when online and strictly newer
   * (by the described host's heartbeat) than what we have. Returns whether it was taken.
   */
  observeGossip(input: HostRef): boolean {
    if (!this.accepts(input) || input.online === false) return false;
    const ref = sanitizeRef(input);
    if (ref.url === this.selfUrl()) return false;
    const heartbeat = heartbeatOf(ref);
    const known = this.entries.get(ref.url);
    if (known && heartbeat <= known.heartbeat) return false;
    // Direct evidence beats hearsay: a host our own contact just failed to reach is not revived
    // by a relay (which may carry a heartbeat from just before it stopped) until the stale window
    // passed; the host itself contacting us still brings it back at once.
    if (known?.contactFailedAt != null && this.now() - known.contactFailedAt < this.staleAfterMs) return false;
    this.entries.set(ref.url, { ref, heartbeat, refreshedAt: this.now(), online: true, error: null, offlineSince: null });
    return true;
  }

  /** A contact with this host failed: offline with the error text. */
  markFailed(url: string, error: string): void {
    const entry = this.entries.get(normalizeHostUrl(url));
    if (!entry) return;
    entry.online = false;
    entry.error = error;
    entry.offlineSince ??= this.now();
    entry.contactFailedAt = this.now();
  }

  /** Drops an entry (e.g. the host now announces another mesh version). */
  remove(url: string): boolean {
    return this.entries.delete(normalizeHostUrl(url));
  }

  /** Staleness and forgetting on our clock; returns the hosts that went offline. */
  sweep(): MeshChange[] {
    const now = this.now();
    const changes: MeshChange[] = [];
    for (const [url, e] of this.entries) {
      if (e.online && now - e.refreshedAt > this.staleAfterMs) {
        e.online = false;
        e.error = STALE_ERROR;
        e.offlineSince = now;
        changes.push({ url, name: e.ref.name, online: false, error: STALE_ERROR });
      } else if (!e.online && e.offlineSince !== null && now - e.offlineSince > this.forgetAfterMs) {
        this.entries.delete(url);
      }
    }
    return changes;
  }

  /** One entry as a HostRef: `last_seen` is when we last refreshed it, on our clock (seconds). */
  private view(e: Entry): HostRef {
    return { ...e.ref, online: e.online, error: e.error, last_seen: e.refreshedAt / 1000, heartbeat: e.heartbeat };
  }

  get(url: string): HostRef | undefined {
    const e = this.entries.get(normalizeHostUrl(url));
    return e && this.view(e);
  }

  /** Entries with this name, online first, then most recently refreshed. */
  byName(name: string): HostRef[] {
    const found = [...this.entries.values()].filter((e) => e.ref.name === name);
    found.sort((a, b) => Number(b.online) - Number(a.online) || b.refreshedAt - a.refreshedAt);
    return found.map((e) => this.view(e));
  }

  /** Known peers (never self), sorted by (name, url). */
  list(options: { onlineOnly?: boolean } = {}): HostRef[] {
    const out: HostRef[] = [];
    for (const e of this.entries.values()) if (!options.onlineOnly || e.online) out.push(this.view(e));
    return out.sort(compareHosts);
  }

  /** URLs of online peers. */
  onlineUrls(): string[] {
    return [...this.entries.values()].filter((e) => e.online).map((e) => e.ref.url);
  }

  /** URLs of offline peers, longest offline first. */
  offlineUrls(): string[] {
    return [...this.entries.values()]
      .filter((e) => !e.online)
      .sort((a, b) => (a.offlineSince ?? 0) - (b.offlineSince ?? 0))
      .map((e) => e.ref.url);
  }
}

/**
 * Picks up to `k` distinct items at random (partial Fisher–Yates). `random` is injectable for
 * tests.
 */
export function sample<T>(items: readonly T[], k: number, random: () => number = Math.random): T[] {
  const pool = [...items];
  const n = Math.min(k, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}
