/** `taglets/compute`: compute jobs scheduled by the compute-slots service of each host. */
export { COMPUTE_JOB_DEFAULTS, ComputeJobAgent, validateComputeState } from './compute/compute-job.ts';
export type { ComputeJobState, ComputeStatus } from './compute/compute-job.ts';
export { COMPUTE_SLOTS_AGENT_ID, ComputeSlotsContract } from './system/compute-slots/contract.ts';
export type { SlotDecisionReply, ComputeSlotRequestIn } from './system/compute-slots/types.ts';
export {
  MAX_DUPLICATE_REPORTS,
  RESULT_COLLECTOR_CLASS,
  RESULT_COLLECTOR_DEFAULTS,
  ResultCollectorAgent,
} from './compute/collector.ts';
export type { CollectorStatus, CollectorSummary, DuplicateReport, ExpectedJob, JobReport, ResultCollectorState } from './compute/collector.ts';
export {
  COLLECTING_COMPUTE_JOB_DEFAULTS,
  CollectingComputeJobAgent,
  REPORT_ATTEMPTS,
  REPORT_RETRY_SECONDS,
} from './compute/collecting-job.ts';
export type { CollectingComputeJobState, ReportArtifactOptions } from './compute/collecting-job.ts';
export {
  collectingJobFields,
  computeJobKey,
  createResultCollector,
  newGroupId,
  submitComputeJobGroup,
} from './compute/job-group.ts';
export type {
  ComputeJobGroup,
  CreateCollectorOptions,
  GroupCreationError,
  GroupJob,
  GroupSubmitter,
  SubmitComputeJobGroupOptions,
} from './compute/job-group.ts';
