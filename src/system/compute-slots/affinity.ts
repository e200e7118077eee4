/**
 * CPU id allocation and elastic affinity.
 *
 * A lease's `cpu_cores` is its guaranteed floor: at grant time it gets the first `cpu_cores`
 * eligible ids no other lease reserves. While fewer jobs run than the host could hold, the idle
 * eligible CPUs are dealt round-robin over the active affinity leases (sorted by grant time,
 * then lease id), so two 2-core jobs on ten CPUs run on five CPUs each. A new grant shrinks the
 * masks back toward the floors. Admission only ever counts the floors.
 */
import type { Lease } from './types.ts';

/** The first `cores` ids of `eligible` that no lease in `leases` reserves, or `null` if too few. */
export function allocateCpuIds(eligible: readonly number[], leases: readonly Lease[], cores: number): number[] | null {
  const taken = new Set<number>();
  for (const lease of leases) for (const id of lease.cpu_core_ids) taken.add(id);
  const out: number[] = [];
  for (const id of eligible) {
    if (out.length >= cores) break;
    if (!taken.has(id)) out.push(id);
  }
  return out.length >= cores ? out : null;
}

/**
 * Elastic masks of the affinity leases: each keeps its reserved ids; eligible ids reserved by no
 * lease are dealt round-robin in ascending order. Returns `lease_id -> sorted ids`.
 */
export function elasticMasks(leases: readonly Lease[], eligible: readonly number[]): Record<string, number[]> {
  const pinned = leases
    .filter((l) => l.cpu_affinity_supported && l.cpu_core_ids.length > 0)
    .sort((a, b) => a.granted_at - b.granted_at || (a.lease_id < b.lease_id ? -1 : a.lease_id > b.lease_id ? 1 : 0));
  const out: Record<string, number[]> = {};
  if (pinned.length === 0) return out;
  const reserved = new Set<number>();
  for (const lease of pinned) {
    out[lease.lease_id] = [...lease.cpu_core_ids];
    for (const id of lease.cpu_core_ids) reserved.add(id);
  }
  let turn = 0;
  for (const id of eligible) {
    if (reserved.has(id)) continue;
    out[pinned[turn % pinned.length]!.lease_id]!.push(id);
    turn++;
  }
  for (const key of Object.keys(out)) out[key]!.sort((a, b) => a - b);
  return out;
}

/** Whether two id lists hold the same ids in the same order. */
export function sameIds(a: readonly number[] | null, b: readonly number[] | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
