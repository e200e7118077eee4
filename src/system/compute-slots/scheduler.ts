/**
 * The compute-slots scheduler core: pure functions over a plain, serializable
 * {@link SchedulerState}. No I/O, no clock, no randomness: the caller passes `now` (seconds,
 * local clock), a local {@link HostSample} and a {@link SchedulerContext} with the settings and
 * an id function. Inputs are never mutated; each call returns the next state plus the
 * {@link SchedulerEffect}s (messages, affinity changes) the caller performs.
 *
 * ```ts
 * const ctx = { settings: resolveSettings('throughput'), newId: () => randomUUID().replaceAll('-', '') };
 * let state = createSchedulerState({ host_name: 'alpha', host_url: 'http://127.0.0.1:8765' });
 * const r = requestSlot(ctx, state, sample, { agent_id: 'job-1', cpu_cores: 2 }, Date.now() / 1000);
 * state = r.state; // r.reply.decision: run_now | sleep | redirect | rejected
 * ```
 *
 * Decisions of `request_slot` (always on the job's current host):
 * 1. the same owner (agent id, request id or job id) already holds a lease -> `run_now`
 *    ("existing compute slot lease");
 * 2. this host can never satisfy it -> `redirect` to a peer ("local host cannot satisfy
 *    request"), else `rejected` with the reason;
 * 3. it is queued (replacing the owner's queued entry in place) and a grant pass runs with the
 *    same `now`; if the pass grants it -> `run_now` ("compute slot granted"). Older queued
 *    requests that fit are granted first (as `grant` effects): oldest-fit order is exact;
 * 4. a projected peer can run it now and its redirect cooldown has passed -> `redirect`
 *    ("peer host currently has capacity"; with `capacity_offers`, only into capacity the peer
 *    offered to this host);
 * 5. otherwise it stays queued -> `sleep` ("queued for compute slot").
 */
import { buildHostStatus, eligibleCpuIds } from './host-status.ts';
import {
  MSG,
  baseReply,
  cooldownReady,
  dropQueued,
  enqueue,
  grantPass,
  leaseReply,
  pruneShadows,
  redirectPass,
  redirectReply,
  refreshAffinity,
  reinsert,
  withCurrentMask,
} from './passes.ts';
import { everReason, runNowBlockers, type Blocker } from './predicates.ts';
import { normalizeRequest, sameOwner } from './request.ts';
import { gossipPayload as payloadOf } from './peers.ts';
import { chooseTarget, computeOffers, projectReservation, projectedPeers, shadowFor } from './spillover.ts';
import { Draft } from './state.ts';
import { addSample, finishUsage, pushHistory, usageDue } from './usage.ts';
import type {
  ComputeSlotRequest,
  ComputeSlotRequestIn,
  FinishReason,
  FinishedUsage,
  HostSample,
  Lease,
  PeerStatusIn,
  QueueEntry,
  SchedulerContext,
  SchedulerEffect,
  SchedulerHostStatus,
  SchedulerState,
  SlotDecisionReply,
  UsageSample,
} from './types.ts';

// ---- request_slot --------------------------------------------------------------------------------

export interface RequestSlotResult {
  state: SchedulerState;
  /** The answer to the requesting job. */
  reply: SlotDecisionReply;
  /** The normalized request. */
  request: ComputeSlotRequest;
  /** Grants of older queued requests made by the same pass, affinity changes. */
  effects: SchedulerEffect[];
  /** When the caller should run `tick` next at the latest (`null`: only the fallback loop). */
  next_tick_at: number | null;
}

/** `request_slot`: decide for one request on this host. */
export function requestSlot(ctx: SchedulerContext, state: SchedulerState, sample: HostSample, raw: ComputeSlotRequestIn, now: number): RequestSlotResult {
  const settings = ctx.settings;
  const d = new Draft(state);
  d.count('requests');
  const req = normalizeRequest(raw, { newId: ctx.newId, selfUrl: state.host_url, now });
  const workDir = sample.work_dir_base ?? '';
  const done = (reply: SlotDecisionReply, effects: SchedulerEffect[] = []): RequestSlotResult => {
    const next = d.done();
    return { state: next, reply, request: req, effects, next_tick_at: nextTickAt(ctx, next, now, false) };
  };

  // 1. Lease reuse: a job that re-requests (wakeup, restart, retry) gets its lease back.
  const held = d.s.leases.find((l) => sameOwner(l.request, req));
  if (held) {
    dropQueued(d, req);
    d.count('run_now');
    return done(leaseReply(d.s, held, MSG.existingLease, workDir));
  }

  // 2. Never here: send it to a peer that can run it (now, else some day), or reject.
  const status = buildHostStatus(settings, d.s, sample);
  const never = everReason(status, req);
  if (never !== null) {
    dropQueued(d, req);
    const peers = projectedPeers(settings, d.s, now);
    const opts = { selfUrl: d.s.host_url, avoidUrl: req.last_redirect_from_host_url };
    let i = chooseTarget(peers, req, { ...opts, mode: 'now' });
    if (i < 0) i = chooseTarget(peers, req, { ...opts, mode: 'ever' });
    if (i < 0) {
      d.count('rejected');
      return done(baseReply(d.s, 'rejected', req, never, workDir));
    }
    const target = peers[i]!;
    if (settings.shadow_reservation_seconds > 0) d.list('shadows').push(shadowFor(settings, req, target.host_url, now));
    d.count('redirected');
    return done(redirectReply(d.s, req, target, MSG.localCannotSatisfy));
  }

  // 3. Queue it and run a grant pass: older fitting requests go first.
  const entry = enqueue(d, req, now);
  const pass = grantPass(ctx, d, sample, now, req.request_id);
  const eligible = eligibleCpuIds(sample);
  if (pass.own) {
    const affinity = refreshAffinity(d, eligible);
    d.count('run_now');
    const lease = d.s.leases.find((l) => l.lease_id === pass.own!.lease_id) ?? pass.own;
    return done(leaseReply(d.s, lease, MSG.granted, workDir), [...finishGrants(d, pass.effects), ...affinity]);
  }
  const affinity = refreshAffinity(d, eligible);
  const effects = [...finishGrants(d, pass.effects), ...affinity];
  if (pass.ownNoCpuIds) {
    d.count('rejected');
    return done(baseReply(d.s, 'rejected', req, MSG.noCpuIds, workDir), effects);
  }

  // 4. A peer can run it now (and it is not cooling down from a redirect to here).
  const queued = d.s.queue.find((e) => e.request.request_id === req.request_id) ?? entry;
  if (cooldownReady(settings, queued, now)) {
    const peers = projectedPeers(settings, d.s, now, true);
    const i = chooseTarget(peers, req, { selfUrl: d.s.host_url, avoidUrl: req.last_redirect_from_host_url, mode: 'now' });
    if (i >= 0) {
      const target = peers[i]!;
      dropQueued(d, req);
      if (settings.shadow_reservation_seconds > 0) d.list('shadows').push(shadowFor(settings, req, target.host_url, now));
      d.count('redirected');
      return done(redirectReply(d.s, req, target, MSG.peerHasCapacity), effects);
    }
  }

  // 5. Wait here.
  d.count('queued');
  const position = d.s.queue.findIndex((e) => e.request.request_id === req.request_id) + 1;
  return done({ ...baseReply(d.s, 'sleep', req, MSG.queued, workDir), queue_position: position > 0 ? position : null }, effects);
}

/** Grant replies carry the masks after the affinity refresh of their pass. */
function finishGrants(d: Draft, effects: SchedulerEffect[]): SchedulerEffect[] {
  return effects.map((e) => (e.type === 'grant' ? { ...e, reply: withCurrentMask(d, e.reply) } : e));
}

// ---- tick ----------------------------------------------------------------------------------------

export interface TickOptions {
  /**
   * Whether a job agent is still active on this host: `true`, `false`, or `null`/`undefined`
   * when unknown (a failed check counts as active, so a reservation is never freed by mistake).
   */
  agentActive?: (agentId: string) => boolean | null | undefined;
  /** Skip the redirect pass (e.g. a grant-only pass triggered by a release). */
  grantsOnly?: boolean;
}

export interface TickResult {
  state: SchedulerState;
  /** In order: lease ends, grants, redirects, affinity changes. */
  effects: SchedulerEffect[];
  /** When to tick next at the latest (`null`: nothing pending but the fallback loop). */
  next_tick_at: number | null;
}

/**
 * One scheduling pass with one timestamp: expire leases, forget expired shadows, grant
 * oldest-fit requests, redirect a bounded share of the rest to peers, refresh elastic affinity.
 */
export function tick(ctx: SchedulerContext, state: SchedulerState, sample: HostSample, now: number, opts: TickOptions = {}): TickResult {
  const d = new Draft(state);
  const effects: SchedulerEffect[] = expireLeases(ctx, d, now, opts.agentActive);
  pruneShadows(d, now);
  const grants = grantPass(ctx, d, sample, now);
  const redirects = opts.grantsOnly ? { effects: [], capped: false } : redirectPass(ctx, d, sample, now, grants.status);
  const affinity = refreshAffinity(d, eligibleCpuIds(sample));
  effects.push(...finishGrants(d, grants.effects), ...redirects.effects, ...affinity);
  const next = d.done();
  return { state: next, effects, next_tick_at: nextTickAt(ctx, next, now, grants.capped || redirects.capped) };
}

function expireLeases(ctx: SchedulerContext, d: Draft, now: number, agentActive: TickOptions['agentActive']): SchedulerEffect[] {
  const settings = ctx.settings;
  const effects: SchedulerEffect[] = [];
  const leases = d.s.leases;
  let touched = false;
  for (const lease of leases) {
    if (lease.expires_at <= now || agentActive?.(lease.request.agent_id) === false) {
      touched = true;
      break;
    }
  }
  if (touched) {
    const kept: Lease[] = [];
    for (const lease of leases) {
      const active = agentActive?.(lease.request.agent_id);
      const expired = lease.expires_at <= now;
      if (expired && active !== false) {
        // A TTL is a stale-record safety net, never permission to free an active job's cores.
        kept.push({ ...lease, expires_at: now + settings.active_lease_extension_seconds, extensions: lease.extensions + 1 });
        d.count('extended');
      } else if (expired || active === false) {
        const reason: FinishReason = expired ? 'expired' : 'inactive';
        pushHistory(settings, d, finishUsage(lease, reason, now));
        d.count('expired');
        effects.push({ type: 'lease_ended', lease_id: lease.lease_id, agent_id: lease.request.agent_id, reason });
      } else kept.push(lease);
    }
    const list = d.list('leases');
    list.length = 0;
    list.push(...kept);
  }
  const retained = d.s.leases.filter((l) => l.extensions > 0).length;
  d.setError('compute-slots-expired-active-lease', retained > 0 ? `retained ${retained} expired active lease(s)` : null);
  return effects;
}

/** The latest time the next pass should run: a lease expiry, the grant interval, a cooldown end. */
export function nextTickAt(ctx: SchedulerContext, state: SchedulerState, now: number, capped: boolean): number | null {
  if (capped) return now;
  const settings = ctx.settings;
  let next = Number.POSITIVE_INFINITY;
  for (const l of state.leases) next = Math.min(next, l.expires_at);
  if (state.queue.length > 0) {
    if (settings.grant_interval > 0 && state.last_grant_at !== null) {
      const at = state.last_grant_at + settings.grant_interval;
      if (at > now) next = Math.min(next, at);
    }
    for (const e of state.queue) {
      if (e.cooldown_from === null) continue;
      const at = e.cooldown_from + settings.redirect_cooldown_seconds;
      if (at > now) next = Math.min(next, at);
    }
    for (const s of state.shadows) if (s.expires_at > now) next = Math.min(next, s.expires_at);
  }
  return Number.isFinite(next) ? next : null;
}

// ---- release, cancel, rollback ---------------------------------------------------------------------

export interface ReleaseSlotOptions {
  /** A current sample: with `grant_on_release` a grant pass runs at once; masks grow back. */
  sample?: HostSample | null;
  /** The final usage sample of the job. */
  final_usage?: UsageSample | null;
}

export interface ReleaseSlotResult {
  state: SchedulerState;
  /** The finished summary, `null` when no lease matched (release is idempotent). */
  released: FinishedUsage | null;
  effects: SchedulerEffect[];
  next_tick_at: number | null;
}

/** `release_slot{lease_id, agent_id}`: removes the lease if the agent matches (or is empty). */
export function releaseSlot(
  ctx: SchedulerContext,
  state: SchedulerState,
  release: { lease_id: string; agent_id?: string | null },
  now: number,
  opts: ReleaseSlotOptions = {},
): ReleaseSlotResult {
  const d = new Draft(state);
  const at = state.leases.findIndex((l) => l.lease_id === release.lease_id && (!release.agent_id || l.request.agent_id === release.agent_id));
  let released: FinishedUsage | null = null;
  if (at >= 0) {
    const lease = state.leases[at]!;
    d.list('leases').splice(at, 1);
    released = finishUsage(lease, 'released', now, opts.final_usage);
    pushHistory(ctx.settings, d, released);
    d.count('released');
  }
  const effects: SchedulerEffect[] = [];
  let capped = false;
  if (opts.sample && released) {
    if (ctx.settings.grant_on_release) {
      const pass = grantPass(ctx, d, opts.sample, now);
      capped = pass.capped;
      effects.push(...pass.effects);
    }
    const affinity = refreshAffinity(d, eligibleCpuIds(opts.sample));
    effects.splice(0, effects.length, ...finishGrants(d, effects), ...affinity);
  }
  const next = d.done();
  return { state: next, released, effects, next_tick_at: nextTickAt(ctx, next, now, capped) };
}

export interface CancelFilter {
  request_ids?: readonly string[];
  agent_ids?: readonly string[];
  job_ids?: readonly string[];
  all?: boolean;
  /** Also remove matching leases (finish reason `cancelled`). */
  include_leases?: boolean;
}

export interface CancelResult {
  state: SchedulerState;
  cancelled_requests: string[];
  cancelled_leases: string[];
  effects: SchedulerEffect[];
}

/** `cancel_slot_requests`: removes matching queued requests (and leases if asked); no filter is a no-op. */
export function cancelSlotRequests(ctx: SchedulerContext, state: SchedulerState, filter: CancelFilter, now: number): CancelResult {
  const reqIds = new Set(filter.request_ids ?? []);
  const agentIds = new Set(filter.agent_ids ?? []);
  const jobIds = new Set(filter.job_ids ?? []);
  const all = filter.all === true;
  const out: CancelResult = { state, cancelled_requests: [], cancelled_leases: [], effects: [] };
  if (!all && reqIds.size === 0 && agentIds.size === 0 && jobIds.size === 0) return out;
  const match = (r: ComputeSlotRequest): boolean => all || reqIds.has(r.request_id) || (r.agent_id !== '' && agentIds.has(r.agent_id)) || (r.job_id !== '' && jobIds.has(r.job_id));
  const d = new Draft(state);
  if (state.queue.some((e) => match(e.request))) {
    const list = d.list('queue');
    const kept = list.filter((e) => !match(e.request));
    for (const e of list) if (match(e.request)) out.cancelled_requests.push(e.request.request_id);
    list.length = 0;
    list.push(...kept);
  }
  if (filter.include_leases && state.leases.some((l) => match(l.request))) {
    const list = d.list('leases');
    const kept: Lease[] = [];
    for (const lease of list) {
      if (!match(lease.request)) {
        kept.push(lease);
        continue;
      }
      out.cancelled_leases.push(lease.lease_id);
      pushHistory(ctx.settings, d, finishUsage(lease, 'cancelled', now));
      out.effects.push({ type: 'lease_ended', lease_id: lease.lease_id, agent_id: lease.request.agent_id, reason: 'cancelled' });
    }
    list.length = 0;
    list.push(...kept);
  }
  out.state = d.done();
  return out;
}

/**
 * Undo a `grant` effect whose message could not be delivered: the lease goes, the request goes
 * back to its queue position, and `last_grant_at` falls back to its value before the pass when
 * no other lease of that pass remains.
 */
export function rollbackGrant(ctx: SchedulerContext, state: SchedulerState, effect: Extract<SchedulerEffect, { type: 'grant' }>, sample?: HostSample | null): { state: SchedulerState; effects: SchedulerEffect[] } {
  const d = new Draft(state);
  const at = state.leases.findIndex((l) => l.lease_id === effect.reply.lease_id);
  if (at < 0) return { state, effects: [] };
  const lease = state.leases[at]!;
  d.list('leases').splice(at, 1);
  if (state.last_grant_at === lease.granted_at && !d.s.leases.some((l) => l.granted_at === lease.granted_at)) d.set('last_grant_at', effect.previous_last_grant_at);
  reinsert(d, effect.entry);
  d.count('rollbacks');
  const effects = sample ? refreshAffinity(d, eligibleCpuIds(sample)) : [];
  return { state: d.done(), effects };
}

/** Undo a `redirect` effect whose message could not be delivered: back in the queue, shadow dropped. */
export function rollbackRedirect(state: SchedulerState, effect: Extract<SchedulerEffect, { type: 'redirect' }>): SchedulerState {
  const d = new Draft(state);
  reinsert(d, effect.entry);
  const i = state.shadows.findIndex((s) => s.request_id === effect.entry.request.request_id && s.host_url === effect.reply.host_url);
  if (i >= 0) d.list('shadows').splice(i, 1);
  d.count('rollbacks');
  return d.done();
}

// ---- affinity and usage reports ------------------------------------------------------------------

/** Records the outcome of an `apply_affinity` effect. */
export function recordAffinityResult(
  state: SchedulerState,
  leaseId: string,
  result: { cpu_core_ids: readonly number[]; enforced: boolean; error?: string | null },
): SchedulerState {
  const at = state.leases.findIndex((l) => l.lease_id === leaseId);
  if (at < 0) return state;
  const d = new Draft(state);
  const lease = state.leases[at]!;
  d.list('leases')[at] = {
    ...lease,
    applied_cpu_ids: result.enforced ? [...result.cpu_core_ids] : lease.applied_cpu_ids,
    cpu_affinity_enforced: result.enforced,
    cpu_affinity_error: result.error ?? null,
  };
  return d.done();
}

/** Leases due for a usage sample (`usage_sample_interval` since their last one). */
export function usageSamplesDue(ctx: SchedulerContext, state: SchedulerState, now: number): { lease_id: string; agent_id: string }[] {
  return state.leases.filter((l) => usageDue(ctx.settings, l, now)).map((l) => ({ lease_id: l.lease_id, agent_id: l.request.agent_id }));
}

/** Records one usage sample of a running job. */
export function recordUsageSample(state: SchedulerState, leaseId: string, sample: UsageSample, now: number): SchedulerState {
  const at = state.leases.findIndex((l) => l.lease_id === leaseId);
  if (at < 0) return state;
  const d = new Draft(state);
  const lease = state.leases[at]!;
  d.list('leases')[at] = { ...lease, usage: addSample(lease.usage, sample, now) };
  return d.done();
}

// ---- views ---------------------------------------------------------------------------------------

export interface StatusOptions {
  include_queue?: boolean;
  include_jobs?: boolean;
  include_usage?: boolean;
  include_usage_history?: boolean;
}

export interface ActiveJob {
  lease_id: string;
  agent_id: string;
  job_id: string;
  agent_class: string | null;
  cpu_cores: number;
  memory_bytes: number;
  temp_storage_bytes: number;
  granted_at: number;
  expires_at: number;
  runtime_seconds: number;
  cpu_core_ids: number[];
  usage?: Lease['usage'];
}

export interface SchedulerStatusReply {
  status: SchedulerHostStatus;
  queued_requests: (QueueEntry & { position: number })[];
  leases: Lease[];
  active_jobs: ActiveJob[];
  finished_usage: FinishedUsage[];
  errors: Record<string, string>;
  counters: SchedulerState['counters'];
}

/**
 * This host's status as peers should see it (gossip, `scheduler_status`): with `capacity_offers`,
 * it carries the cores offered to particular peers with waiting jobs.
 */
export function statusForPeers(ctx: { readonly settings: SchedulerContext['settings'] }, state: SchedulerState, sample: HostSample, now: number): SchedulerHostStatus {
  const status = buildHostStatus(ctx.settings, state, sample);
  status.offers = computeOffers(ctx.settings, state, status, now);
  return status;
}

/**
 * What this host sends (and answers) in a status exchange: its own status (age 0) followed by the
 * fresh peer statuses it holds, each with its current age. An own status without offers computed
 * (from `buildHostStatus`) gets them here, as `statusForPeers` would add them.
 */
export function gossipPayload(ctx: { readonly settings: SchedulerContext['settings'] }, state: SchedulerState, own: SchedulerHostStatus, now: number): PeerStatusIn[] {
  const status = own.offers === undefined ? { ...own, offers: computeOffers(ctx.settings, state, own, now) } : own;
  return payloadOf(ctx, state, status, now);
}

/** `scheduler_status`: this host's status (as peers see it), plus queue/leases/jobs/history on request. */
export function schedulerStatus(ctx: SchedulerContext, state: SchedulerState, sample: HostSample, now: number, opts: StatusOptions = {}): SchedulerStatusReply {
  return {
    status: statusForPeers(ctx, state, sample, now),
    queued_requests: opts.include_queue ? state.queue.map((e, i) => ({ ...e, position: i + 1 })) : [],
    leases: opts.include_queue ? [...state.leases] : [],
    active_jobs: opts.include_jobs
      ? state.leases.map((l) => ({
          lease_id: l.lease_id,
          agent_id: l.request.agent_id,
          job_id: l.request.job_id,
          agent_class: l.request.agent_class,
          cpu_cores: l.request.cpu_cores,
          memory_bytes: l.request.memory_bytes,
          temp_storage_bytes: l.request.temp_storage_bytes,
          granted_at: l.granted_at,
          expires_at: l.expires_at,
          runtime_seconds: Math.max(0, now - l.granted_at),
          cpu_core_ids: [...l.affinity_cpu_ids],
          ...(opts.include_usage ? { usage: l.usage } : {}),
        }))
      : [],
    finished_usage: opts.include_usage_history ? [...state.finished] : [],
    errors: { ...state.errors },
    counters: { ...state.counters },
  };
}

export interface QueueExplanation {
  position: number;
  request_id: string;
  agent_id: string;
  job_id: string;
  /** It fits now (after the requests before it that fit took their share). */
  grantable: boolean;
  blockers: Blocker[];
}

/** `jobs why`: per queued request, what blocks it; grantable ones reserve before the next is judged. */
export function explainQueue(ctx: SchedulerContext, state: SchedulerState, sample: HostSample): QueueExplanation[] {
  let status = buildHostStatus(ctx.settings, state, sample);
  return state.queue.map((e, i) => {
    const blockers = runNowBlockers(status, e.request);
    const grantable = blockers.length === 0;
    if (grantable) status = projectReservation(status, e.request.cpu_cores, e.request.memory_bytes, e.request.temp_storage_bytes, e.request.estimated_runtime_seconds);
    return { position: i + 1, request_id: e.request.request_id, agent_id: e.request.agent_id, job_id: e.request.job_id, grantable, blockers };
  });
}

// ---- public surface ------------------------------------------------------------------------------

export { allocateCpuIds, elasticMasks } from './affinity.ts';
export { buildHostStatus, eligibleCpuIds, withReservation } from './host-status.ts';
export { MSG as SCHEDULER_MESSAGES, leaseTtl } from './passes.ts';
export { acceptPeerStatuses, freshPeers, gossipTargets, peerAge, prunePeers } from './peers.ts';
export { candidateHosts, selectionIndex, type CandidateHost, type CandidateHostsOptions, type CandidateHostsReply } from './placement.ts';
export { agedBackfill, computeBackfill, consumeBackfill } from './reservation.ts';
export {
  backfillAllows,
  canEverSatisfy,
  canRunNow,
  everReason,
  everReasons,
  fitsFree,
  formatBytes,
  hasBurstHeadroom,
  healthReason,
  loadGateReason,
  runNowBlockers,
  runNowReason,
  scoreHost,
  type Blocker,
  type BlockerKind,
} from './predicates.ts';
export { normalizeRequest, ownerKeys, sameOwner, trimUrl, type NormalizeOptions } from './request.ts';
export { DEFAULT_PROFILE, PROFILES, SETTING_KINDS, resolveSettings, type SchedulerProfileName, type SchedulerSettings } from './settings.ts';
export { chooseTarget, computeOffers, projectedPeers, projectReservation, redirectBudget } from './spillover.ts';
export { createSchedulerState, emptyCounters, type SchedulerIdentity } from './state.ts';
export type {
  BackfillWindow,
  ComputeSlotRequest,
  ComputeSlotRequestIn,
  FinishReason,
  FinishedUsage,
  HostSample,
  Lease,
  PeerEntry,
  PeerStatusIn,
  QueueEntry,
  SchedulerContext,
  SchedulerCounters,
  SchedulerEffect,
  SchedulerHostStatus,
  SchedulerState,
  ShadowReservation,
  SlotDecision,
  SlotDecisionReply,
  UsageRecord,
  UsageSample,
} from './types.ts';
