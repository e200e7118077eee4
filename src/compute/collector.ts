/**
 * `ResultCollectorAgent`: the bookkeeping end of a compute job group. It knows which jobs it
 * expects (by `job_key`), takes their `job_result` / `job_failure` reports, keeps the first
 * report of each job (later ones go to `duplicate_reports`), answers `summary` and `drain`,
 * and, when every expected job has reported, completes: optionally by returning to its home
 * host (the submitter's), waiting on disk while that host is offline.
 *
 * Messages (arguments directly in `args`, or wrapped as `args.request`):
 *
 * | kind | args | reply |
 * | --- | --- | --- |
 * | `register_jobs` | `{jobs: (string \| {job_key\|job_id, agent_id?, host_url?, metadata?, …})[]}` | `{ok, registered, expected_count, errors}` |
 * | `job_result` | `{job_key\|job_id, group_id?, agent_id?, host_name?, host_url?, result}` | `{ok, duplicate, complete}` |
 * | `job_failure` | `{job_key\|job_id, …, error, details?, stage?}` | `{ok, duplicate, complete}` |
 * | `summary` | `{include_results?: true}` | {@link CollectorSummary} |
 * | `drain` | `{forget?: false}` | the summary with only reports not drained before |
 * | `return_home` | `{}` | `{ok, status}` |
 *
 * A report without a key answers `{ok: false, error}`; a report for a key nobody registered
 * registers it (`auto_registered`). The group is complete once the expected set is non-empty
 * and every key has a result or a failure; a oneway `user-info.notify` titled
 * `compute-group.done` then goes to the home host's terminal (silently skipped when there is
 * no user-info service).
 */
import { Agent, type MobilityEvent } from '../core/agent.ts';
import type { Message } from '../core/message.ts';
import { USER_INFO_AGENT_ID, notificationMessage } from '../patterns/notification.ts';

export type CollectorStatus = 'ACTIVE' | 'COMPLETE' | 'WAITING_FOR_HOME' | 'RETURNING_HOME';

/** The class reference hosts load the collector by. */
export const RESULT_COLLECTOR_CLASS = 'taglets/compute#ResultCollectorAgent';

/** Duplicate reports kept (newest); `duplicate_count` counts them all. */
export const MAX_DUPLICATE_REPORTS = 1000;

export interface ExpectedJob {
  job_key: string;
  agent_id: string | null;
  host_url: string | null;
  registered_at: number;
  /** Registered by a report rather than by `register_jobs`. */
  auto_registered: boolean;
  metadata: Record<string, unknown>;
}

/** One stored report (success or failure). */
export interface JobReport {
  job_key: string;
  success: boolean;
  group_id: string | null;
  agent_id: string | null;
  host_name: string | null;
  host_url: string | null;
  /** Success payload (`buildResultPayload()` of the job). */
  result?: unknown;
  /** Failure message. */
  error?: string;
  details?: unknown;
  /** Where a failure happened, e.g. `create` for jobs that could not be created. */
  stage?: string;
  received_at: number;
  /** Handed out by `drain` already. */
  drained: boolean;
}

export interface DuplicateReport {
  job_key: string;
  success: boolean;
  report: Record<string, unknown>;
  received_at: number;
}

export interface ResultCollectorState {
  group_id: string;
  home_host_name: string | null;
  home_host_url: string | null;
  status: CollectorStatus;
  return_home_when_complete: boolean;
  /** Seconds between checks whether an offline home host is back. */
  home_check_seconds: number;
  expected_jobs: Record<string, ExpectedJob>;
  results: Record<string, JobReport>;
  failures: Record<string, JobReport>;
  duplicate_reports: DuplicateReport[];
  duplicate_count: number;
  created_at: number | null;
  completed_at: number | null;
  last_report_at: number | null;
  /** Why the last attempt to go home failed. */
  return_home_error: string | null;
}

export const RESULT_COLLECTOR_DEFAULTS: ResultCollectorState = {
  group_id: '',
  home_host_name: null,
  home_host_url: null,
  status: 'ACTIVE',
  return_home_when_complete: false,
  home_check_seconds: 300,
  expected_jobs: {},
  results: {},
  failures: {},
  duplicate_reports: [],
  duplicate_count: 0,
  created_at: null,
  completed_at: null,
  last_report_at: null,
  return_home_error: null,
};

export interface CollectorSummary {
  group_id: string;
  status: CollectorStatus;
  complete: boolean;
  waiting_for_home: boolean;
  expected_count: number;
  result_count: number;
  failure_count: number;
  reported_count: number;
  pending_count: number;
  duplicate_count: number;
  /** Expected keys without any report, sorted. */
  pending_jobs: string[];
  collector: { agent_id: string; host_name: string; host_url: string };
  home: { host_name: string | null; host_url: string | null };
  return_home_when_complete: boolean;
  return_home_error: string | null;
  created_at: number | null;
  completed_at: number | null;
  last_report_at: number | null;
  /** Present unless `include_results: false` (`drain`: only reports not drained before). */
  results?: Record<string, JobReport>;
  failures?: Record<string, JobReport>;
}

const now = (): number => Date.now() / 1000;
const trimUrl = (u: string | null | undefined): string => (u ?? '').replace(/\/+$/, '');
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The key of a registration or report: `job_key`, else `job_id`. */
function keyOf(entry: Record<string, unknown>): string | null {
  return str(entry.job_key) ?? str(entry.job_id);
}

export class ResultCollectorAgent extends Agent<ResultCollectorState> {
  static override defaultState: unknown = RESULT_COLLECTOR_DEFAULTS;

  override onCreation(): void {
    const s = this.state;
    s.created_at ??= now();
    if (!s.group_id) s.group_id = `group-${this.agentId}`;
    if (!s.home_host_url) {
      s.home_host_url = this.hostUrl;
      s.home_host_name = this.hostName;
    }
  }

  private atHome(): boolean {
    return !this.state.home_host_url || trimUrl(this.state.home_host_url) === trimUrl(this.hostUrl);
  }

  override onArrival(_event: MobilityEvent): void {
    if (this.state.status === 'RETURNING_HOME' && this.atHome()) this.state.status = 'COMPLETE';
  }

  override run(): void {
    const s = this.state;
    if (s.status === 'RETURNING_HOME' || s.status === 'WAITING_FOR_HOME') {
      if (this.atHome()) s.status = 'COMPLETE';
      else setImmediate(() => void this.returnHome());
    } else if (s.status === 'ACTIVE') {
      this.checkComplete();
    }
  }

  override handleMessage(message: Message): unknown {
    const raw = message.args ?? {};
    const args = isObject(raw.request) ? raw.request : raw;
    switch (message.kind) {
      case 'register_jobs':
        return this.registerJobs(args.jobs);
      case 'job_result':
        return this.report(args, true);
      case 'job_failure':
        return this.report(args, false);
      case 'summary':
        return this.summary(args.include_results !== false);
      case 'drain':
        return this.drain(args.forget === true);
      case 'return_home':
        return this.requestReturnHome();
      default:
        return this.notHandled(message.kind);
    }
  }

  private registerJobs(jobs: unknown): { ok: boolean; registered: number; expected_count: number; errors: string[] } {
    const s = this.state;
    const errors: string[] = [];
    let registered = 0;
    const list = Array.isArray(jobs) ? jobs : [];
    if (!Array.isArray(jobs)) errors.push('register_jobs needs args.jobs: a list of job keys or {job_key, agent_id?, host_url?} objects');
    list.forEach((raw, i) => {
      const entry: Record<string, unknown> = typeof raw === 'string' ? { job_key: raw } : isObject(raw) ? raw : {};
      const key = keyOf(entry);
      if (!key) {
        errors.push(`jobs[${i}] has no job_key or job_id`);
        return;
      }
      const { job_key: _k, job_id: _i, agent_id, host_url, metadata, ...extra } = entry;
      const old = s.expected_jobs[key];
      s.expected_jobs[key] = {
        job_key: key,
        agent_id: str(agent_id) ?? old?.agent_id ?? null,
        host_url: str(host_url) ?? old?.host_url ?? null,
        registered_at: old?.registered_at ?? now(),
        auto_registered: old?.auto_registered ?? false,
        metadata: { ...(old?.metadata ?? {}), ...extra, ...(isObject(metadata) ? metadata : {}) },
      };
      registered++;
    });
    // New pending keys reopen a group that had completed (it has more to wait for).
    if (s.status === 'COMPLETE' && this.pendingKeys().length > 0) {
      s.status = 'ACTIVE';
      s.completed_at = null;
    }
    this.checkComplete();
    return { ok: errors.length === 0, registered, expected_count: Object.keys(s.expected_jobs).length, errors };
  }

  private report(args: Record<string, unknown>, success: boolean): { ok: boolean; duplicate?: boolean; complete?: boolean; error?: string } {
    const s = this.state;
    const key = keyOf(args);
    if (!key) return { ok: false, error: `${success ? 'job_result' : 'job_failure'} needs job_key (or job_id)` };
    const at = now();
    s.last_report_at = at;
    if (!s.expected_jobs[key]) {
      s.expected_jobs[key] = {
        job_key: key,
        agent_id: str(args.agent_id),
        host_url: str(args.host_url),
        registered_at: at,
        auto_registered: true,
        metadata: {},
      };
    }
    if (s.results[key] || s.failures[key]) {
      s.duplicate_count++;
      s.duplicate_reports.push({ job_key: key, success, report: { ...args }, received_at: at });
      if (s.duplicate_reports.length > MAX_DUPLICATE_REPORTS) s.duplicate_reports.splice(0, s.duplicate_reports.length - MAX_DUPLICATE_REPORTS);
      return { ok: true, duplicate: true, complete: s.status !== 'ACTIVE' };
    }
    const expected = s.expected_jobs[key];
    expected.agent_id ??= str(args.agent_id);
    expected.host_url ??= str(args.host_url);
    const stored: JobReport = {
      job_key: key,
      success,
      group_id: str(args.group_id),
      agent_id: str(args.agent_id),
      host_name: str(args.host_name),
      host_url: str(args.host_url),
      received_at: at,
      drained: false,
    };
    if (success) stored.result = args.result ?? null;
    else {
      stored.error = typeof args.error === 'string' ? args.error : args.error === undefined ? 'job failed' : JSON.stringify(args.error);
      if (args.details !== undefined) stored.details = args.details;
      if (str(args.stage)) stored.stage = args.stage as string;
    }
    (success ? s.results : s.failures)[key] = stored;
    this.checkComplete();
    return { ok: true, duplicate: false, complete: s.status !== 'ACTIVE' };
  }

  private pendingKeys(): string[] {
    const s = this.state;
    return Object.keys(s.expected_jobs)
      .filter((k) => !s.results[k] && !s.failures[k])
      .sort();
  }

  /** Completes the group once every expected job reported. */
  private checkComplete(): void {
    const s = this.state;
    if (s.status !== 'ACTIVE') return;
    if (Object.keys(s.expected_jobs).length === 0 || this.pendingKeys().length > 0) return;
    s.completed_at = now();
    this.notifyDone();
    if (s.return_home_when_complete && !this.atHome()) {
      s.status = 'RETURNING_HOME';
      // Move after this handler has answered the last reporter.
      setImmediate(() => void this.returnHome());
    } else {
      s.status = 'COMPLETE';
    }
  }

  private requestReturnHome(): { ok: boolean; status: CollectorStatus } {
    const s = this.state;
    if (this.atHome()) {
      if (s.status !== 'ACTIVE') s.status = 'COMPLETE';
      return { ok: true, status: s.status };
    }
    s.status = 'RETURNING_HOME';
    setImmediate(() => void this.returnHome());
    return { ok: true, status: s.status };
  }

  /** Goes home now if the home host is online, else sleeps and checks again later. */
  private async returnHome(): Promise<void> {
    const s = this.state;
    if (this.atHome()) {
      s.status = 'COMPLETE';
      return;
    }
    let online = false;
    try {
      online = await this.context.isHostOnline(s.home_host_url!);
    } catch {
      online = false;
    }
    if (!online) {
      s.return_home_error = `home host ${s.home_host_name ? `'${s.home_host_name}' ` : ''}${s.home_host_url} is offline`;
      return this.waitForHome();
    }
    s.status = 'RETURNING_HOME';
    try {
      await this.dispatch(s.home_host_url!);
      // From here on this copy is stale; the collector lives at home now.
    } catch (err) {
      s.return_home_error = err instanceof Error ? err.message : String(err);
      await this.waitForHome();
    }
  }

  private async waitForHome(): Promise<void> {
    const s = this.state;
    s.status = 'WAITING_FOR_HOME';
    try {
      await this.deactivate(
        {
          activate_on_message: true,
          queue_messages_when_inactive: true,
          activate_on_startup: true,
          activate_at: now() + Math.max(1, s.home_check_seconds),
        },
        { reason: 'waiting-for-home' },
      );
    } catch {
      /* stays active and WAITING_FOR_HOME; a return_home message retries */
    }
  }

  /** Oneway `user-info.notify` on the home host; never fails the collector. */
  private notifyDone(): void {
    const s = this.state;
    const failures = Object.keys(s.failures).length;
    const results = Object.keys(s.results).length;
    const { kind, args } = notificationMessage({
      severity: failures > 0 ? 'warning' : 'success',
      title: 'compute-group.done',
      message: `${results} result${results === 1 ? '' : 's'}, ${failures} failure${failures === 1 ? '' : 's'}, ${s.duplicate_count} duplicate report${s.duplicate_count === 1 ? '' : 's'}`,
      job: s.group_id,
      source: this.agentId,
    });
    try {
      const target = { host_url: s.home_host_url ?? this.hostUrl, agent_id: USER_INFO_AGENT_ID };
      void this.context
        .getProxy(target)
        .sendOneway(kind, args)
        .catch(() => {});
    } catch {
      /* no user-info: nothing to tell */
    }
  }

  private summary(includeResults: boolean): CollectorSummary {
    const s = this.state;
    const pending = this.pendingKeys();
    const results = Object.keys(s.results).length;
    const failures = Object.keys(s.failures).length;
    const out: CollectorSummary = {
      group_id: s.group_id,
      status: s.status,
      complete: s.status !== 'ACTIVE',
      waiting_for_home: s.status === 'WAITING_FOR_HOME',
      expected_count: Object.keys(s.expected_jobs).length,
      result_count: results,
      failure_count: failures,
      reported_count: results + failures,
      pending_count: pending.length,
      duplicate_count: s.duplicate_count,
      pending_jobs: pending,
      collector: { agent_id: this.agentId, host_name: this.hostName, host_url: this.hostUrl },
      home: { host_name: s.home_host_name, host_url: s.home_host_url },
      return_home_when_complete: s.return_home_when_complete,
      return_home_error: s.return_home_error,
      created_at: s.created_at,
      completed_at: s.completed_at,
      last_report_at: s.last_report_at,
    };
    if (includeResults) {
      out.results = s.results;
      out.failures = s.failures;
    }
    return out;
  }

  /** The summary with the reports not drained before; marks them drained (`forget` drops result payloads). */
  private drain(forget: boolean): CollectorSummary {
    const s = this.state;
    const take = (from: Record<string, JobReport>): Record<string, JobReport> => {
      const out: Record<string, JobReport> = {};
      for (const [k, r] of Object.entries(from)) {
        if (r.drained) continue;
        out[k] = { ...r, drained: true };
        r.drained = true;
        if (forget && r.success) r.result = null;
      }
      return out;
    };
    return { ...this.summary(false), results: take(s.results), failures: take(s.failures) };
  }
}
