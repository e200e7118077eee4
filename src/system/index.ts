/**
 * `taglets/system`: the system services every host can run (declared by the bundled launch
 * config, `launch/default-launch.toml`) and their typed contracts.
 *
 * | class | service | default |
 * | --- | --- | --- |
 * | `taglets/system#ServerInfoAgent` | `server-info` v1: load, df, plist, summary | lazy, mesh, idle 30 s |
 * | `taglets/system#MeshInfoAgent` | `mesh-info` v1: snapshot, landscape, sync, select | eager, mesh |
 * | `taglets/system#UserInfoAgent` | `user-info` v1: notify, stream | lazy, local, idle 30 s |
 * | `taglets/system#ComputeSlotsAgent` | `compute-slots` v1: candidate_hosts, request_slot, release_slot, scheduler_status, sync_scheduler_status, cancel_slot_requests | eager, mesh |
 *
 * ```ts
 * import { HostClient } from 'taglets/client';
 * import { ServerInfoContract } from 'taglets/system';
 * const proxy = new HostClient('http://127.0.0.1:8765').proxy('service.server-info');
 * const { cpu_percent, memory } = await ServerInfoContract.handle(proxy).call('load', { interval: 1 });
 * ```
 */
export {
  ServerInfoAgent,
  ServerInfoContract,
  type ServerInfoDf,
  type ServerInfoLoad,
  type ServerInfoPlist,
  type ServerInfoSummary,
} from './server-info.ts';
export {
  GOSSIP_INTERVAL_MS,
  GOSSIP_PEERS,
  MESH_INFO_AGENT_ID,
  MeshInfoAgent,
  MeshInfoContract,
  SNAPSHOT_CACHE_MS,
  type MeshLandscape,
} from './mesh-info.ts';
export { UserInfoAgent, UserInfoContract, formatNotifyLine, type NotifyRequest } from './user-info.ts';
export {
  Landscape,
  SNAPSHOT_PRUNE_S,
  SNAPSHOT_TTL_S,
  SYNC_BATCH,
  rejectionReasons,
  scoreSnapshot,
  selectHosts,
  type LandscapeEntry,
  type MeshSnapshot,
  type SelectCandidate,
  type SelectReply,
  type SelectRequest,
  type SnapshotIn,
} from './landscape.ts';
export type { GpuInfo, MemoryInfo, ProcessInfo, SwapInfo } from './proc.ts';

/** Agent ids of the system services (`service.<name>`), as the bundled launch config declares them. */
export const SYSTEM_SERVICE_IDS = {
  serverInfo: 'service.server-info',
  meshInfo: 'service.mesh-info',
  userInfo: 'service.user-info',
  computeSlots: 'service.compute-slots',
} as const;
export { ComputeSlotsAgent } from './compute-slots/agent.ts';
export { COMPUTE_SLOTS_AGENT_ID, ComputeSlotsContract } from './compute-slots/contract.ts';
