/**
 * Predicates over (host status, request), with the reason texts of paglets compute-slots:
 *
 * - can-ever-satisfy: durable capability (CPU/GPU support, tags, exclusions, totals);
 * - health: the status has sampling errors;
 * - load gate: `max_load_per_cpu > 0 and load_per_cpu >= max_load_per_cpu`;
 * - can-run-now: all of the above pass and cores/RAM/temp storage fit the free amounts;
 * - burst headroom: free >= ceil(need × max(1, factor)) and load per CPU < burst limit;
 * - score: lower is better.
 *
 * The boolean forms (`canEverSatisfy`, `canRunNow`) allocate nothing: the grant and redirect
 * passes call them for every queued request.
 */
import type { SchedulerSettings } from './settings.ts';
import type { BackfillWindow, ComputeSlotRequest, SchedulerHostStatus } from './types.ts';

/** Which resource or condition blocks a request (`taglets jobs why`). */
export type BlockerKind = 'capability' | 'host-status' | 'load' | 'cpu' | 'memory' | 'temp-storage' | 'reservation';

export interface Blocker {
  kind: BlockerKind;
  reason: string;
}

const known = (total: number | null): total is number => total !== null && total > 0;

/** Every can-ever-satisfy failure, in check order (empty = the host could run it some day). */
export function everReasons(status: SchedulerHostStatus, req: ComputeSlotRequest): string[] {
  const out: string[] = [];
  if (!status.supports_cpu_jobs) out.push('CPU jobs unsupported');
  // v1 has no GPU admission: a GPU-required job is rejected even where GPUs are advertised.
  if (req.requires_gpu) out.push('GPU jobs unsupported');
  const missing = req.required_host_tags.filter((t) => !status.host_tags.includes(t));
  if (missing.length > 0) out.push(`missing required host tags: ${missing.join(', ')}`);
  const present = req.excluded_host_tags.filter((t) => status.host_tags.includes(t));
  if (present.length > 0) out.push(`excluded host tags present: ${present.join(', ')}`);
  if (req.excluded_host_names.includes(status.host_name.toLowerCase())) out.push('host name excluded');
  if (req.excluded_host_urls.includes(status.host_url)) out.push('host URL excluded');
  if (req.cpu_cores > status.eligible_cpu_ids.length) out.push('requested CPU cores exceed host eligible CPU count');
  if (known(status.memory_total) && req.memory_bytes > status.memory_total) out.push('requested memory exceeds host RAM');
  if (known(status.work_total) && req.temp_storage_bytes > status.work_total) out.push('requested temp storage exceeds host work storage');
  return out;
}

/** First can-ever-satisfy failure, or `null`. */
export function everReason(status: SchedulerHostStatus, req: ComputeSlotRequest): string | null {
  return canEverSatisfy(status, req) ? null : (everReasons(status, req)[0] ?? null);
}

/** Whether the host could run the request some day (durable capability only). */
export function canEverSatisfy(status: SchedulerHostStatus, req: ComputeSlotRequest): boolean {
  if (!status.supports_cpu_jobs || req.requires_gpu) return false;
  if (req.cpu_cores > status.eligible_cpu_ids.length) return false;
  if (known(status.memory_total) && req.memory_bytes > status.memory_total) return false;
  if (known(status.work_total) && req.temp_storage_bytes > status.work_total) return false;
  for (const t of req.required_host_tags) if (!status.host_tags.includes(t)) return false;
  for (const t of req.excluded_host_tags) if (status.host_tags.includes(t)) return false;
  if (req.excluded_host_names.length > 0 && req.excluded_host_names.includes(status.host_name.toLowerCase())) return false;
  if (req.excluded_host_urls.length > 0 && req.excluded_host_urls.includes(status.host_url)) return false;
  return true;
}

/** `"host status unavailable: …"` when the status carries sampling errors. */
export function healthReason(status: SchedulerHostStatus): string | null {
  return status.errors.length > 0 ? `host status unavailable: ${status.errors.join('; ')}` : null;
}

/** `"load-per-cpu X.XX >= limit Y.YY"` when the host's load gate is closed. */
export function loadGateReason(status: SchedulerHostStatus): string | null {
  if (!loadGateClosed(status)) return null;
  return `load-per-cpu ${(status.load_per_cpu ?? 0).toFixed(2)} >= limit ${status.max_load_per_cpu.toFixed(2)}`;
}

function loadGateClosed(status: SchedulerHostStatus): boolean {
  return status.max_load_per_cpu > 0 && status.load_per_cpu !== null && status.load_per_cpu >= status.max_load_per_cpu;
}

/** Whether cores, RAM and temp storage fit the free amounts (unknown free amounts are not checked). */
export function fitsFree(status: SchedulerHostStatus, req: ComputeSlotRequest): boolean {
  return (
    Math.max(1, req.cpu_cores) <= status.free_cpu_cores &&
    (status.free_memory_bytes === null || req.memory_bytes <= status.free_memory_bytes) &&
    (status.free_temp_storage_bytes === null || req.temp_storage_bytes <= status.free_temp_storage_bytes)
  );
}

/** Whether a reservation lets `req` start now (it is the reserved one, ends inside the window, or fits beside it). */
export function backfillAllows(b: BackfillWindow | null | undefined, req: ComputeSlotRequest): boolean {
  if (b == null || req.request_id === b.request_id) return true;
  if (req.estimated_runtime_seconds > 0 && req.estimated_runtime_seconds <= b.window_seconds) return true;
  return (
    Math.max(1, req.cpu_cores) <= b.extra_cpu_cores &&
    (b.extra_memory_bytes === null || req.memory_bytes <= b.extra_memory_bytes) &&
    (b.extra_temp_storage_bytes === null || req.temp_storage_bytes <= b.extra_temp_storage_bytes)
  );
}

/** Whether the host can run the request right now: every predicate passes, it fits, and no reservation holds it back. */
export function canRunNow(status: SchedulerHostStatus, req: ComputeSlotRequest): boolean {
  return status.errors.length === 0 && !loadGateClosed(status) && fitsFree(status, req) && backfillAllows(status.backfill, req) && canEverSatisfy(status, req);
}

/** Why the request cannot run now, all blockers in check order (empty = it can). */
export function runNowBlockers(status: SchedulerHostStatus, req: ComputeSlotRequest): Blocker[] {
  const out: Blocker[] = everReasons(status, req).map((reason) => ({ kind: 'capability' as const, reason }));
  const health = healthReason(status);
  if (health) out.push({ kind: 'host-status', reason: health });
  const load = loadGateReason(status);
  if (load) out.push({ kind: 'load', reason: load });
  const cores = Math.max(1, req.cpu_cores);
  if (cores > status.free_cpu_cores) {
    const capped = status.max_active_leases > 0 && status.active_leases >= status.max_active_leases;
    out.push({
      kind: 'cpu',
      reason: capped
        ? `max active leases reached: ${status.active_leases} of ${status.max_active_leases}`
        : `not enough free CPU cores: requested ${cores}, free ${status.free_cpu_cores}`,
    });
  }
  if (status.free_memory_bytes !== null && req.memory_bytes > status.free_memory_bytes) {
    out.push({ kind: 'memory', reason: `not enough available memory: requested ${formatBytes(req.memory_bytes)}, free ${formatBytes(status.free_memory_bytes)}` });
  }
  if (status.free_temp_storage_bytes !== null && req.temp_storage_bytes > status.free_temp_storage_bytes) {
    out.push({
      kind: 'temp-storage',
      reason: `not enough free temp storage: requested ${formatBytes(req.temp_storage_bytes)}, free ${formatBytes(status.free_temp_storage_bytes)}`,
    });
  }
  const b = status.backfill;
  if (out.length === 0 && !backfillAllows(b, req) && b != null) {
    out.push({
      kind: 'reservation',
      reason: `capacity reserved for older request ${b.request_id} (${b.cpu_cores} CPU cores, expected to start in ${Math.round(b.window_seconds)} s)`,
    });
  }
  return out;
}

/** First reason the request cannot run now, or `null`. */
export function runNowReason(status: SchedulerHostStatus, req: ComputeSlotRequest): string | null {
  return canRunNow(status, req) ? null : (runNowBlockers(status, req)[0]?.reason ?? null);
}

/**
 * Burst headroom: free >= ceil(need × F) for cores, RAM and temp storage (F = max(1, factor))
 * and load per CPU (plus `extraLoadPerCpu`, the cores granted earlier in this pass that the load
 * average cannot show yet) below `burst_load_per_cpu`. Unknown load allows no burst.
 */
export function hasBurstHeadroom(status: SchedulerHostStatus, req: ComputeSlotRequest, settings: SchedulerSettings, extraLoadPerCpu = 0): boolean {
  const f = Math.max(1, settings.burst_resource_headroom_factor);
  if (status.load_per_cpu === null || status.load_per_cpu + extraLoadPerCpu >= settings.burst_load_per_cpu) return false;
  if (status.free_cpu_cores < Math.ceil(Math.max(1, req.cpu_cores) * f)) return false;
  if (status.free_memory_bytes !== null && status.free_memory_bytes < Math.ceil(req.memory_bytes * f)) return false;
  if (status.free_temp_storage_bytes !== null && status.free_temp_storage_bytes < Math.ceil(req.temp_storage_bytes * f)) return false;
  return true;
}

/**
 * Placement score, lower is better:
 * `load_per_cpu + cpu%/100 + (1 - free_mem/total | 1) + (1 - free_temp/work_total | 1)
 *  + 0.1 × queue_length - min(0.75, 0.25 × matched preferred tags)`, floored at 0, 6 decimals.
 * Unknown load or CPU percent counts as 1 (as in mesh-info).
 */
export function scoreHost(status: SchedulerHostStatus, req: ComputeSlotRequest): number {
  const load = status.load_per_cpu ?? 1;
  const cpu = status.cpu_percent === null ? 1 : status.cpu_percent / 100;
  const mem = known(status.memory_total) && status.free_memory_bytes !== null ? 1 - status.free_memory_bytes / status.memory_total : 1;
  const temp = known(status.work_total) && status.free_temp_storage_bytes !== null ? 1 - status.free_temp_storage_bytes / status.work_total : 1;
  let matched = 0;
  for (const t of req.preferred_host_tags) if (status.host_tags.includes(t)) matched++;
  const raw = load + cpu + mem + temp + 0.1 * status.queue_length - Math.min(0.75, 0.25 * matched);
  return Math.max(0, Math.round(raw * 1e6) / 1e6);
}

/** `1.5 GiB`-style sizes for reason texts. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
