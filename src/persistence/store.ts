/**
 * The host's durable store: runtime verbs only, no connection or transaction type leaks out,
 * so a PostgreSQL backend can implement the same interface later. Every verb is atomic on
 * its own (multi-step changes run in one transaction inside the implementation).
 */

/** An agent that sleeps on disk. */
export interface InactiveRecord {
  agent_id: string;
  agent_class: string;
  state: unknown;
  /** DeactivationPolicy as plain data. */
  policy: {
    activate_on_message: boolean;
    queue_messages_when_inactive: boolean;
    activate_on_startup: boolean;
    activate_at: number | null;
  };
  /** DeactivationRequest as plain data (reason, source, metadata). */
  request: Record<string, unknown>;
  deactivated_at: number;
  created_at: number;
  /** Registered files (FileRef objects) that belong to the agent. */
  files?: unknown[];
}

export interface QueuedMessage {
  seq: number;
  agent_id: string;
  message_id: string;
  message: Record<string, unknown>;
  queued_at: number;
}

export interface ArtifactRecord {
  artifact_id: string;
  name: string;
  size_bytes: number;
  sha256: string;
  compression: string | null;
  created_at: number;
  /** Seconds since epoch; 0 = never. */
  expires_at: number;
  owner_agent_id: string | null;
}

export interface Store {
  readonly kind: string;

  // inactive agents
  /** Writes the record and appends `queued` messages to its queue, in one transaction. */
  putInactive(record: InactiveRecord, queued?: { message_id: string; message: Record<string, unknown> }[]): Promise<void>;
  getInactive(agentId: string): Promise<InactiveRecord | undefined>;
  listInactive(): Promise<InactiveRecord[]>;
  /** Deletes the record and (unless `keepQueue`) its queued messages; true if it existed. */
  deleteInactive(agentId: string, options?: { keepQueue?: boolean }): Promise<boolean>;
  /** Records whose `activate_at` is at or before `now` (seconds). */
  dueForActivation(now: number): Promise<string[]>;
  /** Earliest pending `activate_at`, for timer scheduling. */
  nextActivationAt(): Promise<number | null>;

  // queued messages of inactive agents
  enqueueMessage(agentId: string, messageId: string, message: Record<string, unknown>): Promise<number>;
  queuedMessages(agentId: string): Promise<QueuedMessage[]>;
  queuedCount(agentId: string): Promise<number>;
  deleteQueued(seqs: number[]): Promise<void>;

  // artifact metadata
  putArtifact(record: ArtifactRecord): Promise<void>;
  getArtifact(artifactId: string): Promise<ArtifactRecord | undefined>;
  listArtifacts(ownerAgentId?: string): Promise<ArtifactRecord[]>;
  deleteArtifact(artifactId: string): Promise<boolean>;
  artifactBytes(): Promise<number>;
  expiredArtifacts(now: number): Promise<string[]>;

  /** Current schema version (after migrations). */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
