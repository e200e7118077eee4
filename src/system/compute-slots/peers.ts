/**
 * Peer statuses exchanged between schedulers.
 *
 * Staleness never compares two hosts' clocks: a status arrives with its age on the sender's
 * clock (`age_seconds`) and keeps aging on ours from the moment it arrived. Only `observed_at`
 * values of the same host are compared (a newer status of a host replaces the older one).
 */
import type { SchedulerSettings } from './settings.ts';
import { Draft } from './state.ts';
import type { PeerEntry, PeerStatusIn, SchedulerHostStatus, SchedulerState } from './types.ts';

function cleanUrl(url: string): string {
  const last = url.charCodeAt(url.length - 1);
  // Fast path: no trailing slash or blank (the common case on every gossip message).
  if (last !== 47 && last !== 32 && url.charCodeAt(0) !== 32) return url;
  return url.trim().replace(/\/+$/, '');
}

/** Calls that need the settings only. */
export interface SettingsOnly {
  readonly settings: SchedulerSettings;
}

/** A held peer status's current age on the local clock. */
export function peerAge(entry: PeerEntry, now: number): number {
  return entry.age_at_receipt + Math.max(0, now - entry.received_at);
}

/**
 * Takes peer statuses in: one of this host, older than `peer_max_age_seconds`, or not newer than
 * the fresh status held for its host is ignored. Held statuses older than three times
 * `peer_max_age_seconds` are forgotten on the way. Returns the new state and how many were taken.
 */
export function acceptPeerStatuses(
  ctx: SettingsOnly,
  state: SchedulerState,
  incoming: readonly PeerStatusIn[],
  now: number,
): { state: SchedulerState; accepted: number } {
  const maxAge = ctx.settings.peer_max_age_seconds;
  // Usable candidates, sorted by URL, newest per URL (gossip batches usually arrive sorted).
  const cands: PeerEntry[] = [];
  let sorted = true;
  for (const item of incoming) {
    const status = item?.status;
    if (!status || typeof status.host_url !== 'string') continue;
    const url = cleanUrl(status.host_url);
    if (url === '' || url === state.host_url) continue;
    const age = item.age_seconds != null && Number.isFinite(item.age_seconds) ? Math.max(0, item.age_seconds) : Math.max(0, now - status.observed_at);
    if (age > maxAge) continue;
    const prev = cands[cands.length - 1];
    if (prev && prev.status.host_url >= url) sorted = false;
    cands.push({ status: url === status.host_url ? status : { ...status, host_url: url }, age_at_receipt: age, received_at: now });
  }
  if (!sorted) {
    cands.sort((a, b) => byUrl(a, b) || b.status.observed_at - a.status.observed_at);
    // Keep the newest per URL (first after the sort).
    let w = 0;
    for (let r = 0; r < cands.length; r++) if (w === 0 || cands[w - 1]!.status.host_url !== cands[r]!.status.host_url) cands[w++] = cands[r]!;
    cands.length = w;
  }
  const pruneAge = 3 * maxAge;
  const held = state.peers;
  const next: PeerEntry[] = [];
  let accepted = 0;
  let changed = false;
  let i = 0;
  let j = 0;
  while (i < held.length || j < cands.length) {
    const h = held[i];
    const c = cands[j];
    const order = h === undefined ? 1 : c === undefined ? -1 : byUrl(h, c);
    if (order < 0) {
      // Held, nothing new: keep unless long dead.
      if (peerAge(h!, now) > pruneAge) changed = true;
      else next.push(h!);
      i++;
    } else if (order > 0) {
      next.push(c!);
      accepted++;
      changed = true;
      j++;
    } else {
      // Same host: a newer observation wins; a stale held one yields to anything fresh
      // (covers a peer whose clock went backwards).
      if (h!.status.observed_at < c!.status.observed_at || peerAge(h!, now) > maxAge) {
        next.push(c!);
        accepted++;
        changed = true;
      } else next.push(h!);
      i++;
      j++;
    }
  }
  if (!changed) return { state, accepted: 0 };
  return { state: { ...state, peers: next }, accepted };
}

function byUrl(a: PeerEntry, b: PeerEntry): number {
  return a.status.host_url < b.status.host_url ? -1 : a.status.host_url > b.status.host_url ? 1 : 0;
}

/** Peer statuses whose local age is at most `maxAge` (default `peer_max_age_seconds`). */
export function freshPeers(ctx: SettingsOnly, state: SchedulerState, now: number, maxAge = ctx.settings.peer_max_age_seconds): PeerEntry[] {
  return state.peers.filter((p) => peerAge(p, now) <= maxAge);
}

/** Forgets peer statuses older than three times `peer_max_age_seconds` (accepting statuses does this too). */
export function prunePeers(ctx: SettingsOnly, state: SchedulerState, now: number): SchedulerState {
  const limit = 3 * ctx.settings.peer_max_age_seconds;
  if (!state.peers.some((p) => peerAge(p, now) > limit)) return state;
  return { ...state, peers: state.peers.filter((p) => peerAge(p, now) <= limit) };
}

/**
 * What this host sends (and answers) in a status exchange: its own status (age 0) followed by
 * the fresh peer statuses it holds, each with its current age.
 */
export function gossipPayload(ctx: SettingsOnly, state: SchedulerState, own: SchedulerHostStatus, now: number): PeerStatusIn[] {
  const settings = ctx.settings;
  const out: PeerStatusIn[] = [{ status: own, age_seconds: 0 }];
  for (const p of state.peers) {
    const age = peerAge(p, now);
    if (age <= settings.peer_max_age_seconds) out.push({ status: p.status, age_seconds: Math.round(age * 1000) / 1000 });
  }
  return out;
}

/**
 * The peers to contact in this exchange: every other scheduler when `gossip_fanout` is 0 or
 * covers the mesh, else `gossip_fanout` of them, rotating through the sorted list so every peer
 * is reached within ceil(n / fanout) exchanges. Deterministic; the cursor lives in the state.
 */
export function gossipTargets(ctx: SettingsOnly, state: SchedulerState, meshUrls: readonly string[]): { state: SchedulerState; targets: string[] } {
  const settings = ctx.settings;
  const urls = [...new Set(meshUrls.map((u) => u.trim().replace(/\/+$/, '')))].filter((u) => u !== '' && u !== state.host_url).sort();
  const fanout = settings.gossip_fanout;
  if (fanout === 0 || fanout >= urls.length) return { state, targets: urls };
  const start = state.gossip_cursor % urls.length;
  const targets: string[] = [];
  for (let i = 0; i < fanout; i++) targets.push(urls[(start + i) % urls.length]!);
  const d = new Draft(state);
  d.set('gossip_cursor', (start + fanout) % urls.length);
  return { state: d.done(), targets };
}
