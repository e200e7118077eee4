/**
 * Data model of the compute-slots scheduler core: requests, host status, leases, queue
 * entries, peer statuses, usage records, the persisted scheduler state and the effects the
 * core asks its caller to perform.
 *
 * Everything here is a plain JSON value (no class instances, no `Map`/`Set`, no `undefined`
 * that matters): the state is stored as-is in SQLite by the service around the core and must
 * load again after a restart. Field names are `snake_case` because requests, replies and host
 * statuses travel on the wire unchanged.
 *
 * Times are seconds since the epoch on the **local** clock of the host that owns the state
 * (the caller passes `now`); durations are seconds. Times of other hosts are never compared
 * with local times, except where a field says so explicitly.
 */
import type { SchedulerSettings } from './settings.ts';

/** The four answers of `request_slot`. */
export type SlotDecision = 'run_now' | 'sleep' | 'redirect' | 'rejected';

/** Why a lease ended (kept in finished usage records). */
export type FinishReason = 'released' | 'cancelled' | 'expired' | 'inactive';

/**
 * A slot request as a job sends it: every field optional, values are coerced by
 * `normalizeRequest`. Unknown fields are ignored, so newer clients can send more.
 */
export interface ComputeSlotRequestIn {
  request_id?: string | null;
  agent_id?: string | null;
  agent_host_url?: string | null;
  job_id?: string | null;
  /** Class reference of the job agent, kept for `jobs history` only. */
  agent_class?: string | null;
  cpu_cores?: number | null;
  memory_bytes?: number | null;
  temp_storage_bytes?: number | null;
  estimated_runtime_seconds?: number | null;
  requires_gpu?: boolean | null;
  gpu_memory_mb?: number | null;
  required_host_tags?: readonly string[] | null;
  excluded_host_tags?: readonly string[] | null;
  preferred_host_tags?: readonly string[] | null;
  excluded_host_names?: readonly string[] | null;
  excluded_host_urls?: readonly string[] | null;
  /**
   * Platform properties the job asks for (NativeLink-style `minimum`/`exact`/`priority`/
   * `ignore` matching is a later option of this core; v1 carries them without matching).
   */
  platform_properties?: Readonly<Record<string, string | number | boolean>> | null;
  /** Seconds on the submitter's clock; informational only (queue order is local arrival). */
  submitted_at?: number | null;
  redirect_count?: number | null;
  /** Seconds on the redirecting host's clock; informational (cooldown uses local arrival). */
  last_redirect_at?: number | null;
  last_redirect_from_host_url?: string | null;
  /** Size of the window `candidate_hosts` selects from (request field, as in paglets). */
  placement_sample_size?: number | null;
}

/** A request after `normalizeRequest`: every field present, lists lowercased and sorted. */
export interface ComputeSlotRequest {
  request_id: string;
  agent_id: string;
  agent_host_url: string;
  job_id: string;
  agent_class: string | null;
  cpu_cores: number;
  memory_bytes: number;
  temp_storage_bytes: number;
  estimated_runtime_seconds: number;
  requires_gpu: boolean;
  gpu_memory_mb: number;
  required_host_tags: string[];
  excluded_host_tags: string[];
  preferred_host_tags: string[];
  excluded_host_names: string[];
  excluded_host_urls: string[];
  platform_properties: Record<string, string>;
  submitted_at: number;
  redirect_count: number;
  last_redirect_at: number | null;
  last_redirect_from_host_url: string | null;
  placement_sample_size: number | null;
}

/**
 * What the service samples from the local host (server-info) before calling the core.
 * Unknown measurements are `null`; sampling failures go to `errors`.
 */
export interface HostSample {
  /** Local clock, seconds. */
  observed_at: number;
  cpu_count_logical: number | null;
  /**
   * CPU ids this process may run on (Linux: current affinity set). `null` when the platform
   * cannot tell: then `0..cpu_count_logical-1` are eligible and affinity is unsupported.
   */
  eligible_cpu_ids?: readonly number[] | null;
  /** Whether the host can pin a job's process to CPU ids. Default: `eligible_cpu_ids != null`. */
  cpu_affinity_supported?: boolean | null;
  cpu_percent?: number | null;
  /** 1, 5 and 15 minute load averages (only the first is used). */
  load_average?: readonly number[] | null;
  memory_total?: number | null;
  /** Available RAM (reclaimable cache counts as available), not merely free RAM. */
  memory_available?: number | null;
  /** Base directory of job work dirs; temp storage is measured on its volume. */
  work_dir_base?: string | null;
  work_total?: number | null;
  work_free?: number | null;
  host_tags?: readonly string[] | null;
  host_properties?: Readonly<Record<string, string>> | null;
  /** Overrides `settings.supports_cpu_jobs` / `supports_gpu_jobs` when given. */
  supports_cpu_jobs?: boolean | null;
  supports_gpu_jobs?: boolean | null;
  errors?: readonly string[] | null;
}

/**
 * A reservation for the oldest waiting request that does not fit (EASY backfill, see
 * `reservation.ts`): later requests start now only beside it or when they end inside the window.
 */
export interface BackfillWindow {
  request_id: string;
  cpu_cores: number;
  memory_bytes: number;
  temp_storage_bytes: number;
  /** Seconds from the status observation until the reserved request is expected to fit. */
  window_seconds: number;
  /** Free now and still free beside the reserved request when it starts: usable by any later request. */
  extra_cpu_cores: number;
  extra_memory_bytes: number | null;
  extra_temp_storage_bytes: number | null;
}

/**
 * A scheduler's view of one host, as `scheduler_status` reports it and as peers exchange it.
 * Built from a `HostSample` plus the scheduler's own reservations by `buildHostStatus`.
 */
export interface SchedulerHostStatus {
  host_name: string;
  host_url: string;
  /** Seconds on the described host's clock; only compared with the same host's values. */
  observed_at: number;
  supports_cpu_jobs: boolean;
  supports_gpu_jobs: boolean;
  cpu_count_logical: number | null;
  cpu_affinity_supported: boolean;
  eligible_cpu_ids: number[];
  cpu_percent: number | null;
  load_average: number[] | null;
  load_per_cpu: number | null;
  /** The load gate of this host (0 = off). */
  max_load_per_cpu: number;
  memory_total: number | null;
  memory_available: number | null;
  work_dir_base: string;
  work_total: number | null;
  work_free: number | null;
  queue_length: number;
  /** Cores the waiting requests ask for (sum of max(1, cores)); older peers omit it. */
  queued_cpu_cores?: number;
  active_leases: number;
  /** 0 = unlimited. */
  max_active_leases: number;
  host_tags: string[];
  host_properties: Record<string, string>;
  reserved_cpu_cores: number;
  reserved_memory_bytes: number;
  reserved_temp_storage_bytes: number;
  /** |eligible ids| - sum(max(1, cores)) of active leases; 0 once `max_active_leases` is reached. */
  free_cpu_cores: number;
  /** Available RAM - reserved RAM (`null` when RAM is unknown). */
  free_memory_bytes: number | null;
  /** Free bytes of the work volume - reserved temp storage (`null` when unknown). */
  free_temp_storage_bytes: number | null;
  /** Capacity reserved for a starving request (`null`/missing: none; older peers omit it). */
  backfill?: BackfillWindow | null;
  /**
   * Cores offered to peers with waiting jobs, by peer URL (`capacity_offers`), present only while
   * this host's free cores are contended (less than the queued demand it sees). Missing or `null`:
   * its free cores are open to any peer (also what older versions send).
   */
  offers?: Record<string, number> | null;
  errors: string[];
}

/** A status as gossip carries it: with its age on the sender's clock (never its wall time). */
export interface PeerStatusIn {
  status: SchedulerHostStatus;
  /** Sender's view of the status age; when missing, `now - observed_at` is used (clock-skew prone). */
  age_seconds?: number | null;
}

/** A peer status held in state. */
export interface PeerEntry {
  status: SchedulerHostStatus;
  /** Age when it arrived. */
  age_at_receipt: number;
  /** Local clock when it arrived. */
  received_at: number;
}

/** One usage sample of a running job (all optional: the sampler fills what it can). */
export interface UsageSample {
  process_status?: string | null;
  cpu_percent?: number | null;
  rss_bytes?: number | null;
  memory_percent?: number | null;
  tree_rss_bytes?: number | null;
  tree_process_count?: number | null;
  work_dir_bytes?: number | null;
  work_dir_files?: number | null;
  extra_bytes?: number | null;
}

/** Usage of a job while it holds a lease: current values and maxima. */
export interface UsageRecord {
  current: UsageSample | null;
  sample_count: number;
  first_sample_at: number | null;
  last_sample_at: number | null;
  max_cpu_percent: number;
  max_rss_bytes: number;
  max_tree_rss_bytes: number;
  max_work_dir_bytes: number;
  max_extra_bytes: number;
  max_total_work_bytes: number;
}

/** A finished job's usage summary (the bounded `finished` history). */
export interface FinishedUsage extends UsageRecord {
  lease_id: string;
  request_id: string;
  agent_id: string;
  job_id: string;
  agent_class: string | null;
  cpu_cores: number;
  memory_bytes: number;
  temp_storage_bytes: number;
  granted_at: number;
  finished_at: number;
  finish_reason: FinishReason;
  runtime_seconds: number;
}

/** A local reservation of CPU cores, RAM and temp storage for one job. */
export interface Lease {
  lease_id: string;
  request: ComputeSlotRequest;
  granted_at: number;
  expires_at: number;
  /** How many times an expired lease of a still-active job was extended. */
  extensions: number;
  cpu_affinity_supported: boolean;
  /** The guaranteed floor: CPU ids reserved for this lease (empty without affinity). */
  cpu_core_ids: number[];
  /** The current (elastic) mask: the floor plus idle CPUs dealt round-robin. */
  affinity_cpu_ids: number[];
  /** Last mask the host reported as applied (`null` = never applied). */
  applied_cpu_ids: number[] | null;
  cpu_affinity_enforced: boolean;
  cpu_affinity_error: string | null;
  usage: UsageRecord;
}

/** A waiting request. */
export interface QueueEntry {
  /** Local arrival order; the queue is sorted by it (oldest first). */
  seq: number;
  /** Local clock at first arrival on this host (kept when the same owner re-requests). */
  queued_at: number;
  /**
   * Local clock from which the redirect cooldown counts, or `null` when the request was never
   * redirected. Set at arrival of a redirected request: the local arrival is never earlier than
   * the redirect itself, so no other host's clock is needed.
   */
  cooldown_from: number | null;
  request: ComputeSlotRequest;
}

/** Capacity subtracted from a peer's projected status after a redirect to it. */
export interface ShadowReservation {
  host_url: string;
  request_id: string;
  cpu_cores: number;
  memory_bytes: number;
  temp_storage_bytes: number;
  estimated_runtime_seconds: number;
  created_at: number;
  expires_at: number;
}

/** Counters since the state was created (diagnostics and benchmarks). */
export interface SchedulerCounters {
  requests: number;
  run_now: number;
  queued: number;
  redirected: number;
  rejected: number;
  granted_from_queue: number;
  spilled: number;
  released: number;
  expired: number;
  extended: number;
  rollbacks: number;
}

/** The whole persisted state of one host's scheduler. */
export interface SchedulerState {
  version: 1;
  host_name: string;
  host_url: string;
  /** Next queue sequence number. */
  next_seq: number;
  /** Waiting requests, oldest first (ascending `seq`). */
  queue: QueueEntry[];
  /** Active leases, in grant order. */
  leases: Lease[];
  /** Local clock of the last grant (`null` = never). */
  last_grant_at: number | null;
  /** Peer statuses, one per host URL, sorted by URL. */
  peers: PeerEntry[];
  shadows: ShadowReservation[];
  /** Finished usage summaries, oldest first, at most `usage_history_limit`. */
  finished: FinishedUsage[];
  /** Rotating position for bounded gossip fan-out. */
  gossip_cursor: number;
  /** Diagnostics keyed by topic (e.g. `compute-slots-expired-active-lease`). */
  errors: Record<string, string>;
  counters: SchedulerCounters;
}

/** The reply of `request_slot`, also the payload of `compute_slot_granted`/`compute_slot_redirect`. */
export interface SlotDecisionReply {
  decision: SlotDecision;
  request_id: string;
  lease_id: string | null;
  /** Granting host for `run_now`/`sleep`/`rejected`; the target for `redirect`. */
  host_name: string;
  host_url: string;
  work_dir_base: string;
  message: string;
  /** Redirect count the job should store (incremented for a redirect). */
  redirect_count: number;
  /** The redirecting host (this host) for a redirect, else `null`. */
  redirected_from_host_url: string | null;
  cpu_core_ids: number[];
  cpu_affinity_supported: boolean;
  cpu_affinity_enforced: boolean;
  cpu_affinity_error: string | null;
  /** Lease expiry (local clock of the granting host) for `run_now`. */
  expires_at: number | null;
  /** Queue position (1 = next) for `sleep`. */
  queue_position: number | null;
}

/**
 * Side effects the caller performs after a core call, in order. Grants and redirects are
 * already applied to the returned state (request dequeued, lease created); when delivering the
 * message fails, the caller hands the effect back to `rollbackGrant` / `rollbackRedirect`.
 */
export type SchedulerEffect =
  | {
      type: 'grant';
      /** Send `compute_slot_granted` (oneway, activate if inactive) with `reply` to the agent. */
      agent_id: string;
      agent_host_url: string;
      reply: SlotDecisionReply;
      /** The dequeued entry and the previous `last_grant_at`, for rollback. */
      entry: QueueEntry;
      previous_last_grant_at: number | null;
    }
  | {
      type: 'redirect';
      /** Send `compute_slot_redirect` (oneway, activate if inactive) with `reply` to the agent. */
      agent_id: string;
      agent_host_url: string;
      reply: SlotDecisionReply;
      entry: QueueEntry;
    }
  | {
      type: 'apply_affinity';
      /** Pin the job's process to `cpu_core_ids`, then report with `recordAffinityResult`. */
      lease_id: string;
      agent_id: string;
      cpu_core_ids: number[];
    }
  | {
      type: 'lease_ended';
      /** Informational: a lease was removed by expiry, inactivity or cancel. */
      lease_id: string;
      agent_id: string;
      reason: FinishReason;
    }
  | {
      type: 'dequeued';
      /** Informational: a queued request was dropped without a message. */
      request_id: string;
      agent_id: string;
      reason: string;
    };

/** The injected environment of every core call that may create ids. */
export interface SchedulerContext {
  readonly settings: SchedulerSettings;
  /**
   * A fresh unique id (e.g. 32 hex digits). Used for generated request ids and, prefixed with
   * `slot-`, for lease ids. Must be unique across hosts: request ids travel with redirects.
   */
  readonly newId: () => string;
}
