/**
 * `CollectingComputeJobAgent`: a compute job that reports to the {@link ResultCollectorAgent}
 * of its group. After a successful run it sends `job_result` with `buildResultPayload()`
 * (unless it reported already, e.g. with `reportComputeArtifact`), after a failure
 * `job_failure` with the message, and then disposes itself (`dispose_after_report`).
 *
 * ```ts
 * class Square extends CollectingComputeJobAgent<CollectingComputeJobState & { n: number }> {
 *   static override defaultState = { ...COLLECTING_COMPUTE_JOB_DEFAULTS, n: 0, memory_bytes: 64 * 2 ** 20, estimated_runtime_seconds: 1 };
 *   #square = 0;
 *   override runComputeJob() { this.#square = this.state.n ** 2; }
 *   override buildResultPayload() { return { n: this.state.n, square: this.#square }; }
 * }
 * ```
 *
 * Every report is `{group_id, job_key, agent_id, host_name, host_url, result | error[, details]}`.
 * A report that cannot be delivered (collector unreachable, `report_timeout_seconds` passed)
 * is recorded in `report_error`; the job then sleeps on disk and tries again
 * `REPORT_RETRY_SECONDS` later (at most `REPORT_ATTEMPTS` times, then it waits for a message),
 * so a result is never thrown away.
 */
import type { ArtifactRef } from '../core/artifact.ts';
import type { DeactivationPolicy, DeactivationRequest } from '../core/deactivation.ts';
import { notifyUserInfo } from '../patterns/notification.ts';
import { HostClient } from '../remote/client.ts';
import { COMPUTE_JOB_DEFAULTS, ComputeJobAgent, type ComputeJobState } from './compute-job.ts';

export interface CollectingComputeJobState extends ComputeJobState {
  group_id: string | null;
  /** The key the collector expects this job under. */
  job_key: string | null;
  collector_agent_id: string | null;
  collector_host_url: string | null;
  /** Seconds one report may take. */
  report_timeout_seconds: number;
  dispose_after_report: boolean;
  report_sent: boolean;
  report_error: string | null;
  /** Failed report attempts so far. */
  report_attempts: number;
}

export const COLLECTING_COMPUTE_JOB_DEFAULTS: CollectingComputeJobState = {
  ...COMPUTE_JOB_DEFAULTS,
  group_id: null,
  job_key: null,
  collector_agent_id: null,
  collector_host_url: null,
  report_timeout_seconds: 5,
  dispose_after_report: true,
  report_sent: false,
  report_error: null,
  report_attempts: 0,
};

/** Seconds between attempts to deliver a report that failed. */
export const REPORT_RETRY_SECONDS = 30;
/** Automatic report attempts; after these the job sleeps until a message wakes it. */
export const REPORT_ATTEMPTS = 3;

export interface ReportArtifactOptions {
  /** Artifact display name. @default the file's base name */
  name?: string;
  /** Extra result fields sent next to `artifact`. */
  result?: Record<string, unknown>;
  /** Delete the local file once the collector's host stored it. */
  move?: boolean;
}

export abstract class CollectingComputeJobAgent<S extends CollectingComputeJobState = CollectingComputeJobState> extends ComputeJobAgent<S> {
  static override defaultState: unknown = { ...COLLECTING_COMPUTE_JOB_DEFAULTS };

  /** The success payload sent to the collector. Default: `state.result` (or null). */
  buildResultPayload(): unknown {
    return (this.state as unknown as { result?: unknown }).result ?? null;
  }

  /** Fields every report carries. */
  protected reportBase(): Record<string, unknown> {
    return {
      group_id: this.state.group_id,
      job_key: this.state.job_key,
      agent_id: this.agentId,
      host_name: this.hostName,
      host_url: this.hostUrl,
    };
  }

  /** Sends `job_result`; true when the collector took it. Does nothing once a report was sent. */
  async reportComputeSuccess(result: unknown): Promise<boolean> {
    return this.sendReport('job_result', { ...this.reportBase(), result: result === undefined ? null : result });
  }

  /** Sends `job_failure`; true when the collector took it. */
  async reportComputeFailure(error: string, details?: unknown): Promise<boolean> {
    return this.sendReport('job_failure', { ...this.reportBase(), error, ...(details !== undefined ? { details } : {}) });
  }

  /**
   * Uploads a result file as an artifact to the collector's host (owned by the collector) and
   * reports `{...options.result, artifact: ref}` as this job's result. Call it from
   * `runComputeJob()`; the success path then sends nothing more. Throws (after deleting the
   * upload) when the report could not be delivered, which fails the job.
   */
  async reportComputeArtifact(path: string, options: ReportArtifactOptions = {}): Promise<ArtifactRef> {
    const s = this.state;
    if (!s.collector_host_url || !s.collector_agent_id) throw new Error('reportComputeArtifact: this job has no collector (collector_host_url, collector_agent_id)');
    const client = new HostClient(s.collector_host_url, { timeoutMs: Math.max(30_000, s.report_timeout_seconds * 1000) });
    const ref = await client.uploadArtifact(path, {
      owner: s.collector_agent_id,
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.move ? { move: true } : {}),
    });
    const sent = await this.reportComputeSuccess({ ...(options.result ?? {}), artifact: ref });
    if (!sent) {
      await client.deleteArtifact(ref.artifact_id).catch(() => {});
      throw new Error(`artifact ${ref.artifact_id} uploaded, but the report to the collector failed: ${s.report_error}`);
    }
    return ref;
  }

  private async sendReport(kind: 'job_result' | 'job_failure', payload: Record<string, unknown>): Promise<boolean> {
    const s = this.state;
    if (s.report_sent) return true;
    if (!s.collector_host_url || !s.collector_agent_id) {
      s.report_error = 'no collector to report to (collector_host_url and collector_agent_id are empty)';
      return false;
    }
    try {
      const reply = (await this.context
        .getProxy({ host_url: s.collector_host_url, agent_id: s.collector_agent_id })
        .send(kind, payload, { timeout: Math.max(0.1, s.report_timeout_seconds) * 1000 })) as { ok?: boolean; error?: string } | null;
      if (reply && typeof reply === 'object' && reply.ok === false) throw new Error(reply.error ?? 'collector refused the report');
      s.report_sent = true;
      s.report_error = null;
      return true;
    } catch (err) {
      s.report_attempts++;
      s.report_error = err instanceof Error ? err.message : String(err);
      return false;
    }
  }

  override async continueAfterComputeSuccess(): Promise<void> {
    if (!this.state.report_sent) await this.reportComputeSuccess(await this.buildResultPayload());
    await this.afterReport();
  }

  override async afterComputeFailure(message: string): Promise<void> {
    if (!this.state.report_sent) await this.reportComputeFailure(message);
    await this.afterReport();
  }

  /** Disposes after a delivered report; otherwise tells the user and sleeps until a retry. */
  protected async afterReport(): Promise<void> {
    const s = this.state;
    if (s.report_sent) {
      if (s.dispose_after_report) await this.context.getProxy(this.agentId).dispose().catch(() => {});
      return;
    }
    await notifyUserInfo(this.context, {
      severity: 'warning',
      title: 'compute job report failed',
      message: `job ${s.job_key ?? this.agentId} of group ${s.group_id ?? '?'} could not report to its collector (attempt ${s.report_attempts}): ${s.report_error}`,
      job: s.job_key ?? this.computeJobId(),
      source: this.agentId,
    });
    const retry = s.report_attempts < REPORT_ATTEMPTS && Boolean(s.collector_host_url);
    await this.deactivate(
      {
        activate_on_message: true,
        queue_messages_when_inactive: true,
        activate_on_startup: false,
        activate_at: retry ? Date.now() / 1000 + REPORT_RETRY_SECONDS : null,
      },
      { reason: 'report-failed' },
    ).catch(() => {});
  }

  /** After waking (retry timer, message, host start), a failed job tries its report again. */
  override run(): void {
    const s = this.state;
    if (s.compute_status === 'FAILED_FINAL' && !s.report_sent && s.compute_error !== null) {
      void this.reportComputeFailure(s.compute_error).then(() => this.afterReport());
      return;
    }
    super.run();
  }

  /** A job with an undelivered report resumes it after a host restart. */
  override deactivationPolicy(request: DeactivationRequest): Partial<DeactivationPolicy> | null {
    const s = this.state;
    if (request.reason === 'shutdown' && !s.report_sent && (s.compute_status === 'COMPLETED' || s.compute_status === 'FAILED_FINAL')) {
      return { activate_on_message: true, queue_messages_when_inactive: true, activate_on_startup: true };
    }
    return super.deactivationPolicy(request);
  }
}
