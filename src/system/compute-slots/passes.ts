/**
 * @internal The building blocks of a scheduling pass, shared by `requestSlot`, `tick`,
 * `releaseSlot` and the rollbacks: queue edits, lease creation, the oldest-fit grant pass, the
 * bounded redirect pass and the elastic affinity refresh. All work on a `Draft` with one `now`
 * per pass, so "oldest first" is decided on one consistent view.
 */
import { allocateCpuIds, elasticMasks, sameIds } from './affinity.ts';
import { buildHostStatus, eligibleCpuIds, withReservation } from './host-status.ts';
import { canRunNow, hasBurstHeadroom } from './predicates.ts';
import { ownerKeys, sameOwner, wasRedirected } from './request.ts';
import type { SchedulerSettings } from './settings.ts';
import { chooseTarget, projectReservation, projectedPeers, redirectBudget, shadowFor } from './spillover.ts';
import type { Draft } from './state.ts';
import { emptyUsage } from './usage.ts';
import type {
  ComputeSlotRequest,
  HostSample,
  Lease,
  QueueEntry,
  SchedulerContext,
  SchedulerEffect,
  SchedulerHostStatus,
  SchedulerState,
  SlotDecision,
  SlotDecisionReply,
} from './types.ts';

export const MSG = {
  existingLease: 'existing compute slot lease',
  localCannotSatisfy: 'local host cannot satisfy request',
  granted: 'compute slot granted',
  peerHasCapacity: 'peer host currently has capacity',
  queued: 'queued for compute slot',
  noCpuIds: 'no CPU core IDs available for affinity lease',
} as const;

// ---- replies -----------------------------------------------------------------------------------

export function baseReply(state: SchedulerState, decision: SlotDecision, req: ComputeSlotRequest, message: string, workDir: string): SlotDecisionReply {
  return {
    decision,
    request_id: req.request_id,
    lease_id: null,
    host_name: state.host_name,
    host_url: state.host_url,
    work_dir_base: workDir,
    message,
    redirect_count: req.redirect_count,
    redirected_from_host_url: null,
    cpu_core_ids: [],
    cpu_affinity_supported: false,
    cpu_affinity_enforced: false,
    cpu_affinity_error: null,
    expires_at: null,
    queue_position: null,
  };
}

export function leaseReply(state: SchedulerState, lease: Lease, message: string, workDir: string): SlotDecisionReply {
  return {
    ...baseReply(state, 'run_now', lease.request, message, workDir),
    lease_id: lease.lease_id,
    cpu_core_ids: [...lease.affinity_cpu_ids],
    cpu_affinity_supported: lease.cpu_affinity_supported,
    cpu_affinity_enforced: lease.cpu_affinity_enforced,
    cpu_affinity_error: lease.cpu_affinity_error,
    expires_at: lease.expires_at,
  };
}

export function redirectReply(state: SchedulerState, req: ComputeSlotRequest, target: SchedulerHostStatus, message: string): SlotDecisionReply {
  return {
    ...baseReply(state, 'redirect', req, message, target.work_dir_base),
    host_name: target.host_name,
    host_url: target.host_url,
    redirect_count: req.redirect_count + 1,
    redirected_from_host_url: state.host_url,
  };
}

// ---- queue ---------------------------------------------------------------------------------------

function seqIndex(queue: readonly QueueEntry[], seq: number): number {
  let lo = 0;
  let hi = queue.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (queue[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Queues `req`, replacing a queued request of the same owner in place (it keeps its position,
 * first arrival time and cooldown start). Returns the entry.
 */
export function enqueue(d: Draft, req: ComputeSlotRequest, now: number): QueueEntry {
  const queue = d.s.queue;
  const at = queue.findIndex((e) => sameOwner(e.request, req));
  const redirected = wasRedirected(req) ? now : null;
  if (at >= 0) {
    const old = queue[at]!;
    const entry: QueueEntry = { seq: old.seq, queued_at: old.queued_at, cooldown_from: old.cooldown_from ?? redirected, request: req };
    const list = d.list('queue');
    list[at] = entry;
    // Only one entry per owner: drop any further ones (can only exist in hand-edited states).
    for (let i = list.length - 1; i > at; i--) if (sameOwner(list[i]!.request, req)) list.splice(i, 1);
    return entry;
  }
  const entry: QueueEntry = { seq: d.s.next_seq, queued_at: now, cooldown_from: redirected, request: req };
  d.set('next_seq', d.s.next_seq + 1);
  d.list('queue').push(entry);
  return entry;
}

/** Puts a dequeued entry back at its position, unless its owner re-queued or got a lease meanwhile. */
export function reinsert(d: Draft, entry: QueueEntry): boolean {
  if (d.s.queue.some((e) => sameOwner(e.request, entry.request))) return false;
  if (d.s.leases.some((l) => sameOwner(l.request, entry.request))) return false;
  const list = d.list('queue');
  list.splice(seqIndex(list, entry.seq), 0, entry);
  return true;
}

/** Removes queued entries of `req`'s owner; returns how many. */
export function dropQueued(d: Draft, req: ComputeSlotRequest): number {
  if (!d.s.queue.some((e) => sameOwner(e.request, req))) return 0;
  const list = d.list('queue');
  const before = list.length;
  const kept = list.filter((e) => !sameOwner(e.request, req));
  list.length = 0;
  list.push(...kept);
  return before - kept.length;
}

function removeSeqs(d: Draft, seqs: ReadonlySet<number>): void {
  if (seqs.size === 0) return;
  const list = d.list('queue');
  const kept = list.filter((e) => !seqs.has(e.seq));
  list.length = 0;
  list.push(...kept);
}

export function cooldownReady(settings: SchedulerSettings, entry: QueueEntry, now: number): boolean {
  return entry.cooldown_from === null || now - entry.cooldown_from >= settings.redirect_cooldown_seconds;
}

// ---- leases --------------------------------------------------------------------------------------

export function leaseTtl(settings: SchedulerSettings, req: ComputeSlotRequest): number {
  return Math.max(settings.lease_min_ttl_seconds, req.estimated_runtime_seconds + settings.lease_runtime_margin_seconds);
}

export function makeLease(ctx: SchedulerContext, req: ComputeSlotRequest, status: SchedulerHostStatus, ids: number[], now: number): Lease {
  return {
    lease_id: `slot-${ctx.newId()}`,
    request: req,
    granted_at: now,
    expires_at: now + leaseTtl(ctx.settings, req),
    extensions: 0,
    cpu_affinity_supported: status.cpu_affinity_supported,
    cpu_core_ids: ids,
    affinity_cpu_ids: ids,
    applied_cpu_ids: null,
    cpu_affinity_enforced: false,
    cpu_affinity_error: null,
    usage: emptyUsage(),
  };
}

/**
 * Recomputes the elastic masks and returns `apply_affinity` effects for every lease whose mask
 * differs from the one last applied (new leases, changed masks, failed applications).
 */
export function refreshAffinity(d: Draft, eligible: readonly number[]): SchedulerEffect[] {
  const leases = d.s.leases;
  if (!leases.some((l) => l.cpu_affinity_supported && l.cpu_core_ids.length > 0)) return [];
  if (masksCurrent(leases, eligible)) return [];
  const masks = elasticMasks(leases, eligible);
  const effects: SchedulerEffect[] = [];
  let list: Lease[] | null = null;
  for (let i = 0; i < leases.length; i++) {
    const lease = leases[i]!;
    const mask = masks[lease.lease_id];
    if (!mask) continue;
    if (!sameIds(lease.affinity_cpu_ids, mask)) {
      list ??= d.list('leases');
      list[i] = { ...lease, affinity_cpu_ids: mask };
    }
    if (!sameIds(lease.applied_cpu_ids, mask)) effects.push({ type: 'apply_affinity', lease_id: lease.lease_id, agent_id: lease.request.agent_id, cpu_core_ids: mask });
  }
  return effects;
}

/**
 * Cheap check that the masks need no recomputation: every mask was applied, the masks partition
 * the eligible ids exactly, and each contains its floor. (Masks only change with the lease set or
 * the eligible set, and both break this partition.)
 */
function masksCurrent(leases: readonly Lease[], eligible: readonly number[]): boolean {
  let max = -1;
  for (const id of eligible) if (id > max) max = id;
  const seen = new Uint8Array(max + 1);
  for (const id of eligible) seen[id] = 1;
  let covered = 0;
  for (const l of leases) {
    if (!l.cpu_affinity_supported || l.cpu_core_ids.length === 0) continue;
    if (!sameIds(l.applied_cpu_ids, l.affinity_cpu_ids)) return false;
    for (const id of l.affinity_cpu_ids) {
      if (id > max || seen[id] !== 1) return false;
      seen[id] = 2;
      covered++;
    }
    for (const id of l.cpu_core_ids) if (id > max || seen[id] !== 2) return false;
  }
  return covered === eligible.length;
}

/** Replies of grants made in a pass must carry the masks after the refresh. */
export function withCurrentMask(d: Draft, reply: SlotDecisionReply): SlotDecisionReply {
  const lease = d.s.leases.find((l) => l.lease_id === reply.lease_id);
  return lease ? { ...reply, cpu_core_ids: [...lease.affinity_cpu_ids] } : reply;
}

function ownedBy(owners: ReadonlySet<string>, req: ComputeSlotRequest): boolean {
  return (
    (req.agent_id !== '' && owners.has(`a:${req.agent_id}`)) ||
    (req.request_id !== '' && owners.has(`r:${req.request_id}`)) ||
    (req.job_id !== '' && owners.has(`j:${req.job_id}`))
  );
}

// ---- grant pass ----------------------------------------------------------------------------------

export interface GrantPassResult {
  /** `grant` and `dequeued` effects, in queue order (the own request excluded). */
  effects: SchedulerEffect[];
  /** The lease of `ownRequestId`, when it was granted in this pass. */
  own: Lease | null;
  /** `ownRequestId` fits but no CPU ids are left for its affinity lease. */
  ownNoCpuIds: boolean;
  /** The pass stopped at `max_grants_per_tick` with requests left. */
  capped: boolean;
  /** Local status after the pass's grants (`null` when the queue was empty). */
  status: SchedulerHostStatus | null;
}

/**
 * Oldest-fit grant pass: queued requests in arrival order; the first that can run now gets a
 * lease. A grant counts as paced when `grant_interval` has passed since the last grant (always,
 * with interval 0); otherwise it needs burst headroom. Stops at `max_grants_per_tick`.
 * A queued request whose owner already holds a lease is dequeued (never left behind).
 */
export function grantPass(ctx: SchedulerContext, d: Draft, sample: HostSample, now: number, ownRequestId: string | null = null): GrantPassResult {
  const settings = ctx.settings;
  const result: GrantPassResult = { effects: [], own: null, ownNoCpuIds: false, capped: false, status: null };
  const queue = d.s.queue;
  if (queue.length === 0) return result;
  let status = buildHostStatus(settings, d.s, sample);
  result.status = status;
  // Every request needs a core: with none free there is nothing to scan for.
  if (status.free_cpu_cores < 1) return result;
  const owners = new Set<string>();
  for (const l of d.s.leases) for (const k of ownerKeys(l.request)) owners.add(k);
  const removed = new Set<number>();
  const startGrantAt = d.s.last_grant_at;
  const cpus = status.cpu_count_logical ?? status.eligible_cpu_ids.length;
  const cap = settings.max_grants_per_tick;
  let grants = 0;
  let extraLoad = 0;
  const workDir = status.work_dir_base;
  for (const entry of queue) {
    const req = entry.request;
    if (owners.size > 0 && ownedBy(owners, req)) {
      removed.add(entry.seq);
      if (req.request_id !== ownRequestId) result.effects.push({ type: 'dequeued', request_id: req.request_id, agent_id: req.agent_id, reason: MSG.existingLease });
      continue;
    }
    // Nothing more fits without a free core; keep scanning only for leased duplicates.
    if (status.free_cpu_cores < 1) continue;
    if (cap > 0 && grants >= cap) {
      if (canRunNow(status, req)) result.capped = true;
      continue;
    }
    if (!canRunNow(status, req)) continue;
    const last = d.s.last_grant_at;
    const paced = last === null || now - last >= settings.grant_interval;
    if (!paced && !hasBurstHeadroom(status, req, settings, extraLoad)) continue;
    const cores = Math.max(1, req.cpu_cores);
    const ids = status.cpu_affinity_supported ? allocateCpuIds(status.eligible_cpu_ids, d.s.leases, cores) : [];
    if (ids === null) {
      if (req.request_id === ownRequestId) {
        result.ownNoCpuIds = true;
        removed.add(entry.seq);
      }
      continue;
    }
    const lease = makeLease(ctx, req, status, ids, now);
    d.list('leases').push(lease);
    d.set('last_grant_at', now);
    removed.add(entry.seq);
    for (const k of ownerKeys(req)) owners.add(k);
    status = withReservation(status, cores, req.memory_bytes, req.temp_storage_bytes, req.estimated_runtime_seconds);
    if (cpus > 0) extraLoad += cores / cpus;
    grants++;
    if (req.request_id === ownRequestId) result.own = lease;
    else {
      d.count('granted_from_queue');
      result.effects.push({
        type: 'grant',
        agent_id: req.agent_id,
        agent_host_url: req.agent_host_url,
        reply: leaseReply(d.s, lease, MSG.granted, workDir),
        entry,
        previous_last_grant_at: startGrantAt,
      });
    }
  }
  removeSeqs(d, removed);
  result.status = status;
  return result;
}

// ---- redirect pass -------------------------------------------------------------------------------

export interface RedirectPassResult {
  effects: SchedulerEffect[];
  /** The pass used its whole budget with cooldown-ready requests left. */
  capped: boolean;
}

/**
 * Bounded spillover after the grant pass: in queue order, a request that cannot run here now and
 * whose cooldown has passed is redirected to the best projected peer that can run it now, until
 * the budget is used. Each redirect leaves a shadow reservation on its target.
 */
export function redirectPass(ctx: SchedulerContext, d: Draft, sample: HostSample, now: number, local: SchedulerHostStatus | null = null): RedirectPassResult {
  const settings = ctx.settings;
  const result: RedirectPassResult = { effects: [], capped: false };
  const queue = d.s.queue;
  const budget = redirectBudget(queue.length, settings);
  if (budget === 0 || d.s.peers.length === 0) return result;
  const projected = projectedPeers(settings, d.s, now, true);
  if (projected.length === 0) return result;
  const status = local ?? buildHostStatus(settings, d.s, sample);
  const removed = new Set<number>();
  for (const entry of queue) {
    if (removed.size >= budget) {
      result.capped = true;
      break;
    }
    const req = entry.request;
    if (canRunNow(status, req) || !cooldownReady(settings, entry, now)) continue;
    const i = chooseTarget(projected, req, { selfUrl: d.s.host_url, avoidUrl: req.last_redirect_from_host_url, mode: 'now' });
    if (i < 0) continue;
    const target = projected[i]!;
    projected[i] = projectReservation(target, req.cpu_cores, req.memory_bytes, req.temp_storage_bytes, req.estimated_runtime_seconds);
    if (settings.shadow_reservation_seconds > 0) d.list('shadows').push(shadowFor(settings, req, target.host_url, now));
    removed.add(entry.seq);
    d.count('spilled');
    result.effects.push({ type: 'redirect', agent_id: req.agent_id, agent_host_url: req.agent_host_url, reply: redirectReply(d.s, req, target, MSG.peerHasCapacity), entry });
  }
  removeSeqs(d, removed);
  return result;
}

/** Drops shadow reservations that have expired. */
export function pruneShadows(d: Draft, now: number): void {
  if (!d.s.shadows.some((s) => s.expires_at <= now)) return;
  const kept = d.s.shadows.filter((s) => s.expires_at > now);
  const list = d.list('shadows');
  list.length = 0;
  list.push(...kept);
}

/** Eligible CPU ids of a sample (re-exported for the passes' callers). */
export { eligibleCpuIds };
