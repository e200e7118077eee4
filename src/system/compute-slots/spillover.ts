/**
 * Bounded spillover (work stealing) toward peers.
 *
 * - Budget per pass: `min(anchor, max(1, ceil(n × max_redirect_fraction)), max_redirects_per_tick)`
 *   with the local anchor `1` when `n == 1` and `n - 1` otherwise (one job stays ready for the next
 *   local release); 0 when `n == 0`, the fraction is 0 or the cap is 0.
 * - Targets come from peer statuses projected with shadow reservations: each redirect subtracts
 *   its cores/RAM/temp storage (and adds its cores to the projected load) before the next choice,
 *   and keeps doing so for `shadow_reservation_seconds`, so a pass that runs before the peer's
 *   next status does not send the same free slot twice.
 * - A target is a peer other than this host that can run the request now, ordered by
 *   (queue length, -free CPU, score, name, URL), preferring a peer other than the one the
 *   request was last redirected from.
 * - With `capacity_offers` (throughput), free capacity is allocated by its owner: a host offers its
 *   free cores to particular peers with waiting jobs, inside the status it gossips, and a peer only
 *   redirects into capacity offered to it (minus what it already sent since that status arrived).
 *   Without offers, every host with a blocked queue acts on the same stale view of the same free
 *   cores and sends jobs there at once (in the simulator most such jobs found no room on arrival).
 */
import { withReservation } from './host-status.ts';
import { peerAge } from './peers.ts';
import { agedBackfill } from './reservation.ts';
import { canEverSatisfy, canRunNow, scoreHost } from './predicates.ts';
import type { SchedulerSettings } from './settings.ts';
import type { ComputeSlotRequest, SchedulerHostStatus, SchedulerState, ShadowReservation } from './types.ts';

/** How many waiting requests one pass may redirect out of a queue of `queueLength`. */
export function redirectBudget(queueLength: number, settings: Pick<SchedulerSettings, 'max_redirect_fraction' | 'max_redirects_per_tick'>): number {
  const n = queueLength;
  if (n <= 0 || settings.max_redirect_fraction <= 0 || settings.max_redirects_per_tick <= 0) return 0;
  const anchor = n === 1 ? 1 : n - 1;
  return Math.min(anchor, Math.max(1, Math.ceil(n * settings.max_redirect_fraction)), settings.max_redirects_per_tick);
}

/** `status` after one more job of `req`'s size: reservations up, projected load up. */
export function projectReservation(status: SchedulerHostStatus, cores: number, memory: number, temp: number, estimate = 0): SchedulerHostStatus {
  const next = withReservation(status, cores, memory, temp, estimate);
  const cpus = status.cpu_count_logical ?? status.eligible_cpu_ids.length;
  if (next.load_per_cpu !== null && cpus > 0) next.load_per_cpu = next.load_per_cpu + Math.max(1, cores) / cpus;
  return next;
}

/**
 * Fresh peer statuses with the live shadow reservations subtracted. With `openOnly`, only peers
 * that could take any job now (a free core, no errors) are returned.
 */
export function projectedPeers(settings: SchedulerSettings, state: SchedulerState, now: number, openOnly = false): SchedulerHostStatus[] {
  let shadows: Map<string, ShadowReservation[]> | null = null;
  for (const s of state.shadows) {
    if (s.expires_at <= now) continue;
    shadows ??= new Map();
    const list = shadows.get(s.host_url);
    if (list) list.push(s);
    else shadows.set(s.host_url, [s]);
  }
  const out: SchedulerHostStatus[] = [];
  const self = state.host_url;
  const useOffers = settings.capacity_offers;
  for (const p of state.peers) {
    let status = p.status;
    // Cheap rejections first: this runs over every peer on every pass.
    if (openOnly && (status.free_cpu_cores < 1 || status.errors.length > 0 || (useOffers && status.offers != null && !((status.offers[self] ?? 0) >= 1)))) continue;
    if (status.host_url === self || peerAge(p, now) > settings.peer_max_age_seconds) continue;
    // A reservation window shrinks while the status ages.
    if (status.backfill != null) status = { ...status, backfill: agedBackfill(status.backfill, peerAge(p, now)) };
    const mine = shadows?.get(status.host_url);
    if (mine) for (const s of mine) status = projectReservation(status, s.cpu_cores, s.memory_bytes, s.temp_storage_bytes, s.estimated_runtime_seconds);
    if (useOffers && p.status.offers != null) {
      // Only what the peer offered to this host, minus what was sent since that offer arrived.
      let offered = p.status.offers[self] ?? 0;
      if (mine) for (const s of mine) if (s.created_at >= p.received_at) offered -= s.cpu_cores;
      if (offered < status.free_cpu_cores) status = { ...status, free_cpu_cores: Math.max(0, offered) };
    }
    if (openOnly && status.free_cpu_cores < 1) continue;
    out.push(status);
  }
  return out;
}

/** A shadow reservation for a redirect of `req` to `hostUrl`. */
export function shadowFor(settings: SchedulerSettings, req: ComputeSlotRequest, hostUrl: string, now: number): ShadowReservation {
  return {
    host_url: hostUrl,
    request_id: req.request_id,
    cpu_cores: Math.max(1, req.cpu_cores),
    memory_bytes: req.memory_bytes,
    temp_storage_bytes: req.temp_storage_bytes,
    estimated_runtime_seconds: req.estimated_runtime_seconds,
    created_at: now,
    expires_at: now + settings.shadow_reservation_seconds,
  };
}

function compareTargets(a: SchedulerHostStatus, aScore: number, b: SchedulerHostStatus, bScore: number): number {
  return (
    a.queue_length - b.queue_length ||
    b.free_cpu_cores - a.free_cpu_cores ||
    aScore - bScore ||
    (a.host_name < b.host_name ? -1 : a.host_name > b.host_name ? 1 : 0) ||
    (a.host_url < b.host_url ? -1 : a.host_url > b.host_url ? 1 : 0)
  );
}

export interface TargetOptions {
  selfUrl: string;
  /** Prefer peers other than this URL (the request's last redirect source); fall back to it. */
  avoidUrl: string | null;
  /** `'now'`: the peer must be able to run the request now; `'ever'`: some day (healthy, capable). */
  mode: 'now' | 'ever';
}

/** Index in `peers` of the best redirect target for `req`, or -1. */
export function chooseTarget(peers: readonly SchedulerHostStatus[], req: ComputeSlotRequest, opts: TargetOptions): number {
  let best = -1;
  let bestScore = 0;
  let bestAvoided = true;
  for (let i = 0; i < peers.length; i++) {
    const p = peers[i]!;
    if (p.host_url === opts.selfUrl) continue;
    const ok = opts.mode === 'now' ? canRunNow(p, req) : p.errors.length === 0 && canEverSatisfy(p, req);
    if (!ok) continue;
    const avoided = opts.avoidUrl !== null && p.host_url === opts.avoidUrl;
    const score = scoreHost(p, req);
    if (best === -1 || (bestAvoided && !avoided) || (avoided === bestAvoided && compareTargets(p, score, peers[best]!, bestScore) < 0)) {
      best = i;
      bestScore = score;
      bestAvoided = avoided;
    }
  }
  return best;
}

/**
 * The cores this host offers to peers with waiting jobs (`capacity_offers`), or `null` when its
 * free cores are not contended. Free cores are those beside a head reservation. Contended means the
 * queued demand (cores) of the fresh peers it sees exceeds them: then the free cores are handed out
 * whole-demand first, peer by peer, in an order that rotates with every status (a hash of this
 * host, the observation time and the peer), so the offers sum to the free cores, a big job can be
 * offered room for all its cores, and no slot is claimed by many peers at once. `{}` while
 * unhealthy or load-gated (nothing to offer).
 */
export function computeOffers(settings: SchedulerSettings, state: SchedulerState, status: SchedulerHostStatus, now: number): Record<string, number> | null {
  if (!settings.capacity_offers) return null;
  if (status.errors.length > 0) return {};
  if (status.max_load_per_cpu > 0 && status.load_per_cpu !== null && status.load_per_cpu >= status.max_load_per_cpu) return {};
  const cores = status.backfill != null ? Math.min(status.free_cpu_cores, status.backfill.extra_cpu_cores) : status.free_cpu_cores;
  if (cores < 1) return {};
  const needy: { url: string; need: number; key: number }[] = [];
  let total = 0;
  for (const p of state.peers) {
    if (p.status.host_url === state.host_url || peerAge(p, now) > settings.peer_max_age_seconds) continue;
    const need = p.status.queued_cpu_cores ?? p.status.queue_length;
    if (need <= 0) continue;
    total += need;
    needy.push({ url: p.status.host_url, need, key: unitHash(state.host_url, status.observed_at, p.status.host_url) });
  }
  if (total <= cores) return null;
  needy.sort((a, b) => a.key - b.key || (a.url < b.url ? -1 : 1));
  const offers: Record<string, number> = {};
  let left = cores;
  for (const n of needy) {
    if (left < 1) break;
    const give = Math.min(left, n.need);
    offers[n.url] = give;
    left -= give;
  }
  return offers;
}

/** A deterministic number in [0, 1) from the given parts (FNV-1a, 32 bits). */
export function unitHash(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = String(part);
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x1f;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}
