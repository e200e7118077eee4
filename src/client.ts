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
  MeshJoinReply,
  SendOptions,
} from './remote/client.ts';
export type { MeshHost } from './core/agent.ts';
export type { SendArtifactOptions } from './remote/client.ts';
export type { ArtifactRef } from './core/artifact.ts';
export { isArtifactRef, isValidArtifactId } from './core/artifact.ts';
export { safeFileName } from './remote/artifact-client.ts';
export type {
  ArtifactSource,
  DownloadArtifactOptions,
  DownloadedArtifact,
  ProgressCallback,
  UploadArtifactOptions,
} from './remote/artifact-client.ts';
