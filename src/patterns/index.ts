/**
 * `taglets/patterns`: reusable agent patterns built only on the public authoring API.
 *
 * | pattern | what |
 * | --- | --- |
 * | {@link TaskAgent} / {@link TaskClient} | one task: `start`, `status`, `wait`; follows the agent when it moves |
 * | {@link OperationAgent} / {@link OperationClient} | typed operations routed from a contract |
 * | {@link WithMeshFanout} | clone to many hosts, collect results, expire, clean up |
 * | {@link notifyUserInfo} | tell the person at a host's terminal; never throws |
 * | {@link SingleFileTransferAgent} | copy or move one file to another host |
 * | {@link ItineraryAgent} + plan functions | visit hosts in turn, with tasks per phase |
 *
 * See docs/patterns.md.
 */
export {
  DEFAULT_WAIT_TIMEOUT_S,
  MAX_WAIT_TIMEOUT_S,
  TASK_STATUSES,
  TaskAgent,
  TaskClient,
  TaskContract,
  isTaskDone,
  newTaskRecord,
} from './task.ts';
export type { TaskAgentState, TaskOutcome, TaskRecord, TaskStatus, TaskStatusName, TaskWaitOptions } from './task.ts';

export { OperationAgent, OperationClient } from './operation.ts';
export type { OperationHandlers, OperationReply, OperationRequest, Operations } from './operation.ts';

export {
  FANOUT_ERROR_KIND,
  FANOUT_RESULT_KIND,
  FANOUT_TIMEOUT_ERROR,
  WithMeshFanout,
  expirePending,
  fanoutSummary,
  markPending,
  newFanoutState,
  recordChild,
  recordError,
  recordResult,
  resetFanout,
  selectTargets,
} from './mesh-fanout.ts';
export type { FanoutRole, FanoutSummary, FanoutTarget, MeshFanoutFields, MeshFanoutMembers, MeshFanoutState } from './mesh-fanout.ts';

export {
  USER_INFO_AGENT_ID,
  USER_INFO_NOTIFY_KIND,
  USER_INFO_SERVICE,
  WithNotifications,
  notificationMessage,
  notifyUserInfo,
} from './notification.ts';
export type { NotificationMembers, NotifyOptions, UserNotification } from './notification.ts';

export {
  FILE_TRANSFER_AGENT_CLASS,
  MAX_CARRY_BYTES,
  SOURCE_REMOVED_KIND,
  SingleFileTransferAgent,
  atomicCopyFile,
  atomicWriteFile,
  destinationExistsError,
  fileTransferRequest,
  humanSize,
  planDestination,
  resolveDestination,
  resolveHostPath,
} from './file-mobility.ts';
export type {
  AtomicWriteOptions,
  CarriedFile,
  FileEndpoint,
  FileTransferMode,
  FileTransferRequest,
  FileTransferResult,
  FileTransferState,
} from './file-mobility.ts';

export {
  ItineraryAgent,
  addDefaultTask,
  addDestination,
  addTask,
  createItinerary,
  createTaskItinerary,
  dispatchNext,
  firstDestination,
  hasNext,
  itineraryCounts,
  itineraryTask,
  lastDestination,
  makeImmutable,
  nextDestination,
  peekNext,
  removeDestination,
  setDefaultPhases,
  skipNext,
  tasksForPhase,
} from './itinerary.ts';
export type {
  ItineraryAgentState,
  ItineraryCounts,
  ItineraryLogEntry,
  ItineraryPlan,
  ItineraryTask,
  ItineraryTaskHandler,
  ItineraryTraveller,
  TaskExecution,
  TaskItineraryPlan,
  TaskPhase,
} from './itinerary.ts';
