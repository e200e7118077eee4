/** `taglets/compute`: compute jobs scheduled by the compute-slots service of each host. */
export { COMPUTE_JOB_DEFAULTS, ComputeJobAgent, validateComputeState } from './compute/compute-job.ts';
export type { ComputeJobState, ComputeStatus } from './compute/compute-job.ts';
export { COMPUTE_SLOTS_AGENT_ID, ComputeSlotsContract } from './system/compute-slots/contract.ts';
export type { SlotDecisionReply, ComputeSlotRequestIn } from './system/compute-slots/types.ts';
