/**
 * A host's scheduler status: the local sample plus this scheduler's reservations.
 *
 * Core reservation is the hard CPU admission counter:
 * `free_cpu_cores = |eligible CPU ids| - sum(max(1, cores))` over active leases, and 0 once
 * `max_active_leases` is reached. RAM admission uses *available* RAM (reclaimable cache counts
 * as available) minus reserved RAM; temp storage uses free bytes of the work volume minus
 * reserved temp storage. The load average is reported, never subtracted.
 */
import { computeBackfill, consumeBackfill } from './reservation.ts';
import type { SchedulerSettings } from './settings.ts';
import type { HostSample, Lease, QueueEntry, SchedulerHostStatus } from './types.ts';

/** The CPU ids the sample allows (sorted, unique), or `0..n-1` when it cannot tell. */
export function eligibleCpuIds(sample: HostSample): number[] {
  const ids = sample.eligible_cpu_ids;
  if (ids && ids.length > 0) {
    let clean = true;
    for (let i = 0; i < ids.length && clean; i++) clean = Number.isInteger(ids[i]) && ids[i]! >= 0 && (i === 0 || ids[i]! > ids[i - 1]!);
    if (clean) return ids.slice();
    return [...new Set(ids.filter((i) => Number.isInteger(i) && i >= 0))].sort((a, b) => a - b);
  }
  const n = Math.max(0, Math.floor(sample.cpu_count_logical ?? 0));
  return Array.from({ length: n }, (_, i) => i);
}

function queuedCores(queue: readonly QueueEntry[]): number {
  let n = 0;
  for (const e of queue) n += Math.max(1, e.request.cpu_cores);
  return n;
}

/** What `buildHostStatus` needs of the scheduler state. */
export interface StatusSource {
  host_name: string;
  host_url: string;
  leases: readonly Lease[];
  queue: readonly QueueEntry[];
}

/** The status of this host: sample + reservations of `source.leases`. */
export function buildHostStatus(settings: SchedulerSettings, source: StatusSource, sample: HostSample): SchedulerHostStatus {
  const eligible = eligibleCpuIds(sample);
  const cpuCount = sample.cpu_count_logical != null && sample.cpu_count_logical > 0 ? sample.cpu_count_logical : eligible.length || null;
  const load1 = sample.load_average?.[0];
  const loadPerCpu = load1 != null && Number.isFinite(load1) && cpuCount ? load1 / cpuCount : null;
  let cores = 0;
  let memory = 0;
  let temp = 0;
  for (const lease of source.leases) {
    cores += Math.max(1, lease.request.cpu_cores);
    memory += lease.request.memory_bytes;
    temp += lease.request.temp_storage_bytes;
  }
  const capped = settings.max_active_leases > 0 && source.leases.length >= settings.max_active_leases;
  const available = sample.memory_available ?? null;
  const workFree = sample.work_free ?? null;
  const status: SchedulerHostStatus = {
    host_name: source.host_name,
    host_url: source.host_url,
    observed_at: sample.observed_at,
    supports_cpu_jobs: sample.supports_cpu_jobs ?? settings.supports_cpu_jobs,
    supports_gpu_jobs: sample.supports_gpu_jobs ?? settings.supports_gpu_jobs,
    cpu_count_logical: cpuCount,
    cpu_affinity_supported: sample.cpu_affinity_supported ?? (sample.eligible_cpu_ids != null && sample.eligible_cpu_ids.length > 0),
    eligible_cpu_ids: eligible,
    cpu_percent: sample.cpu_percent ?? null,
    load_average: sample.load_average ? [...sample.load_average] : null,
    load_per_cpu: loadPerCpu,
    max_load_per_cpu: settings.max_load_per_cpu,
    memory_total: sample.memory_total ?? null,
    memory_available: available,
    work_dir_base: sample.work_dir_base ?? '',
    work_total: sample.work_total ?? null,
    work_free: workFree,
    queue_length: source.queue.length,
    queued_cpu_cores: queuedCores(source.queue),
    active_leases: source.leases.length,
    max_active_leases: settings.max_active_leases,
    host_tags: sample.host_tags && sample.host_tags.length > 0 ? [...new Set(sample.host_tags.map((t) => t.trim().toLowerCase()).filter((t) => t !== ''))].sort() : [],
    host_properties: { ...(sample.host_properties ?? {}) },
    reserved_cpu_cores: cores,
    reserved_memory_bytes: memory,
    reserved_temp_storage_bytes: temp,
    free_cpu_cores: capped ? 0 : Math.max(0, eligible.length - cores),
    free_memory_bytes: available === null ? null : Math.max(0, available - memory),
    free_temp_storage_bytes: workFree === null ? null : Math.max(0, workFree - temp),
    backfill: null,
    errors: [...(sample.errors ?? [])],
  };
  if (settings.reservation_after_seconds > 0 && source.queue.length > 0) {
    status.backfill = computeBackfill(settings, source.leases, source.queue, status, sample.observed_at);
  }
  return status;
}

/**
 * A copy of `status` with `cores`/`memory`/`temp` more reserved and one more active lease: used
 * after each grant of a pass and for shadow reservations on projected peers. `estimate` (runtime
 * seconds, 0 = unknown) decides whether the job ends inside a backfill window or uses its extras.
 */
export function withReservation(status: SchedulerHostStatus, cores: number, memory: number, temp: number, estimate = 0): SchedulerHostStatus {
  const activeLeases = status.active_leases + 1;
  const capped = status.max_active_leases > 0 && activeLeases >= status.max_active_leases;
  return {
    ...status,
    active_leases: activeLeases,
    reserved_cpu_cores: status.reserved_cpu_cores + Math.max(1, cores),
    reserved_memory_bytes: status.reserved_memory_bytes + memory,
    reserved_temp_storage_bytes: status.reserved_temp_storage_bytes + temp,
    free_cpu_cores: capped ? 0 : Math.max(0, status.free_cpu_cores - Math.max(1, cores)),
    free_memory_bytes: status.free_memory_bytes === null ? null : Math.max(0, status.free_memory_bytes - memory),
    free_temp_storage_bytes: status.free_temp_storage_bytes === null ? null : Math.max(0, status.free_temp_storage_bytes - temp),
    backfill: status.backfill == null ? null : consumeBackfill(status.backfill, cores, memory, temp, estimate),
  };
}
