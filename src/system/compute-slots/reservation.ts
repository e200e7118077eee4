/**
 * Head-of-queue reservation with EASY backfill (opt-in: `reservation_after_seconds > 0`).
 *
 * Plain oldest-fit lets small requests take every core that frees up, so a large request can
 * wait until the whole queue has drained. Once the oldest request that does not fit has waited
 * `reservation_after_seconds`, capacity is reserved for it: from the active leases' expected ends
 * (grant time + runtime estimate, else lease expiry) the host computes when the request can start
 * (`window_seconds` from now) and what will be left beside it then (`extra_*`). A later request may
 * still start now if it fits beside the reservation (within `extra_*`) or if its runtime estimate
 * ends inside the window. The window travels in the host status, so peers choosing a redirect
 * target apply the same rule.
 */
import { canEverSatisfy, fitsFree } from './predicates.ts';
import type { SchedulerSettings } from './settings.ts';
import type { BackfillWindow, Lease, QueueEntry, SchedulerHostStatus } from './types.ts';

/** The reservation of this host at `now`, or `null` (off, nothing starving, or no prediction possible). */
export function computeBackfill(
  settings: SchedulerSettings,
  leases: readonly Lease[],
  queue: readonly QueueEntry[],
  status: SchedulerHostStatus,
  now: number,
): BackfillWindow | null {
  const after = settings.reservation_after_seconds;
  if (after <= 0 || queue.length === 0 || status.errors.length > 0) return null;
  let head: QueueEntry | null = null;
  for (const e of queue) {
    if (fitsFree(status, e.request)) continue;
    if (canEverSatisfy(status, e.request)) head = e;
    if (head) break;
  }
  if (head === null || now - head.queued_at < after) return null;
  const need = head.request;
  const ends = leases
    .map((l) => ({
      at: Math.max(now, l.request.estimated_runtime_seconds > 0 ? l.granted_at + l.request.estimated_runtime_seconds : l.expires_at),
      cores: Math.max(1, l.request.cpu_cores),
      memory: l.request.memory_bytes,
      temp: l.request.temp_storage_bytes,
    }))
    .sort((a, b) => a.at - b.at);
  let cores = status.free_cpu_cores;
  let memory = status.free_memory_bytes;
  let temp = status.free_temp_storage_bytes;
  const fits = (): boolean => Math.max(1, need.cpu_cores) <= cores && (memory === null || need.memory_bytes <= memory) && (temp === null || need.temp_storage_bytes <= temp);
  let at = now;
  for (const e of ends) {
    if (fits()) break;
    cores += e.cores;
    if (memory !== null) memory += e.memory;
    if (temp !== null) temp += e.temp;
    at = e.at;
  }
  // Foreign use (RAM, disk) can keep it from ever fitting by our leases alone: then reserve nothing.
  if (!fits()) return null;
  return {
    request_id: need.request_id,
    cpu_cores: Math.max(1, need.cpu_cores),
    memory_bytes: need.memory_bytes,
    temp_storage_bytes: need.temp_storage_bytes,
    window_seconds: Math.round((at - now) * 1000) / 1000,
    extra_cpu_cores: Math.max(0, Math.min(status.free_cpu_cores, cores - Math.max(1, need.cpu_cores))),
    extra_memory_bytes: memory === null || status.free_memory_bytes === null ? null : Math.max(0, Math.min(status.free_memory_bytes, memory - need.memory_bytes)),
    extra_temp_storage_bytes: temp === null || status.free_temp_storage_bytes === null ? null : Math.max(0, Math.min(status.free_temp_storage_bytes, temp - need.temp_storage_bytes)),
  };
}

/** The reservation after a job of this size started beside it (`estimate` 0 = unknown: uses the extras). */
export function consumeBackfill(b: BackfillWindow, cores: number, memory: number, temp: number, estimate: number): BackfillWindow {
  if (estimate > 0 && estimate <= b.window_seconds) return b;
  return {
    ...b,
    extra_cpu_cores: Math.max(0, b.extra_cpu_cores - Math.max(1, cores)),
    extra_memory_bytes: b.extra_memory_bytes === null ? null : Math.max(0, b.extra_memory_bytes - memory),
    extra_temp_storage_bytes: b.extra_temp_storage_bytes === null ? null : Math.max(0, b.extra_temp_storage_bytes - temp),
  };
}

/** The reservation as seen `age` seconds after it was observed (the window shrinks). */
export function agedBackfill(b: BackfillWindow | null | undefined, age: number): BackfillWindow | null {
  if (b == null) return null;
  return age > 0 ? { ...b, window_seconds: Math.max(0, b.window_seconds - age) } : b;
}
