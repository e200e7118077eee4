/**
 * `taglets`: the agent authoring API.
 *
 * ```ts
 * import { Agent, type Message } from 'taglets';
 * export class Counter extends Agent<{ count: number }> {
 *   static defaultState = { count: 0 };
 *   handleMessage(msg: Message) {
 *     if (msg.kind === 'inc') return ++this.state.count;
 *     return this.notHandled();
 *   }
 * }
 * ```
 */
export { Agent, isAgentClass } from './core/agent.ts';
export type {
  AgentClass,
  AgentContext,
  AgentHandle,
  AdvertiseOptions,
  AgentResources,
  FindServicesOptions,
  ServiceInfo,
  AgentStorage,
  AgentSummary,
  CloneEvent,
  CreateAgentOptions,
  MeshHost,
  MobilityEvent,
  MoveTarget,
  PersistencyEvent,
  CreationEvent,
  DisposingEvent,
  LifecycleEvent,
  MailboxCounters,
  RunnerKind,
  SendOptions,
} from './core/agent.ts';
export { Message, Priority, clampPriority } from './core/message.ts';
export { DEFAULT_POLICY, after } from './core/deactivation.ts';
export type { DeactivationPolicy, DeactivationRequest } from './core/deactivation.ts';
export type { TransferTicket, TicketInit, ArrivalMode } from './core/ticket.ts';
export { isArtifactRef, isValidArtifactId } from './core/artifact.ts';
export type { ArtifactRef } from './core/artifact.ts';
export type { AgentRef, MessageInit, MessageType } from './core/message.ts';
export { BINARY_TAG, decode, encode, fromWire, toWire } from './core/codec.ts';
export {
  AgentCrashedError,
  ArtifactChecksumError,
  ArtifactNotFoundError,
  AgentInactiveError,
  AgentNotFoundError,
  AuthenticationError,
  BadRequestError,
  ClassNotFoundError,
  ConflictError,
  ForbiddenError,
  HandlerError,
  HostError,
  HostShuttingDownError,
  InternalError,
  LifecycleError,
  NotHandledError,
  PayloadTooLargeError,
  RemoteHostError,
  ResourceCleanupError,
  ServiceContractError,
  ServiceNotFoundError,
  RouteNotFoundError,
  SerializationError,
  StorageQuotaError,
  TagletsError,
  TimeoutError,
  TransferError,
  UnsupportedMediaTypeError,
  ValidationError,
  errorFromWire,
  errorTypes,
} from './core/errors.ts';
export type { WireError } from './core/errors.ts';
export { VERSION } from './version.ts';
// Typed service contracts live in `taglets/services` (they load TypeBox).
