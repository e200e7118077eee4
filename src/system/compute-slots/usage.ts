/**
 * Usage records of running jobs (current values and maxima, sampled at most every
 * `usage_sample_interval`) and the bounded history of finished jobs.
 */
import type { SchedulerSettings } from './settings.ts';
import type { Draft } from './state.ts';
import type { FinishReason, FinishedUsage, Lease, UsageRecord, UsageSample } from './types.ts';

export function emptyUsage(): UsageRecord {
  return {
    current: null,
    sample_count: 0,
    first_sample_at: null,
    last_sample_at: null,
    max_cpu_percent: 0,
    max_rss_bytes: 0,
    max_tree_rss_bytes: 0,
    max_work_dir_bytes: 0,
    max_extra_bytes: 0,
    max_total_work_bytes: 0,
  };
}

const n = (v: number | null | undefined): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/** `usage` with one more sample. */
export function addSample(usage: UsageRecord, sample: UsageSample, now: number): UsageRecord {
  const work = n(sample.work_dir_bytes) + n(sample.extra_bytes);
  return {
    current: { ...sample },
    sample_count: usage.sample_count + 1,
    first_sample_at: usage.first_sample_at ?? now,
    last_sample_at: now,
    max_cpu_percent: Math.max(usage.max_cpu_percent, n(sample.cpu_percent)),
    max_rss_bytes: Math.max(usage.max_rss_bytes, n(sample.rss_bytes)),
    max_tree_rss_bytes: Math.max(usage.max_tree_rss_bytes, n(sample.tree_rss_bytes)),
    max_work_dir_bytes: Math.max(usage.max_work_dir_bytes, n(sample.work_dir_bytes)),
    max_extra_bytes: Math.max(usage.max_extra_bytes, n(sample.extra_bytes)),
    max_total_work_bytes: Math.max(usage.max_total_work_bytes, work),
  };
}

/** Whether a lease is due for a usage sample. */
export function usageDue(settings: SchedulerSettings, lease: Lease, now: number): boolean {
  return lease.usage.last_sample_at === null || now - lease.usage.last_sample_at >= settings.usage_sample_interval;
}

/** The finished summary of `lease`. */
export function finishUsage(lease: Lease, reason: FinishReason, now: number, finalSample?: UsageSample | null): FinishedUsage {
  const usage = finalSample ? addSample(lease.usage, finalSample, now) : lease.usage;
  const r = lease.request;
  return {
    ...usage,
    lease_id: lease.lease_id,
    request_id: r.request_id,
    agent_id: r.agent_id,
    job_id: r.job_id,
    agent_class: r.agent_class,
    cpu_cores: r.cpu_cores,
    memory_bytes: r.memory_bytes,
    temp_storage_bytes: r.temp_storage_bytes,
    granted_at: lease.granted_at,
    finished_at: now,
    finish_reason: reason,
    runtime_seconds: Math.max(0, Math.round((now - lease.granted_at) * 1000) / 1000),
  };
}

/** Appends to the finished history, keeping the newest `usage_history_limit` (0 keeps none). */
export function pushHistory(settings: SchedulerSettings, d: Draft, finished: FinishedUsage): void {
  const limit = settings.usage_history_limit;
  if (limit <= 0) {
    if (d.s.finished.length > 0) d.list('finished').length = 0;
    return;
  }
  const list = d.list('finished');
  list.push(finished);
  if (list.length > limit) list.splice(0, list.length - limit);
}
