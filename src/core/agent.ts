/**
 * The authoring API: subclass {@link Agent}, give it a `static defaultState`, override the
 * hooks you need and `handleMessage`. Only `state` moves and persists; instance fields are
 * transient and rebuilt whenever the agent starts in a new process.
 */
import type { DeactivationPolicy, DeactivationRequest } from './deactivation.ts';
import { NotHandledError } from './errors.ts';
import type { AgentRef, Message, MessageInit } from './message.ts';

/** Brand used to recognise Agent subclasses across separately loaded copies of taglets. */
export const AGENT_BRAND: unique symbol = Symbol.for('taglets.agent') as never;

/** Where an agent's code runs: its own child process (default) or the host's event loop. */
export type RunnerKind = 'process' | 'inline';

/** Fields every lifecycle event carries. */
export interface LifecycleEvent {
  agent_id: string;
  host_name: string;
  host_address: string;
  timestamp: number;
}
export interface CreationEvent extends LifecycleEvent {
  init: unknown;
}
export type DisposingEvent = LifecycleEvent;

/** Dispatch, retract and arrival hooks. */
export interface MobilityEvent extends LifecycleEvent {
  source_host_name: string;
  source_host_address: string;
  target_host_name: string | null;
  target_host_address: string;
  reason: 'dispatch' | 'retract';
}

/** Clone hooks (`onCloning`/`onCloned` on the source, `onClone` on the copy). */
export interface CloneEvent extends LifecycleEvent {
  source_agent_id: string;
  clone_agent_id: string;
  source_host_name: string;
  source_host_address: string;
  target_host_name: string | null;
  target_host_address: string;
}

/** Deactivation and activation hooks. */
export interface PersistencyEvent extends LifecycleEvent {
  reason: string;
  request: DeactivationRequest | null;
  policy: DeactivationPolicy | null;
}

/** Where to move: a host name or URL, or a full transfer ticket. */
export type MoveTarget = string | ({ destination: string } & Record<string, unknown>);

/** Options for sending a message to another agent. */
export interface SendOptions {
  priority?: number;
  /** Milliseconds to wait for the reply. */
  timeout?: number;
}

/** A handle on another agent, used from inside an agent. */
export interface AgentHandle {
  readonly ref: AgentRef;
  send(kind: string, args?: Record<string, unknown>, options?: SendOptions): Promise<unknown>;
  sendMessage(message: MessageInit): Promise<unknown>;
  sendOneway(kind: string, args?: Record<string, unknown>, options?: SendOptions): Promise<void>;
  info(): Promise<AgentSummary>;
  dispose(): Promise<void>;
}

/** Mailbox counters of one agent. */
export interface MailboxCounters {
  queued_count: number;
  in_flight_count: number;
  delivered_count: number;
  failed_count: number;
}

/** How a host describes one of its agents. */
export interface AgentSummary {
  agent_id: string;
  agent_class: string;
  host: string;
  address: string;
  active: boolean;
  /** Null while the agent sleeps. */
  runner: RunnerKind | null;
  pid: number | null;
  crashed: boolean;
  exitcode: number | null;
  error: string | null;
  created_at: number;
  /** Set while the agent sleeps on disk. */
  deactivated_at?: number;
  mailbox: MailboxCounters;
}

export interface CreateAgentOptions {
  state?: unknown;
  init?: unknown;
  agentId?: string;
}

/** Cleanups that run (newest first) before the agent leaves its process. */
export interface AgentResources {
  register(name: string, cleanup: () => unknown, options?: { suppress?: boolean }): void;
  trackCloseable(name: string, obj: object, method?: string, options?: { suppress?: boolean }): void;
  remove(name: string): boolean;
  status(): Record<string, boolean>;
}

/** Files shared by all agents of this class on this host; they survive restarts. Quota applies. */
export interface AgentStorage {
  read(path: string): Promise<Buffer>;
  readText(path: string): Promise<string>;
  write(path: string, data: Uint8Array | string): Promise<void>;
  exists(path: string): Promise<boolean>;
  delete(path: string): Promise<boolean>;
  clear(): Promise<void>;
  list(prefix?: string): Promise<string[]>;
  status(): Promise<{ root: string; used_bytes: number; quota_bytes: number | null; available_bytes: number | null }>;
}

/** A file that belongs to an agent and travels with it (see registerFile). */
export interface RegisteredFile {
  name: string;
  mode: 'copy' | 'move';
  source_host_name: string;
  source_host_url: string;
  source_path: string;
  source_created_at: number;
  source_modified_at: number;
  size_bytes: number;
  sha256: string;
  current_host_name: string;
  current_host_url: string;
  /** Where the file is now (in the agent's work dir after a move). */
  current_path: string;
  status: 'registered' | 'available' | 'failed';
  last_error: string | null;
}

/** A service record as agents and clients see it. */
export interface ServiceInfo {
  name: string;
  proxy: { host_url: string; agent_id: string };
  capabilities: string[];
  metadata: Record<string, unknown>;
  scope: 'local' | 'mesh';
  host_name: string;
  host_url: string;
  advertised_at: number;
  expires_at: number | null;
  resident: boolean;
}

export interface AdvertiseOptions {
  capabilities?: string[];
  metadata?: Record<string, unknown>;
  /** `mesh` makes the record visible to peers. @default 'local' */
  scope?: 'local' | 'mesh';
  /** Seconds until the record expires; none by default. */
  ttl?: number | null;
}

export interface FindServicesOptions {
  capability?: string;
  /** `mesh` also asks every online peer (in parallel). @default 'local' */
  scope?: 'local' | 'mesh';
}

/** The capability boundary of an agent: everything it may do beyond its own state. */
export interface AgentContext {
  readonly agentId: string;
  readonly agentClass: string;
  readonly hostName: string;
  readonly hostUrl: string;
  /** Cleanups run before dispatch, retract, deactivation and dispose. */
  readonly resources: AgentResources;
  /** Per-class persistent storage on this host. */
  readonly storage: AgentStorage;
  /** Advertises a service this agent offers (removed when it leaves, sleeps or crashes). */
  advertise(name: string, options?: AdvertiseOptions): Promise<ServiceInfo>;
  /** Withdraws this agent's records of `name` (all when omitted). */
  unadvertise(name?: string): Promise<ServiceInfo[]>;
  /** Looks services up on this host, or across the mesh. */
  findServices(name?: string, options?: FindServicesOptions): Promise<ServiceInfo[]>;
  /**
   * Registers a file that travels with this agent on dispatch, clone and retract; it is
   * materialized in the agent's new work dir before arrival hooks. `move` deletes the
   * source once the target accepted the agent (clones always copy).
   */
  registerFile(path: string, options?: { name?: string; mode?: 'copy' | 'move' }): Promise<RegisteredFile>;
  /** This agent's registered files, with their current paths. */
  files(): Promise<RegisteredFile[]>;
  unregisterFile(name: string): Promise<boolean>;
  /** This agent's scratch directory (created on first use; kept while it sleeps, removed when it leaves). */
  workDir(): Promise<string>;
  /** A handle on another agent (by id on this host, or by a full ref). */
  getProxy(target: string | AgentRef): AgentHandle;
  /** Creates an agent on this host and waits for its `onCreation`. */
  createAgent(agentClass: string, options?: CreateAgentOptions): Promise<AgentHandle>;
  /** Summaries of the agents on this host. */
  listAgents(): Promise<AgentSummary[]>;
  /** Appends an event of kind `agent-event` with this data to the host's event log. */
  emitEvent(name: string, data?: unknown): Promise<void>;
  /** Moves this agent to another host; resolves to its new location. */
  dispatch(target: MoveTarget): Promise<AgentHandle>;
  /** Copies this agent (to another host, or this one); resolves to the copy. */
  clone(target?: MoveTarget): Promise<AgentHandle>;
  /** Puts this agent to sleep on disk once the current handler returns. */
  deactivate(policy?: Partial<DeactivationPolicy>, metadata?: Record<string, unknown>): Promise<void>;
  /** Hosts of the mesh (sorted by name, url). */
  availableHosts(options?: { onlineOnly?: boolean; includeSelf?: boolean }): Promise<MeshHost[]>;
  isHostOnline(nameOrUrl: string): Promise<boolean>;
  /** Waits until a host is known and online (HostError after `timeoutMs`, default 10 s). */
  waitForHost(nameOrUrl: string, timeoutMs?: number): Promise<MeshHost>;
}

/** A host of the mesh as agents see it. */
export interface MeshHost {
  name: string;
  url: string;
  code_version: string;
  online: boolean;
  last_seen: number;
  active_count: number;
  inactive_count: number;
  tags: string[];
  properties: Record<string, string>;
  error?: string | null;
  /** CPUs the host may use (`os.availableParallelism()`). */
  cpu_count?: number;
  /** 1-minute load average divided by `cpu_count`. */
  load_per_cpu?: number;
  /** Bytes of memory still available to the host process. */
  memory_available?: number;
  /** Bytes of memory the host may use in total. */
  memory_total?: number;
  /**
   * Seconds since epoch on the described host's own clock when it last described itself.
   * Only compared with other heartbeats of the same host (orders gossip, never staleness).
   */
  heartbeat?: number;
}

export abstract class Agent<S extends object = Record<string, unknown>> {
  static readonly [AGENT_BRAND] = true;
  /** The state a new agent starts with; given state is merged over a copy of it. */
  static defaultState: unknown = {};
  /** How many messages may be handled at once; 1 (serial) unless the class opts in. */
  static concurrency = 1;
  /** Where the agent's code runs. */
  static runner: RunnerKind = 'process';

  /** The agent's serializable state: the only thing that moves and persists. */
  state!: S;
  /** Set by the runtime before any hook runs. */
  context!: AgentContext;

  get agentId(): string {
    return this.context.agentId;
  }
  get hostName(): string {
    return this.context.hostName;
  }
  get hostUrl(): string {
    return this.context.hostUrl;
  }

  /** Called once when the agent is created, with the creator's `init` value. */
  onCreation(_init: unknown): void | Promise<void> {}
  /** Called before the agent is disposed. */
  onDisposing(_event: DisposingEvent): void | Promise<void> {}
  /** On the source host, before the agent leaves by dispatch; a throw cancels the move. */
  onDispatching(_event: MobilityEvent): void | Promise<void> {}
  /** On the source host, before the agent is retracted to its requester; a throw cancels. */
  onReverting(_event: MobilityEvent): void | Promise<void> {}
  /** On the target host after a dispatch or retract, before `run()`; a throw refuses the arrival. */
  onArrival(_event: MobilityEvent): void | Promise<void> {}
  /** On the source, before the copy is made; a throw cancels the clone. */
  onCloning(_event: CloneEvent): void | Promise<void> {}
  /** On the source, after the copy arrived. */
  onCloned(_event: CloneEvent): void | Promise<void> {}
  /** On the copy, before its `run()`; a throw refuses the clone. */
  onClone(_event: CloneEvent): void | Promise<void> {}
  /** Before the agent sleeps; a throw cancels the deactivation (the agent stays active). */
  onDeactivating(_event: PersistencyEvent): void | Promise<void> {}
  /** After the agent woke, before `run()` and before queued messages are delivered. */
  onActivation(_event: PersistencyEvent): void | Promise<void> {}
  /** The policy to sleep with; by default the request's policy over the defaults. */
  deactivationPolicy(request: DeactivationRequest): Partial<DeactivationPolicy> | null | Promise<Partial<DeactivationPolicy> | null> {
    return request.policy;
  }

  /** Sleeps on disk after the current handler returns; wakes per `policy` (default: on the next message). */
  deactivate(policy?: Partial<DeactivationPolicy>, metadata?: Record<string, unknown>): Promise<void> {
    return this.context.deactivate(policy, metadata);
  }

  /** Moves this agent to `target` (host name, URL or ticket). Resolves to the agent's new location. */
  dispatch(target: MoveTarget): Promise<AgentHandle> {
    return this.context.dispatch(target);
  }
  /** Copies this agent to `target` (default: this host). Resolves to the copy. */
  clone(target?: MoveTarget): Promise<AgentHandle> {
    return this.context.clone(target);
  }
  /** Runs after the lifecycle reply (creation, arrival, activation); may run forever. */
  run(): void | Promise<void> {}
  /** Handles one message; the return value is the reply. */
  handleMessage(message: Message): unknown {
    return this.notHandled(message.kind);
  }
  /** Declines a message: the sender gets a {@link NotHandledError} (HTTP 422). */
  notHandled(kind?: string): never {
    throw new NotHandledError(
      `${(this.constructor as { name: string }).name} does not handle message kind${kind ? ` '${kind}'` : ''}`,
    );
  }
}

/** The static side of an agent class. */
export interface AgentClass {
  new (): Agent<object>;
  readonly name: string;
  defaultState: unknown;
  concurrency: number;
  runner: RunnerKind;
}

export function isAgentClass(value: unknown): value is AgentClass {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[AGENT_BRAND] === true;
}
