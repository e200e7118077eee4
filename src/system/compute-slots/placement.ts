/**
 * `candidate_hosts`: initial placement preflight.
 *
 * Hosts are filtered by "can ever satisfy" and health only. Current load, free slots and the
 * load gate are *not* filters (paglets applied its load gate here, despite its docs): a busy
 * host is still a valid place to wait, and it is ranked lower by its score. Candidates are
 * sorted by (score, name, URL); `selected` is picked deterministically from the first
 * `placement_sample_size` of them: index = first 8 bytes (big-endian) of
 * SHA-256(seed) mod window, seed = `placement_seed` or job id or request id or agent id
 * (no seed: the first). Jobs of one batch thereby spread over the best few hosts, and the same
 * job always picks the same one.
 */
import { createHash } from 'node:crypto';
import { buildHostStatus } from './host-status.ts';
import { peerAge } from './peers.ts';
import { everReason, healthReason, loadGateReason, runNowBlockers, scoreHost } from './predicates.ts';
import { normalizeRequest } from './request.ts';
import type { SchedulerSettings } from './settings.ts';
import type { ComputeSlotRequestIn, HostSample, PeerStatusIn, SchedulerHostStatus, SchedulerState } from './types.ts';

export interface CandidateHostsOptions {
  /** Keep at most this many candidates (0 = all). Default 0. */
  limit?: number;
  /** Whether this host may be a candidate. Default true. */
  include_self?: boolean;
  /** Oldest usable cached peer status, seconds. Default `peer_max_age_seconds`. */
  max_age_seconds?: number;
  /** Window to select from. Default: the request's, else `settings.placement_sample_size`. */
  placement_sample_size?: number;
  /** Selection seed; default job id, request id or agent id of the request. */
  placement_seed?: string | null;
  /** Statuses the caller fetched live (`scheduler_status` of each mesh scheduler); they win over cached ones. */
  live?: readonly PeerStatusIn[];
  /** Fetch errors by host, echoed in the reply. */
  errors?: Readonly<Record<string, string>>;
}

export interface CandidateHost {
  status: SchedulerHostStatus;
  score: number;
  /** Informational notes: why it cannot run the request right now, or "can run now". */
  reasons: string[];
}

export interface CandidateHostsReply {
  generated_at: number;
  candidates: CandidateHost[];
  selected: CandidateHost | null;
  /** Host name -> why it can never run the request or is unhealthy. */
  rejected: Record<string, string>;
  errors: Record<string, string>;
}

/** Deterministic index into a window of `window` candidates for `seed`. */
export function selectionIndex(seed: string, window: number): number {
  if (window <= 1 || seed === '') return 0;
  const digest = createHash('sha256').update(seed, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(window));
}

function byRank(a: CandidateHost, b: CandidateHost): number {
  return (
    a.score - b.score ||
    (a.status.host_name < b.status.host_name ? -1 : a.status.host_name > b.status.host_name ? 1 : 0) ||
    (a.status.host_url < b.status.host_url ? -1 : a.status.host_url > b.status.host_url ? 1 : 0)
  );
}

/** The `k` best by `byRank`, sorted (insertion into a small sorted array: O(n·k), no full sort). */
function topK(all: readonly CandidateHost[], k: number): CandidateHost[] {
  const best: CandidateHost[] = [];
  for (const c of all) {
    if (best.length === k && byRank(c, best[k - 1]!) >= 0) continue;
    let i = best.length;
    while (i > 0 && byRank(c, best[i - 1]!) < 0) i--;
    best.splice(i, 0, c);
    if (best.length > k) best.pop();
  }
  return best;
}

/** Ranked candidate hosts for a request and the selected one. */
export function candidateHosts(
  ctx: { readonly settings: SchedulerSettings },
  state: SchedulerState,
  sample: HostSample,
  raw: ComputeSlotRequestIn,
  now: number,
  opts: CandidateHostsOptions = {},
): CandidateHostsReply {
  const settings = ctx.settings;
  // No generated id: a request without ids selects the first candidate, deterministically.
  const req = normalizeRequest(raw, { newId: () => '', selfUrl: state.host_url, now });
  const maxAge = opts.max_age_seconds ?? settings.peer_max_age_seconds;
  // Live statuses win over cached ones; this host's own status is always current.
  const live = new Map<string, SchedulerHostStatus>();
  for (const item of opts.live ?? []) {
    const age = item.age_seconds ?? Math.max(0, now - item.status.observed_at);
    const url = item.status.host_url.replace(/\/+$/, '');
    if (age <= maxAge && url !== state.host_url) live.set(url, item.status);
  }
  const statuses: SchedulerHostStatus[] = [buildHostStatus(settings, state, sample)];
  for (const p of state.peers) {
    const url = p.status.host_url;
    if (url === state.host_url || live.has(url) || peerAge(p, now) > maxAge) continue;
    statuses.push(p.status);
  }
  for (const status of live.values()) statuses.push(status);

  const candidates: CandidateHost[] = [];
  const rejected: Record<string, string> = {};
  for (const status of statuses) {
    const url = status.host_url.replace(/\/+$/, '');
    const name = status.host_name || url;
    if (url === state.host_url && opts.include_self === false) {
      rejected[name] = 'self excluded';
      continue;
    }
    const never = everReason(status, req) ?? healthReason(status);
    if (never !== null) {
      rejected[name] = never;
      continue;
    }
    candidates.push({ status, score: scoreHost(status, req), reasons: [] });
  }
  const limit = opts.limit ?? 0;
  if (limit > 0 && candidates.length > 4 * limit) {
    const best = topK(candidates, limit);
    candidates.length = 0;
    candidates.push(...best);
  } else {
    candidates.sort(byRank);
    if (limit > 0 && candidates.length > limit) candidates.length = limit;
  }
  for (const c of candidates) {
    // Informational only (never a filter): why it cannot start the job right now.
    const reasons = runNowBlockers(c.status, req).map((b) => b.reason);
    const load = loadGateReason(c.status);
    if (load !== null && !reasons.includes(load)) reasons.push(load);
    c.reasons = reasons.length > 0 ? reasons : ['can run now'];
  }
  const size = Math.max(1, Math.floor(opts.placement_sample_size ?? req.placement_sample_size ?? settings.placement_sample_size));
  const window = Math.min(size, candidates.length);
  const seed = opts.placement_seed ?? (req.job_id || req.request_id || req.agent_id);
  const selected = window === 0 ? null : (candidates[selectionIndex(seed, window)] ?? null);
  return { generated_at: now, candidates, selected, rejected, errors: { ...(opts.errors ?? {}) } };
}
