/**
 * `ComputeJobAgent`: the base class of compute jobs. It owns the scheduling protocol — resource
 * validation, placement (candidate hosts, dispatch), slot requests, sleeping until granted,
 * redirects, the automatic lease release and restart after a host restart — so a job only
 * implements `runComputeJob()` and, if it likes, the success/failure hooks.
 *
 * ```ts
 * class Square extends ComputeJobAgent<ComputeJobState & { n: number; result: number | null }> {
 *   static override defaultState = { ...COMPUTE_JOB_DEFAULTS, n: 0, result: null, allow_home_compute: true };
 *   override async runComputeJob() { this.state.result = this.state.n ** 2; }
 * }
 * ```
 *
 * Lifecycle (`compute_status`): NEW → PLACING → [WAITING_FOR_SLOT] → RUNNING → COMPLETED | FAILED_FINAL.
 */
import { Agent, type PersistencyEvent } from '../core/agent.ts';
import type { DeactivationPolicy, DeactivationRequest } from '../core/deactivation.ts';
import type { Message } from '../core/message.ts';
import { COMPUTE_SLOTS_AGENT_ID, ComputeSlotsContract } from '../system/compute-slots/contract.ts';
import { selectionIndex, type CandidateHostsReply } from '../system/compute-slots/scheduler.ts';
import type { SlotDecisionReply } from '../system/compute-slots/types.ts';

export type ComputeStatus = 'NEW' | 'PLACING' | 'WAITING_FOR_SLOT' | 'RUNNING' | 'COMPLETED' | 'FAILED_FINAL';

/** Scheduler fields every compute job's state carries (the base class owns them). */
export interface ComputeJobState {
  home_host_name: string | null;
  home_host_url: string | null;
  compute_status: ComputeStatus;
  compute_error: string | null;
  /** Logical CPU cores reserved for the job (the scheduler's admission counter). */
  cpu_cores: number;
  /** Expected peak RAM. Must be > 0 unless `allow_zero_memory_bytes`. */
  memory_bytes: number;
  temp_storage_bytes: number;
  /** Used for the lease TTL. Must be > 0 unless `allow_zero_runtime_seconds`. */
  estimated_runtime_seconds: number;
  allow_zero_memory_bytes: boolean;
  allow_zero_runtime_seconds: boolean;
  /** Whether the job may run on the host it was created on. */
  allow_home_compute: boolean;
  required_host_tags: string[];
  excluded_host_tags: string[];
  preferred_host_tags: string[];
  excluded_host_names: string[];
  excluded_host_urls: string[];
  candidate_limit: number;
  scheduler_timeout_seconds: number;
  release_timeout_seconds: number;
  selected_host_url: string | null;
  slot_request_id: string | null;
  slot_lease_id: string | null;
  redirect_count: number;
  last_redirect_at: number | null;
  last_redirect_from_host_url: string | null;
  cpu_core_ids: number[];
  cpu_affinity_supported: boolean;
  cpu_affinity_enforced: boolean;
  cpu_affinity_error: string | null;
  /** A host shutdown while RUNNING restarts the job from its submitted state. */
  restart_running_on_host_startup: boolean;
  /** The submitted state (taken at creation), for restarts. */
  restart_initial_state: Record<string, unknown> | null;
}

export const COMPUTE_JOB_DEFAULTS: ComputeJobState = {
  home_host_name: null,
  home_host_url: null,
  compute_status: 'NEW',
  compute_error: null,
  cpu_cores: 1,
  memory_bytes: 0,
  temp_storage_bytes: 0,
  estimated_runtime_seconds: 0,
  allow_zero_memory_bytes: false,
  allow_zero_runtime_seconds: false,
  allow_home_compute: false,
  required_host_tags: [],
  excluded_host_tags: [],
  preferred_host_tags: [],
  excluded_host_names: [],
  excluded_host_urls: [],
  candidate_limit: 8,
  scheduler_timeout_seconds: 5,
  release_timeout_seconds: 2,
  selected_host_url: null,
  slot_request_id: null,
  slot_lease_id: null,
  redirect_count: 0,
  last_redirect_at: null,
  last_redirect_from_host_url: null,
  cpu_core_ids: [],
  cpu_affinity_supported: false,
  cpu_affinity_enforced: false,
  cpu_affinity_error: null,
  restart_running_on_host_startup: true,
  restart_initial_state: null,
};

/** Fields the scheduler protocol resets on a restart. */
const SCHEDULER_FIELDS: (keyof ComputeJobState)[] = [
  'compute_status',
  'compute_error',
  'selected_host_url',
  'slot_request_id',
  'slot_lease_id',
  'redirect_count',
  'last_redirect_at',
  'last_redirect_from_host_url',
  'cpu_core_ids',
  'cpu_affinity_enforced',
  'cpu_affinity_error',
];

/** The validation rules, checked before any scheduler call. */
export function validateComputeState(s: ComputeJobState): string | null {
  if (!Number.isInteger(s.cpu_cores) || s.cpu_cores < 1) return 'cpu_cores must be at least 1';
  if (!(s.estimated_runtime_seconds > 0) && !(s.allow_zero_runtime_seconds && s.estimated_runtime_seconds === 0)) {
    return 'estimated_runtime_seconds must be greater than 0';
  }
  if (!(s.memory_bytes > 0) && !(s.allow_zero_memory_bytes && s.memory_bytes === 0)) return 'memory_bytes must be greater than 0';
  if (!(s.temp_storage_bytes >= 0)) return 'temp_storage_bytes must be 0 or more';
  return null;
}

const trim = (url: string | null | undefined): string => (url ?? '').replace(/\/+$/, '');

export abstract class ComputeJobAgent<S extends ComputeJobState = ComputeJobState> extends Agent<S> {
  static override defaultState: unknown = { ...COMPUTE_JOB_DEFAULTS };
  static override concurrency = 8;

  private worker: Promise<void> | undefined;
  /** A grant arrived while the worker was busy: run again if the job is RUNNING by then. */
  private again = false;
  /** Counts grant and redirect messages, so a slot reply that raced with one cannot undo it. */
  private signals = 0;
  /** This copy dispatched the job elsewhere: it must not start work again. */
  private moved = false;

  /** The job's work. Runs only after a slot was granted; the lease is released afterwards. */
  abstract runComputeJob(): void | Promise<void>;

  /** Called once, right after a successful run and the lease release. Default: continueAfterComputeSuccess(). */
  afterComputeSuccess(): void | Promise<void> {
    return this.continueAfterComputeSuccess();
  }
  /** Result return/commit logic; also runs again when a COMPLETED job wakes up. */
  continueAfterComputeSuccess(): void | Promise<void> {}
  /** Called when the job failed for good. */
  afterComputeFailure(_message: string): void | Promise<void> {}
  /** Extra paths (scratch dirs, files) the scheduler includes in usage samples. */
  computeUsagePaths(): string[] | Promise<string[]> {
    return [];
  }
  /** Messages the base class does not handle. */
  handleComputeJobMessage(message: Message): unknown {
    return this.notHandled(message.kind);
  }

  /** The scheduler's diagnostic label of this job. */
  computeJobId(): string {
    return `compute-job-${this.agentId}`;
  }

  override onCreation(_init: unknown): void | Promise<void> {
    // Keep what was submitted, so a host restart during RUNNING can start over cleanly.
    const { restart_initial_state: _snapshot, ...rest } = this.state;
    this.state.restart_initial_state = structuredClone(rest) as Record<string, unknown>;
  }

  override run(): void {
    this.startWorker();
  }

  /** A job that asked to sleep while waiting, but was granted meanwhile, stays awake. */
  override onDeactivating(event: PersistencyEvent): void {
    if (event.request?.metadata?.reason === 'waiting-for-slot' && this.state.compute_status !== 'WAITING_FOR_SLOT') {
      throw new Error('compute job was granted a slot while going to sleep; it stays active');
    }
  }

  override onActivation(_event: PersistencyEvent): void {
    if (this.state.compute_status === 'RUNNING') this.resetForRestart();
  }

  override deactivationPolicy(request: DeactivationRequest): Partial<DeactivationPolicy> | null {
    if (request.reason === 'shutdown' && this.state.compute_status === 'RUNNING' && this.state.restart_running_on_host_startup) {
      this.resetForRestart();
      return { activate_on_message: true, queue_messages_when_inactive: true, activate_on_startup: true };
    }
    if (request.reason === 'shutdown' && ['NEW', 'PLACING', 'WAITING_FOR_SLOT'].includes(this.state.compute_status)) {
      return { activate_on_message: true, queue_messages_when_inactive: true, activate_on_startup: true };
    }
    return request.policy;
  }

  private resetForRestart(): void {
    const snapshot = this.state.restart_initial_state;
    if (snapshot) Object.assign(this.state, structuredClone(snapshot), { restart_initial_state: snapshot });
    else for (const f of SCHEDULER_FIELDS) (this.state as Record<string, unknown>)[f] = structuredClone(COMPUTE_JOB_DEFAULTS[f]);
    this.state.compute_status = this.state.home_host_url && trim(this.state.home_host_url) !== trim(this.hostUrl) ? 'PLACING' : 'NEW';
    this.state.selected_host_url = null;
    this.state.slot_lease_id = null;
  }

  /** One worker at a time: run() and a grant message may both ask for it. */
  private startWorker(): void {
    if (this.worker) {
      this.again = true;
      return;
    }
    this.worker = this.step()
      .catch((err: unknown) => this.fail(err instanceof Error ? err.message : String(err)))
      .finally(() => {
        this.worker = undefined;
        const again = this.again;
        this.again = false;
        if (again && !this.moved && (this.state.compute_status === 'RUNNING' || this.state.compute_status === 'PLACING')) this.startWorker();
      });
  }

  private async step(): Promise<void> {
    switch (this.state.compute_status) {
      case 'NEW':
      case 'PLACING':
      case 'WAITING_FOR_SLOT':
        return this.placeOrRequest();
      case 'RUNNING':
        return this.compute();
      case 'COMPLETED':
        return this.continueAfterComputeSuccess();
      case 'FAILED_FINAL':
        return;
    }
  }

  private slots() {
    return ComputeSlotsContract.handle(this.context.getProxy(COMPUTE_SLOTS_AGENT_ID));
  }

  private slotRequest(): Record<string, unknown> {
    const s = this.state;
    return {
      request_id: s.slot_request_id,
      agent_id: this.agentId,
      agent_host_url: this.hostUrl,
      job_id: this.computeJobId(),
      agent_class: this.context.agentClass,
      cpu_cores: s.cpu_cores,
      memory_bytes: s.memory_bytes,
      temp_storage_bytes: s.temp_storage_bytes,
      estimated_runtime_seconds: s.estimated_runtime_seconds,
      required_host_tags: s.required_host_tags,
      excluded_host_tags: s.excluded_host_tags,
      preferred_host_tags: s.preferred_host_tags,
      excluded_host_names: s.excluded_host_names,
      excluded_host_urls: s.excluded_host_urls,
      redirect_count: s.redirect_count,
      last_redirect_at: s.last_redirect_at,
      last_redirect_from_host_url: s.last_redirect_from_host_url,
    };
  }

  private async placeOrRequest(): Promise<void> {
    const problem = validateComputeState(this.state);
    if (problem) return this.fail(problem);
    const s = this.state;
    if (!s.home_host_url) {
      s.home_host_url = this.hostUrl;
      s.home_host_name = this.hostName;
    }
    const here = trim(this.hostUrl);
    if (s.selected_host_url && trim(s.selected_host_url) !== here) {
      await this.moveTo(s.selected_host_url);
      return;
    }
    if (here === trim(s.home_host_url) && !s.allow_home_compute && !s.selected_host_url) {
      s.compute_status = 'PLACING';
      const reply = (await this.slots().call(
        'candidate_hosts',
        { slot: this.slotRequest(), include_self: false, limit: s.candidate_limit },
        { timeoutMs: s.scheduler_timeout_seconds * 1000 },
      )) as CandidateHostsReply;
      const usable = reply.candidates.filter((c) => trim(c.status.host_url) !== trim(s.home_host_url));
      if (usable.length === 0) return this.fail(`no suitable compute host${Object.keys(reply.rejected).length ? ` (${Object.entries(reply.rejected).map(([h, r]) => `${h}: ${r}`).join('; ')})` : ''}`);
      const selected =
        reply.selected && usable.includes(reply.selected)
          ? reply.selected
          : usable[selectionIndex(this.computeJobId(), Math.min(3, usable.length))]!;
      s.selected_host_url = selected.status.host_url;
      await this.moveTo(selected.status.host_url);
      return;
    }
    await this.requestLocalSlot();
  }

  /** Dispatches the job; this copy is stale afterwards (unless the target was this host). */
  private async moveTo(url: string): Promise<void> {
    const handle = await this.dispatch(url);
    if (trim(handle.ref.host_url) !== trim(this.hostUrl)) this.moved = true;
  }

  private async requestLocalSlot(): Promise<void> {
    const s = this.state;
    const signals = this.signals;
    const reply = (await this.slots().call('request_slot', { slot: this.slotRequest() }, { timeoutMs: s.scheduler_timeout_seconds * 1000 })) as SlotDecisionReply;
    // A queued request can be granted (or redirected) before its `sleep` reply is read here:
    // the message already moved the job on (the worker runs again for it), so ignore the reply.
    if (this.signals !== signals) return;
    s.slot_request_id = reply.request_id;
    switch (reply.decision) {
      case 'run_now':
        this.recordGrant(reply);
        return this.compute();
      case 'redirect':
        this.recordRedirect(reply);
        await this.moveTo(reply.host_url);
        return;
      case 'sleep':
        s.compute_status = 'WAITING_FOR_SLOT';
        // Sleep on disk; a grant or redirect message wakes the job (and a host restart too).
        await this.deactivate({ activate_on_message: true, activate_on_startup: true, queue_messages_when_inactive: true }, { reason: 'waiting-for-slot' });
        return;
      default:
        return this.fail(reply.message || 'compute slot request rejected');
    }
  }

  private recordGrant(reply: SlotDecisionReply): void {
    const s = this.state;
    s.compute_status = 'RUNNING';
    s.slot_lease_id = reply.lease_id;
    s.slot_request_id = reply.request_id;
    s.cpu_core_ids = [...reply.cpu_core_ids];
    s.cpu_affinity_supported = reply.cpu_affinity_supported;
    s.cpu_affinity_enforced = reply.cpu_affinity_enforced;
    s.cpu_affinity_error = reply.cpu_affinity_error;
  }

  private recordRedirect(reply: SlotDecisionReply): void {
    const s = this.state;
    s.compute_status = 'PLACING';
    s.selected_host_url = reply.host_url;
    s.redirect_count = Math.max(s.redirect_count, reply.redirect_count);
    s.last_redirect_at = Date.now() / 1000;
    s.last_redirect_from_host_url = reply.redirected_from_host_url ?? this.hostUrl;
  }

  private async compute(): Promise<void> {
    let failure: string | null = null;
    try {
      await this.runComputeJob();
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    await this.releaseLease();
    if (failure !== null) return this.fail(failure);
    this.state.compute_status = 'COMPLETED';
    await this.afterComputeSuccess();
  }

  private async releaseLease(): Promise<void> {
    const lease = this.state.slot_lease_id;
    if (!lease) return;
    try {
      await this.slots().call('release_slot', { lease_id: lease, agent_id: this.agentId }, { timeoutMs: this.state.release_timeout_seconds * 1000 });
    } catch {
      /* the scheduler drops leases of agents that are gone */
    }
    this.state.slot_lease_id = null;
  }

  private async fail(message: string): Promise<void> {
    await this.releaseLease();
    this.state.compute_status = 'FAILED_FINAL';
    this.state.compute_error = message;
    try {
      await this.afterComputeFailure(message);
    } catch {
      /* the failure is recorded; a failing hook changes nothing */
    }
  }

  override async handleMessage(message: Message): Promise<unknown> {
    switch (message.kind) {
      case 'compute_slot_granted': {
        const reply = message.args.reply as SlotDecisionReply;
        if (this.state.compute_status === 'RUNNING' || this.state.compute_status === 'COMPLETED') return { ok: true };
        this.signals++;
        this.recordGrant(reply);
        this.startWorker();
        return { ok: true };
      }
      case 'compute_slot_redirect': {
        if (this.state.compute_status === 'RUNNING' || this.state.compute_status === 'COMPLETED') return { ok: true };
        this.signals++;
        this.recordRedirect(message.args.reply as SlotDecisionReply);
        this.startWorker();
        return { ok: true };
      }
      case 'compute_usage_paths':
        return { paths: (await this.computeUsagePaths()).filter((p) => typeof p === 'string' && p !== '') };
      case 'compute_status':
        return { compute_status: this.state.compute_status, compute_error: this.state.compute_error };
      default:
        return this.handleComputeJobMessage(message);
    }
  }
}
