/** `taglets/client`: talk to taglets hosts over HTTP. */
export { AgentProxy, FutureReply, HostClient, defaultDispatcher, normalizeUrl } from './remote/client.ts';
export type {
  AgentStateReply,
  CallOptions,
  ClientOptions,
  CreateOptions,
  HostEventRecord,
  HostHealth,
  ListOptions,
  SendOptions,
} from './remote/client.ts';
