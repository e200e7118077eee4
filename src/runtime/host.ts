/**
 * The host: an agent table, one mailbox per agent, lifecycle and the event log. It knows
 * nothing of HTTP; the server in `remote/` drives it and the composition root in
 * `src/host.ts` wires the two together.
 */
import type { AgentSummary, RunnerKind } from '../core/agent.ts';
import {
  AgentCrashedError,
  AgentInactiveError,
  AgentNotFoundError,
  HostError,
  LifecycleError,
  ConflictError,
  HostShuttingDownError,
  TagletsError,
  TransferError,
  ValidationError,
} from '../core/errors.ts';
import { isValidAgentId, newId } from '../core/ids.ts';
import { Message, type AgentRef, type MessageInit } from '../core/message.ts';
import type { HostBridge, HostCallMethod } from './agent-shell.ts';
import { StandaloneDirectory, type HostDirectory, type HostRef } from './directory.ts';
import { EventLog, type EventInput, type HostEvent } from './events.ts';
import { InlineRunner } from './inline-runner.ts';
import { Mailbox } from './mailbox.ts';
import { preflight, transferWithRetries, type TransferFailure, type TransferTransport } from './mobility.ts';
import type { Envelope, EnvelopeKind } from '../core/envelope.ts';
import {
  normalizePolicy,
  normalizeRequest,
  type DeactivationPolicy,
  type DeactivationRequest,
} from '../core/deactivation.ts';
import type { InactiveRecord } from '../persistence/store.ts';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ClassStorage } from './class-storage.ts';
import { ServiceRegistry, type ServiceQuery, type ServiceRecord, type ServiceScope } from './services.ts';
import { ResidentServices, type ResidentHost, type ResidentSpec } from './resident.ts';
import { describeFile, materializeFiles, type FileMode, type FileRef, type ShippedFile } from './registered-files.ts';
import { createReadStream } from 'node:fs';
import { normalizeTicket, type TicketInit, type TransferTicket } from '../core/ticket.ts';
import type { HookName } from './agent-shell.ts';
import { ProcessRunner, type ProcessRunnerOptions } from './process-runner.ts';
import type { Runner, RunnerHandle, RunnerStatus } from './runner.ts';
import type { Store } from '../persistence/store.ts';
import type { ArtifactStore } from '../persistence/artifact-store.ts';

/** What a host needs to reach agents on other hosts (provided by `remote/`). */
export interface RemoteAgents extends TransferTransport {
  /** Uploads a file to `url` as a transit artifact (sha256 checked there); resolves to its id. */
  shipFile(url: string, file: FileRef, ownerAgentId: string): Promise<string>;
  deleteArtifact(url: string, artifactId: string): Promise<void>;
  services(url: string, query: ServiceQuery, timeoutMs: number): Promise<ServiceRecord[]>;
  send(ref: AgentRef, message: MessageInit, options: { oneway: boolean; timeoutMs?: number }): Promise<unknown>;
  create(hostUrl: string, body: CreateAgentRequest): Promise<AgentRef>;
  info(ref: AgentRef): Promise<AgentSummary>;
  dispose(ref: AgentRef): Promise<void>;
}

export interface HostOptions {
  name: string;
  /** Durable store (inactive agents, queued messages, artifact metadata, …). */
  store?: Store;
  /** Directory for the host's data (store, blobs, work dirs). */
  persistenceDir?: string;
  /** Directory that relative class references resolve against. @default process.cwd() */
  root?: string;
  meshVersion?: string;
  meshEnabled?: boolean;
  tags?: string[];
  properties?: Record<string, string>;
  /** Runner for classes that do not declare one. @default 'process' */
  defaultRunner?: RunnerKind;
  processRunner?: ProcessRunnerOptions;
  eventCapacity?: number;
  remote?: RemoteAgents;
  /** Per-class persistent storage quota in bytes; null = unlimited. @default 10 MiB */
  storageQuotaBytes?: number | null;
}

export interface CreateAgentRequest {
  agent_class: string;
  state?: unknown;
  init?: unknown;
  agent_id?: string;
  /** Force a runner; otherwise the class's `static runner` decides. */
  runner?: RunnerKind;
}

export interface DeliveryOptions {
  /** Wake a sleeping agent for this message (if its policy allows). @default true */
  activateIfInactive?: boolean;
  /** Refuse instead of queueing when the agent sleeps. @default false */
  noDelay?: boolean;
}

interface Delivery {
  message: MessageInit;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * Lifecycle of an entry in the agent table:
 * - `active`: loaded, receiving messages;
 * - `moving`: being dispatched; messages queue and follow it (or stay if the move fails);
 * - `disposing`: being removed, no new messages;
 * - `crashed`: its process died or `run()` threw; listed until disposed.
 */
type EntryStatus = 'active' | 'moving' | 'disposing' | 'crashed';

class AgentEntry {
  readonly id: string;
  readonly agentClass: string;
  readonly handle: RunnerHandle;
  readonly mailbox = new Mailbox<Delivery>();
  readonly createdAt: number = Date.now() / 1000;
  status: EntryStatus = 'active';
  exitcode: number | null = null;
  error: string | null = null;
  lastState: unknown;
  /** Set once the agent left: its process is stopped when the last in-flight handler returns. */
  stopWhenIdle = false;
  /** Files registered by the agent; they travel with it. */
  files: FileRef[] = [];
  /** Seconds since epoch of the last delivery start or end (for idle resident services). */
  lastActivity = Date.now() / 1000;
  /** Set when the agent asked to sleep: deactivation runs once its handlers returned. */
  deactivateWhenIdle: DeactivationRequest | null = null;
  constructor(id: string, agentClass: string, handle: RunnerHandle, state: unknown, createdAt?: number) {
    if (createdAt !== undefined) this.createdAt = createdAt;
    this.id = id;
    this.agentClass = agentClass;
    this.handle = handle;
    this.lastState = state;
  }
}

const STATE_FETCH_TIMEOUT_MS = 2000;

/** Agents the launch config starts with the host. */
export interface StartupAgentSpec {
  agent_class: string;
  agent_id?: string;
  /** With an id: skip if active, activate if asleep, else create. @default true */
  singleton: boolean;
  state?: unknown;
  init?: unknown;
}

export class Host implements ResidentHost {
  readonly name: string;
  readonly root: string;
  readonly meshVersion: string;
  readonly meshEnabled: boolean;
  readonly tags: string[];
  readonly properties: Record<string, string>;
  readonly events: EventLog;
  readonly store: Store | undefined;
  readonly persistenceDir: string | undefined;
  /** Hosted files (set by the composition root when the host has a persistence dir). */
  artifacts: ArtifactStore | undefined;
  readonly startedAt = Date.now();
  private address = '';
  private readonly agents = new Map<string, AgentEntry>();
  /** Ids of creations in progress, so a concurrent create with the same id gets 409. */
  private readonly reserved = new Map<string, { agentClass: string; files: FileRef[] }>();
  private readonly runners: Record<RunnerKind, Runner>;
  private readonly processRunner: ProcessRunner;
  private readonly defaultRunner: RunnerKind;
  private remote: RemoteAgents | undefined;
  private shuttingDown = false;
  /** Index of sleeping agents (records live in the store). */
  private readonly inactive = new Map<string, InactiveIndexEntry>();
  /** Activations in progress, so concurrent wake-ups share one. */
  private readonly activations = new Map<string, Promise<AgentRef>>();
  private activationTimer: NodeJS.Timeout | undefined;
  private readonly classStorages = new Map<string, ClassStorage>();
  readonly services = new ServiceRegistry();
  readonly resident: ResidentServices = new ResidentServices(this);
  private readonly storageQuotaBytes: number | null;
  /** Where agents that left by dispatch went (bounded; for clear 404 messages). */
  private readonly movedTo = new Map<string, AgentRef>();
  /** Which hosts exist; the mesh replaces the standalone default. */
  directory: HostDirectory = new StandaloneDirectory(() => this.selfRef());

  constructor(options: HostOptions) {
    this.name = options.name;
    this.store = options.store;
    this.persistenceDir = options.persistenceDir;
    this.storageQuotaBytes = options.storageQuotaBytes === undefined ? 10 * 1024 * 1024 : options.storageQuotaBytes;
    this.root = options.root ?? process.cwd();
    this.meshVersion = options.meshVersion ?? 'dev';
    this.meshEnabled = options.meshEnabled ?? true;
    this.tags = [...new Set((options.tags ?? []).map((t) => t.toLowerCase()))].sort();
    this.properties = { ...options.properties };
    this.defaultRunner = options.defaultRunner ?? 'process';
    this.processRunner = new ProcessRunner(options.processRunner);
    this.runners = { process: this.processRunner, inline: new InlineRunner() };
    this.remote = options.remote;
    this.events = new EventLog(() => ({ host_name: this.name, host_address: this.address }), options.eventCapacity);
  }

  get url(): string {
    return this.address;
  }

  /** Called once the HTTP server listens; starts the warm pool and logs `context-start`. */
  /**
   * Called once the HTTP server listens. Order (as paglets): declare resident services, wake
   * sleeping agents due at startup, create startup agents, start eager services.
   */
  async started(
    address: string,
    remote?: RemoteAgents,
    launch: { residents?: ResidentSpec[]; startupAgents?: StartupAgentSpec[] } = {},
  ): Promise<void> {
    this.address = address;
    if (remote) this.remote = remote;
    this.processRunner.warm();
    for (const spec of launch.residents ?? []) this.resident.declare(spec);
    await this.loadInactive();
    for (const spec of launch.startupAgents ?? []) await this.launchStartupAgent(spec);
    await this.resident.start();
    this.emit({ kind: 'context-start', data: { version: this.meshVersion, inactive: this.inactive.size } });
  }

  private async launchStartupAgent(spec: StartupAgentSpec): Promise<void> {
    const id = spec.agent_id;
    try {
      if (id && spec.singleton && this.agents.has(id)) {
        this.emit({ kind: 'startup-agent-skip', agent_id: id, agent_class: spec.agent_class, data: { reason: 'active' } });
        return;
      }
      if (id && spec.singleton && this.inactive.has(id)) {
        await this.activate(id, 'startup');
        this.emit({ kind: 'startup-agent-activate', agent_id: id, agent_class: spec.agent_class });
        return;
      }
      const ref = await this.createAgent({
        agent_class: spec.agent_class,
        ...(id ? { agent_id: id } : {}),
        ...(spec.state !== undefined ? { state: spec.state } : {}),
        ...(spec.init !== undefined ? { init: spec.init } : {}),
      });
      this.emit({ kind: 'startup-agent-create', agent_id: ref.agent_id, agent_class: spec.agent_class });
    } catch (err) {
      this.emit({ kind: 'startup-agent-failed', agent_id: id ?? null, agent_class: spec.agent_class, error: (err as Error).message });
    }
  }

  isActive(agentId: string): boolean {
    return this.agents.get(agentId)?.status === 'active';
  }

  isInactive(agentId: string): boolean {
    return !this.agents.has(agentId) && this.inactive.has(agentId);
  }

  idleSeconds(agentId: string): number | null {
    const e = this.agents.get(agentId);
    if (!e || e.status !== 'active' || e.mailbox.inFlight > 0 || e.mailbox.queued > 0) return null;
    return Date.now() / 1000 - e.lastActivity;
  }

  /** Leases of resident services. */
  get leases(): ResidentServices {
    return this.resident;
  }

  /** Reads the sleeping agents' index and wakes those due now or marked activate-on-startup. */
  private async loadInactive(): Promise<void> {
    if (!this.store) return;
    for (const r of await this.store.listInactive()) this.indexInactive(r);
    // Work dirs of sleeping agents are kept; anything else is left over from a crash.
    const work = join(this.dataDir(), 'work');
    for (const name of await readdir(work).catch(() => [] as string[])) {
      if (!this.inactive.has(name)) await rm(join(work, name), { recursive: true, force: true });
    }
    const now = Date.now() / 1000;
    for (const [id, e] of this.inactive) {
      if (e.policy.activate_on_startup || (e.policy.activate_at !== null && e.policy.activate_at <= now)) {
        this.activate(id, e.policy.activate_on_startup ? 'startup' : 'timer').catch(() => {});
      }
    }
    this.scheduleActivationTimer();
  }

  private indexInactive(r: InactiveRecord): void {
    this.inactive.set(r.agent_id, {
      agent_class: r.agent_class,
      policy: r.policy,
      deactivated_at: r.deactivated_at,
      created_at: r.created_at,
    });
  }

  /** This host as a mesh entry. */
  selfRef(): HostRef {
    return {
      name: this.name,
      url: this.address,
      code_version: this.meshVersion,
      online: true,
      last_seen: Date.now() / 1000,
      active_count: this.activeCount(),
      inactive_count: this.inactive.size,
      tags: this.tags,
      properties: this.properties,
      error: null,
    };
  }

  emit(input: EventInput): HostEvent {
    return this.events.emit(input);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  inactiveCount(): number {
    return this.inactive.size;
  }

  activeCount(): number {
    let n = 0;
    for (const e of this.agents.values()) if (e.status === 'active') n++;
    return n;
  }

  runnerStatus(): Record<RunnerKind, RunnerStatus> {
    return { process: this.runners.process.status(), inline: this.runners.inline.status() };
  }

  /** Pids of all agent child processes (idle, busy or stopping). */
  childPids(): number[] {
    return this.processRunner.pids();
  }

  isLocal(hostUrl: string | undefined | null): boolean {
    return !hostUrl || hostUrl.replace(/\/+$/, '') === this.address;
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async createAgent(request: CreateAgentRequest): Promise<AgentRef> {
    const agentId = request.agent_id ?? newId();
    const entry = await this.startAgent({
      agentId,
      agentClass: request.agent_class,
      state: request.state,
      runner: request.runner,
      hook: 'onCreation',
      event: { ...this.eventBase(agentId), init: request.init ?? null },
    });
    this.emit({ kind: 'create', agent_id: agentId, agent_class: entry.agentClass, data: { runner: entry.handle.kind, pid: entry.handle.pid } });
    return { host_url: this.address, agent_id: agentId };
  }

  /**
   * Loads an agent, runs its first hook (onCreation, onArrival or onClone) and registers it.
   * Nothing is registered unless every step succeeded; `run()` starts after the caller's
   * reply has been handed back.
   */
  private async startAgent(spec: {
    agentId: string;
    agentClass: string;
    state: unknown;
    runner?: RunnerKind | undefined;
    hook: HookName;
    event: Record<string, unknown>;
    createdAt?: number;
    files?: FileRef[];
  }): Promise<AgentEntry> {
    if (this.shuttingDown) throw new HostShuttingDownError(`host '${this.name}' is shutting down`);
    const { agentId } = spec;
    if (!isValidAgentId(agentId)) {
      throw new ValidationError(
        `agent_id '${agentId}' is invalid: use 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`,
      );
    }
    if (this.agents.has(agentId) || this.reserved.has(agentId) || (this.inactive.has(agentId) && spec.hook !== 'onActivation')) {
      throw new ConflictError(`agent '${agentId}' already exists on host '${this.name}'; dispose it first or pick another agent_id`);
    }
    this.reserved.set(agentId, { agentClass: spec.agentClass, files: spec.files ?? [] });
    try {
      const runner = this.runners[spec.runner ?? this.defaultRunner];
      const load = {
        agentId,
        agentClass: spec.agentClass,
        state: spec.state,
        hostName: this.name,
        hostUrl: this.address,
        root: this.root,
      };
      let { handle } = await runner.start(load, this.bridgeFor(agentId));
      // A class that declares another runner (`static runner`) moves there before any hook runs.
      if (spec.runner === undefined && handle.declaredRunner !== handle.kind) {
        await handle.stop(true);
        ({ handle } = await this.runners[handle.declaredRunner].start(load, this.bridgeFor(agentId)));
      }
      let state: unknown;
      try {
        state = (await handle.lifecycle(spec.hook, spec.event)) ?? spec.state;
      } catch (err) {
        await handle.stop(false);
        this.servicesGone(agentId);
        throw err;
      }
      const entry = new AgentEntry(agentId, spec.agentClass, handle, state, spec.createdAt);
      entry.files = spec.files ?? [];
      this.agents.set(agentId, entry);
      this.movedTo.delete(agentId);
      handle.onExit((info) => this.onProcessExit(entry, info.code, info.signal));
      setImmediate(() => this.startRun(entry));
      return entry;
    } finally {
      this.reserved.delete(agentId);
    }
  }

  private startRun(entry: AgentEntry): void {
    if (entry.status !== 'active') return;
    entry.handle.startRun((error) => {
      if (!error || entry.status !== 'active') return;
      entry.status = 'crashed';
      entry.error = `run() failed: ${error.error_type}: ${error.error}`;
      this.servicesGone(entry.id);
      this.failQueued(entry, new AgentCrashedError(`agent '${entry.id}' crashed: ${entry.error}`));
      entry.handle.kill();
      this.emit({ kind: 'agent-crashed', agent_id: entry.id, agent_class: entry.agentClass, error: entry.error });
    });
  }

  private onProcessExit(entry: AgentEntry, code: number | null, signal: string | null): void {
    if (entry.status !== 'active' && entry.status !== 'moving') return;
    entry.status = 'crashed';
    entry.exitcode = code ?? (signal ? -1 : null);
    entry.error = `agent process exited (${signal ? `signal ${signal}` : `code ${code}`})`;
    this.servicesGone(entry.id);
    this.failQueued(entry, new AgentCrashedError(`agent '${entry.id}' crashed: ${entry.error}`));
    this.emit({
      kind: 'agent-crashed',
      agent_id: entry.id,
      agent_class: entry.agentClass,
      error: entry.error,
      data: { exitcode: entry.exitcode, signal },
    });
  }

  private failQueued(entry: AgentEntry, err: Error): void {
    for (const d of entry.mailbox.drain()) {
      entry.mailbox.failed++;
      d.reject(err);
    }
  }

  async dispose(agentId: string): Promise<void> {
    if (!this.agents.has(agentId) && this.inactive.has(agentId)) {
      await this.activations.get(agentId)?.catch(() => {});
      if (!this.agents.has(agentId)) {
        const rec = this.inactive.get(agentId);
        await this.store!.deleteInactive(agentId);
        this.inactive.delete(agentId);
        this.removeWorkDir(agentId);
        this.services.unadvertise(agentId);
        this.scheduleActivationTimer();
        this.emit({ kind: 'dispose', agent_id: agentId, agent_class: rec?.agent_class ?? null, data: { active: false } });
        return;
      }
    }
    const entry = this.require(agentId);
    if (entry.status === 'disposing') throw new AgentNotFoundError(`agent '${agentId}' is already being disposed`);
    const wasActive = entry.status === 'active';
    entry.status = 'disposing';
    this.failQueued(entry, new AgentNotFoundError(`agent '${agentId}' was disposed before the message was handled`));
    let hookError: string | null = null;
    if (wasActive) {
      try {
        await entry.handle.lifecycle('onDisposing', this.eventBase(agentId));
      } catch (err) {
        hookError = err instanceof Error ? err.message : String(err);
      }
      await entry.handle.stop(true);
    } else {
      entry.handle.kill();
    }
    this.agents.delete(agentId);
    this.removeWorkDir(agentId);
    this.servicesGone(agentId);
    this.emit({ kind: 'dispose', agent_id: agentId, agent_class: entry.agentClass, error: hookError });
  }

  // ---- messages --------------------------------------------------------------------------

  /**
   * Queues a message for a local agent. Sync and future messages resolve to the handler's
   * reply; oneway messages resolve to `null` as soon as they are queued.
   */
  sendMessage(agentId: string, init: MessageInit, oneway = false, options: DeliveryOptions = {}): Promise<unknown> {
    const entry = this.agents.get(agentId);
    if (!entry) {
      if (this.inactive.has(agentId)) return this.sendToInactive(agentId, init, oneway, options);
      if (this.resident.isResident(agentId) && !this.shuttingDown) {
        return this.resident.ensure(agentId, 'message').then(() => this.sendMessage(agentId, init, oneway, options));
      }
      return Promise.reject(this.notFound(agentId));
    }
    if (entry.status === 'crashed') {
      return Promise.reject(new AgentCrashedError(`agent '${agentId}' has crashed (${entry.error}); dispose it`));
    }
    if (entry.status === 'disposing') return Promise.reject(this.notFound(agentId));
    if (init.kind === '_deactivate') {
      return this.deactivate(agentId, { reason: 'deactivate', source: 'message', policy: (init.args?.policy as Partial<DeactivationPolicy>) ?? null }).then(
        (proxy) => ({ deactivated: true, proxy }),
      );
    }
    const message = new Message({ ...init, message_type: oneway ? 'oneway' : init.message_type });
    const reply = new Promise<unknown>((resolve, reject) => {
      entry.mailbox.push({ message: message.toJSON(), resolve, reject }, message.priority);
    });
    this.pump(entry);
    if (oneway) {
      reply.catch((err: unknown) => {
        this.emit({
          kind: 'message-failed',
          agent_id: agentId,
          agent_class: entry.agentClass,
          message_id: message.message_id,
          error: err instanceof Error ? err.message : String(err),
          data: { kind: message.kind, oneway: true },
        });
      });
      return Promise.resolve(null);
    }
    return reply;
  }

  /** A message for a sleeping agent: wake it, store the message, or refuse, per its policy. */
  private async sendToInactive(agentId: string, init: MessageInit, oneway: boolean, options: DeliveryOptions): Promise<unknown> {
    if (init.kind === '_deactivate') return { deactivated: true, proxy: { host_url: this.address, agent_id: agentId } };
    const policy = this.inactive.get(agentId)!.policy;
    const mayActivate = policy.activate_on_message && options.activateIfInactive !== false;
    if (mayActivate || this.activations.has(agentId)) {
      await this.activate(agentId, 'message');
      return this.sendMessage(agentId, init, oneway, options);
    }
    if (!policy.queue_messages_when_inactive) {
      throw new AgentInactiveError(`agent '${agentId}' is inactive and its policy neither wakes it on messages nor queues them`);
    }
    if (options.noDelay) {
      throw new AgentInactiveError(`agent '${agentId}' is inactive; no_delay refuses to queue the message (activate it first)`);
    }
    const message = new Message({ ...init, message_type: oneway ? 'oneway' : init.message_type });
    await this.store!.enqueueMessage(agentId, message.message_id, message.toJSON() as unknown as Record<string, unknown>);
    this.emit({ kind: 'message-queued', agent_id: agentId, message_id: message.message_id, data: { kind: message.kind } });
    return new QueuedReceipt(message.message_id);
  }

  private pump(entry: AgentEntry): void {
    const mailbox = entry.mailbox;
    while (entry.status === 'active' && mailbox.inFlight < entry.handle.concurrency) {
      const delivery = mailbox.shift();
      if (!delivery) return;
      mailbox.inFlight++;
      entry.lastActivity = Date.now() / 1000;
      entry.handle.deliver(delivery.message).then(
        (value) => {
          mailbox.inFlight--;
          mailbox.delivered++;
          delivery.resolve(value);
          this.afterDelivery(entry);
        },
        (err: Error) => {
          mailbox.inFlight--;
          mailbox.failed++;
          delivery.reject(err);
          this.afterDelivery(entry);
        },
      );
    }
  }

  private deactivateFailed(entry: AgentEntry, err: Error): void {
    this.emit({ kind: 'deactivate-failed', agent_id: entry.id, agent_class: entry.agentClass, error: err.message });
  }

  private afterDelivery(entry: AgentEntry): void {
    entry.lastActivity = Date.now() / 1000;
    if (entry.deactivateWhenIdle && entry.mailbox.inFlight === 0 && entry.status === 'active') {
      const request = entry.deactivateWhenIdle;
      entry.deactivateWhenIdle = null;
      this.deactivate(entry.id, request).catch((err: Error) => this.deactivateFailed(entry, err));
      return;
    }
    if (entry.stopWhenIdle) {
      if (entry.mailbox.inFlight === 0) {
        entry.stopWhenIdle = false;
        void entry.handle.stop(true);
      }
      return;
    }
    this.pump(entry);
  }

  // ---- deactivation ----------------------------------------------------------------------

  /**
   * Puts an active agent to sleep: its hook picks the policy, its state and any queued
   * messages are written in one transaction, then its process stops. A failing hook cancels
   * (the agent stays active). Resolves to the agent's ref.
   */
  async deactivate(agentId: string, requestInit?: Partial<DeactivationRequest> | null): Promise<AgentRef> {
    const store = this.requireStore();
    const entry = this.require(agentId);
    if (entry.status === 'crashed') throw new AgentCrashedError(`agent '${agentId}' has crashed (${entry.error}); dispose it`);
    if (entry.status !== 'active') throw new LifecycleError(`agent '${agentId}' cannot be deactivated while ${entry.status}`);
    const request = normalizeRequest(requestInit);
    entry.status = 'moving';
    try {
      const event = { ...this.eventBase(agentId), reason: request.reason, request, policy: null };
      const { state, policy } = (await entry.handle.lifecycle('onDeactivating', event)) as { state: unknown; policy: DeactivationPolicy };
      const record: InactiveRecord = {
        agent_id: agentId,
        agent_class: entry.agentClass,
        state,
        policy,
        request: request as unknown as Record<string, unknown>,
        deactivated_at: Date.now() / 1000,
        created_at: entry.createdAt,
        files: entry.files,
      };
      // Messages that arrived while it was going to sleep: if they may wake it, they wake it
      // again once it sleeps (their senders get real replies); otherwise they are stored.
      const pending = entry.mailbox.drain();
      const redeliver = policy.activate_on_message && !this.shuttingDown;
      const stored = redeliver ? [] : pending;
      await store.putInactive(
        record,
        stored.map((d) => ({ message_id: d.message.message_id!, message: d.message as unknown as Record<string, unknown> })),
      );
      for (const d of stored) d.resolve(new QueuedReceipt(d.message.message_id!));
      this.indexInactive(record);
      entry.status = 'disposing';
      this.agents.delete(agentId);
      this.servicesGone(agentId);
      if (entry.mailbox.inFlight === 0) void entry.handle.stop(true);
      else entry.stopWhenIdle = true;
      this.scheduleActivationTimer();
      this.emit({ kind: 'deactivate', agent_id: agentId, agent_class: entry.agentClass, data: { request, policy } });
      if (redeliver) {
        for (const d of pending) this.sendMessage(agentId, d.message, d.message.message_type === 'oneway').then(d.resolve, d.reject);
      }
      return { host_url: this.address, agent_id: agentId };
    } catch (err) {
      if (entry.status === 'moving') {
        entry.status = 'active';
        this.pump(entry);
      }
      throw err;
    }
  }

  /** Wakes a sleeping agent (single flight): onActivation, run(), then its queued messages in order. */
  activate(agentId: string, reason = 'activate'): Promise<AgentRef> {
    if (this.agents.has(agentId)) return Promise.resolve({ host_url: this.address, agent_id: agentId });
    const running = this.activations.get(agentId);
    if (running) return running;
    const work = this.doActivate(agentId, reason).finally(() => this.activations.delete(agentId));
    this.activations.set(agentId, work);
    return work;
  }

  private async doActivate(agentId: string, reason: string): Promise<AgentRef> {
    const store = this.requireStore();
    const record = await store.getInactive(agentId);
    if (!record) throw this.notFound(agentId);
    const event = { ...this.eventBase(agentId), reason, request: record.request, policy: record.policy };
    try {
      await this.startAgent({
        agentId,
        agentClass: record.agent_class,
        state: record.state,
        hook: 'onActivation',
        event,
        createdAt: record.created_at,
        files: (record.files ?? []) as FileRef[],
      });
    } catch (err) {
      this.emit({ kind: 'activate-failed', agent_id: agentId, agent_class: record.agent_class, error: (err as Error).message, data: { reason } });
      throw err;
    }
    // The record goes only once the agent runs; queued messages stay until each is delivered.
    await store.deleteInactive(agentId, { keepQueue: true });
    this.inactive.delete(agentId);
    this.scheduleActivationTimer();
    this.emit({ kind: 'activate', agent_id: agentId, agent_class: record.agent_class, data: { reason } });
    for (const q of await store.queuedMessages(agentId)) {
      const entry = this.agents.get(agentId);
      if (!entry || entry.status !== 'active') break;
      const oneway = q.message.message_type === 'oneway';
      try {
        await this.sendMessage(agentId, q.message as unknown as MessageInit, false);
        this.emit({ kind: 'message-delivered', agent_id: agentId, message_id: q.message_id, data: { queued: true, oneway } });
      } catch (err) {
        this.emit({ kind: 'message-failed', agent_id: agentId, message_id: q.message_id, error: (err as Error).message, data: { queued: true } });
      }
      await store.deleteQueued([q.seq]);
    }
    return { host_url: this.address, agent_id: agentId };
  }

  /** One timer for the earliest `activate_at`; re-armed whenever the inactive set changes. */
  private scheduleActivationTimer(): void {
    if (this.activationTimer) clearTimeout(this.activationTimer);
    this.activationTimer = undefined;
    if (this.shuttingDown) return;
    let next = Infinity;
    for (const e of this.inactive.values()) if (e.policy.activate_at !== null) next = Math.min(next, e.policy.activate_at);
    if (next === Infinity) return;
    const delay = Math.min(60_000, Math.max(0, next * 1000 - Date.now()));
    this.activationTimer = setTimeout(() => {
      this.activationTimer = undefined;
      const now = Date.now() / 1000;
      for (const [id, e] of this.inactive) {
        if (e.policy.activate_at !== null && e.policy.activate_at <= now) this.activate(id, 'timer').catch(() => {});
      }
      this.scheduleActivationTimer();
    }, delay);
    this.activationTimer.unref();
  }

  /** The host's data directory (a temp dir for hosts started without one). */
  private dataDir(): string {
    return this.persistenceDir ?? join(tmpdir(), `taglets-${this.name}-${process.pid}`);
  }

  private workDirOf(agentId: string): string {
    return join(this.dataDir(), 'work', agentId);
  }

  private removeWorkDir(agentId: string): void {
    void rm(this.workDirOf(agentId), { recursive: true, force: true });
  }

  private storageOf(agentClass: string): ClassStorage {
    let s = this.classStorages.get(agentClass);
    if (!s) {
      s = new ClassStorage(join(this.dataDir(), 'storage'), agentClass, this.storageQuotaBytes);
      this.classStorages.set(agentClass, s);
    }
    return s;
  }

  private storageCall(agentClass: string, args: Record<string, unknown>): Promise<unknown> {
    const storage = this.storageOf(agentClass);
    const path = String(args.path ?? '');
    switch (args.op) {
      case 'read':
        return storage.read(path);
      case 'write':
        return storage.write(path, args.data as Uint8Array | string);
      case 'exists':
        return storage.exists(path);
      case 'delete':
        return storage.delete(path);
      case 'clear':
        return storage.clear();
      case 'list':
        return storage.list(String(args.prefix ?? ''));
      case 'status':
        return storage.status();
      default:
        throw new ValidationError(`unknown storage operation '${String(args.op)}'`);
    }
  }

  private requireStore(): Store {
    if (!this.store) throw new HostError(`host '${this.name}' has no store; deactivation needs a persistence dir`);
    return this.store;
  }

  // ---- services --------------------------------------------------------------------------

  /** Advertises a service offered by an active local agent. */
  advertise(
    agentId: string,
    spec: { name: string; capabilities?: string[]; metadata?: Record<string, unknown>; scope?: ServiceScope; ttl?: number | null },
  ): ServiceRecord {
    // An agent may advertise from its first hook (onCreation/onArrival/onActivation), while it is starting.
    const entry = this.agents.get(agentId);
    if (!(entry?.status === 'active' || (!entry && this.reserved.has(agentId)))) {
      throw new LifecycleError(`agent '${agentId}' must be active to advertise a service`);
    }
    if (!spec.name) throw new ValidationError('a service needs a name');
    const record = this.services.advertise({
      name: spec.name,
      proxy: { host_url: this.address, agent_id: agentId },
      capabilities: spec.capabilities ?? [],
      metadata: spec.metadata ?? {},
      scope: spec.scope ?? 'local',
      host_name: this.name,
      host_url: this.address,
      ttl: spec.ttl ?? null,
    });
    this.emit({ kind: 'service-advertise', agent_id: agentId, agent_class: entry?.agentClass ?? null, data: { service_name: spec.name, scope: record.scope } });
    return record;
  }

  unadvertise(agentId: string, name?: string): ServiceRecord[] {
    const removed = this.services.unadvertise(agentId, name);
    for (const r of removed) this.emit({ kind: 'service-remove', agent_id: agentId, data: { service_name: r.name } });
    return removed;
  }

  private servicesGone(agentId: string): void {
    for (const r of this.services.agentGone(agentId)) this.emit({ kind: 'service-remove', agent_id: agentId, data: { service_name: r.name } });
  }

  /**
   * Service records: this host's (any scope) and, with `mesh`, the mesh-scoped records of every
   * online peer, asked in parallel with a short timeout (an unreachable peer is skipped).
   */
  async lookupServices(query: ServiceQuery & { mesh?: boolean }, timeoutMs = 1000): Promise<ServiceRecord[]> {
    const { mesh, ...q } = query;
    const local = this.services.lookup({ ...q, scope: q.scope === 'mesh' && !mesh ? 'mesh' : undefined });
    if (!mesh || !this.remote) return local;
    const peers = this.directory.availableHosts({ onlineOnly: true, includeSelf: false });
    const remote = await Promise.all(
      peers.map((p) => this.remote!.services(p.url, { ...q, scope: 'mesh' }, timeoutMs).catch(() => [] as ServiceRecord[])),
    );
    return [...local, ...remote.flat()];
  }

  // ---- mobility --------------------------------------------------------------------------

  private transport(): TransferTransport {
    return this.requireRemote();
  }

  private transferFailed(agentId: string, agentClass: string, destination: string, f: TransferFailure): void {
    this.emit({
      kind: 'transfer-failed',
      agent_id: agentId,
      agent_class: agentClass,
      error: f.error,
      data: { destination, stage: f.stage, attempt: f.attempt, attempts: f.attempts },
    });
  }

  /**
   * Re-hashes the agent's registered files and uploads each to the target as a transit
   * artifact. On failure the artifacts already uploaded are deleted and the move is cancelled.
   */
  private async shipFiles(entry: AgentEntry, url: string): Promise<ShippedFile[]> {
    const shipped: ShippedFile[] = [];
    try {
      for (const f of entry.files) {
        const fresh = await describeFile(f.current_path, { name: f.name, mode: f.mode }, { name: this.name, url: this.address }).catch((err: Error) => {
          throw new TransferError(`registered file '${f.name}' (${f.current_path}) cannot be shipped: ${err.message}`);
        });
        const ref: FileRef = { ...f, size_bytes: fresh.size_bytes, sha256: fresh.sha256, source_modified_at: fresh.source_modified_at };
        const id = this.isLocal(url) ? await this.shipLocally(ref, entry.id) : await this.requireRemote().shipFile(url, ref, entry.id);
        shipped.push({ ...ref, transit_artifact_id: id });
      }
      return shipped;
    } catch (err) {
      await this.dropShipped(url, shipped);
      throw err;
    }
  }

  private async shipLocally(file: FileRef, owner: string): Promise<string> {
    if (!this.artifacts) throw new TransferError('this host has no artifact store for registered files');
    const rec = await this.artifacts.upload(createReadStream(file.current_path), { name: file.name, owner_agent_id: owner, sha256: file.sha256, size: file.size_bytes });
    return rec.artifact_id;
  }

  private async dropShipped(url: string, shipped: ShippedFile[]): Promise<void> {
    for (const f of shipped) {
      await (this.isLocal(url) ? this.artifacts?.delete(f.transit_artifact_id) : this.remote?.deleteArtifact(url, f.transit_artifact_id))?.catch(() => {});
    }
  }

  /** After the target accepted a dispatched agent: `move` sources outside the work dir go. */
  private async deleteMovedSources(files: FileRef[]): Promise<void> {
    for (const f of files) if (f.mode === 'move') await rm(f.current_path, { force: true }).catch(() => {});
  }

  private envelope(kind: EnvelopeKind, entry: AgentEntry, agentId: string, state: unknown, ticket: TransferTicket, targetUrl: string, targetName: string | null): Envelope {
    return {
      kind,
      agent_id: agentId,
      agent_class: entry.agentClass,
      source_host_name: this.name,
      source_host_address: this.address,
      target_host_name: targetName,
      target_host_address: targetUrl,
      clone_of: kind === 'clone' ? entry.id : null,
      created_at: Date.now() / 1000,
      metadata: { transfer_ticket: ticket },
      state,
    };
  }

  /**
   * Moves an agent to another host (`reason` `dispatch`, or `retract` when its requester
   * pulls it back). The source changes only after the target accepted the agent: a failed
   * preflight, hook, or transfer leaves it active and intact here.
   */
  async dispatch(agentId: string, target: TicketInit | string, reason: 'dispatch' | 'retract' = 'dispatch'): Promise<AgentRef> {
    const entry = this.require(agentId);
    if (entry.status !== 'active') {
      throw new TransferError(`agent '${agentId}' cannot move while ${entry.status === 'moving' ? 'already moving' : entry.status}`);
    }
    const ticket = normalizeTicket(target);
    const url = this.directory.resolveUrl(ticket.destination);
    if (this.isLocal(url)) return { host_url: this.address, agent_id: agentId };
    const fail = (f: TransferFailure): void => this.transferFailed(agentId, entry.agentClass, url, f);
    entry.status = 'moving';
    try {
      const profile = await preflight(this.transport(), url, ticket, fail);
      const event = {
        ...this.eventBase(agentId),
        source_host_name: this.name,
        source_host_address: this.address,
        target_host_name: profile.name,
        target_host_address: url,
        reason,
      };
      const state = await entry.handle.lifecycle(reason === 'retract' ? 'onReverting' : 'onDispatching', event);
      entry.lastState = state;
      const envelope = this.envelope(reason, entry, agentId, state, ticket, url, profile.name);
      const shipped = await this.shipFiles(entry, url);
      envelope.metadata.registered_files = shipped;
      let ref: AgentRef;
      try {
        ref = await transferWithRetries(this.transport(), url, envelope, ticket, fail);
      } catch (err) {
        await this.dropShipped(url, shipped);
        throw err;
      }
      await this.deleteMovedSources(entry.files);
      this.departed(entry, ref);
      this.emit({ kind: reason, agent_id: agentId, agent_class: entry.agentClass, data: event });
      return ref;
    } catch (err) {
      if (entry.status === 'moving') {
        entry.status = 'active';
        this.pump(entry);
      }
      throw err;
    }
  }

  /** The agent now lives elsewhere: queued messages follow it, its process stops when idle. */
  private departed(entry: AgentEntry, ref: AgentRef): void {
    entry.status = 'disposing';
    this.agents.delete(entry.id);
    this.removeWorkDir(entry.id);
    this.servicesGone(entry.id);
    this.movedTo.set(entry.id, ref);
    if (this.movedTo.size > 10_000) this.movedTo.delete(this.movedTo.keys().next().value!);
    for (const d of entry.mailbox.drain()) {
      this.requireRemote().send(ref, d.message, { oneway: d.message.message_type === 'oneway' }).then(d.resolve, d.reject);
    }
    if (entry.mailbox.inFlight === 0) void entry.handle.stop(true);
    else entry.stopWhenIdle = true;
  }

  /** Copies an agent to `target` (this host when omitted); the source stays active. */
  async clone(agentId: string, target?: TicketInit | string | null): Promise<AgentRef> {
    const entry = this.require(agentId);
    if (entry.status !== 'active') throw new TransferError(`agent '${agentId}' cannot be cloned while ${entry.status}`);
    const ticket = normalizeTicket(target ?? this.address);
    const url = this.directory.resolveUrl(ticket.destination);
    const cloneId = newId();
    const local = this.isLocal(url);
    const fail = (f: TransferFailure): void => this.transferFailed(agentId, entry.agentClass, url, f);
    const profileName = local ? this.name : (await preflight(this.transport(), url, ticket, fail)).name;
    const event = {
      ...this.eventBase(agentId),
      source_agent_id: agentId,
      clone_agent_id: cloneId,
      source_host_name: this.name,
      source_host_address: this.address,
      target_host_name: profileName,
      target_host_address: url,
    };
    const state = await entry.handle.lifecycle('onCloning', event);
    const envelope = this.envelope('clone', entry, cloneId, state, ticket, url, profileName);
    // A clone always copies its files: the source keeps them whatever their mode.
    const shipped = await this.shipFiles(entry, url);
    envelope.metadata.registered_files = shipped;
    let ref: AgentRef;
    try {
      ref = local ? await this.arrive(envelope) : await transferWithRetries(this.transport(), url, envelope, ticket, fail);
    } catch (err) {
      await this.dropShipped(url, shipped);
      throw err;
    }
    await entry.handle.lifecycle('onCloned', event).catch(() => {});
    this.emit({ kind: 'clone', agent_id: agentId, agent_class: entry.agentClass, data: event });
    return ref;
  }

  /** Receives an agent from another host (or a local clone); runs onArrival/onClone, then run(). */
  async arrive(envelope: Envelope): Promise<AgentRef> {
    const isClone = envelope.kind === 'clone';
    if (envelope.kind === 'activation') throw new ValidationError('activation envelopes are not accepted over the network');
    const hook: HookName = isClone ? 'onClone' : 'onArrival';
    const base = this.eventBase(envelope.agent_id);
    const event = isClone
      ? {
          ...base,
          source_agent_id: envelope.clone_of,
          clone_agent_id: envelope.agent_id,
          source_host_name: envelope.source_host_name,
          source_host_address: envelope.source_host_address,
          target_host_name: this.name,
          target_host_address: this.address,
        }
      : {
          ...base,
          source_host_name: envelope.source_host_name,
          source_host_address: envelope.source_host_address,
          target_host_name: this.name,
          target_host_address: this.address,
          reason: envelope.kind,
        };
    // Registered files land in the new work dir before any arrival hook runs.
    const shipped = (envelope.metadata.registered_files ?? []) as ShippedFile[];
    if (shipped.length && !this.artifacts) throw new TransferError(`host '${this.name}' has no artifact store for registered files`);
    const workDir = this.workDirOf(envelope.agent_id);
    const files = shipped.length ? await materializeFiles(shipped, workDir, this.artifacts!, { name: this.name, url: this.address }) : [];
    if (envelope.metadata.transfer_ticket?.arrival_mode === 'inactive') {
      try {
        await this.arriveAsleep(envelope, files);
      } catch (err) {
        if (files.length) await rm(workDir, { recursive: true, force: true });
        throw err;
      }
      this.emit({ kind: isClone ? 'clone-arrival' : 'arrival', agent_id: envelope.agent_id, agent_class: envelope.agent_class, data: { ...event, active: false } });
      return { host_url: this.address, agent_id: envelope.agent_id };
    }
    let entry: AgentEntry;
    try {
      entry = await this.startAgent({
        agentId: envelope.agent_id,
        agentClass: envelope.agent_class,
        state: envelope.state,
        hook,
        event,
        files,
      });
    } catch (err) {
      if (files.length) await rm(workDir, { recursive: true, force: true });
      throw err;
    }
    this.emit({
      kind: isClone ? 'clone-arrival' : 'arrival',
      agent_id: entry.id,
      agent_class: entry.agentClass,
      data: { ...event, active: true },
    });
    return { host_url: this.address, agent_id: entry.id };
  }

  /** `arrival_mode: 'inactive'`: the agent is stored asleep (default policy) instead of started. */
  private async arriveAsleep(envelope: Envelope, files: FileRef[]): Promise<void> {
    const id = envelope.agent_id;
    if (!isValidAgentId(id)) throw new ValidationError(`agent_id '${id}' is invalid`);
    if (this.agents.has(id) || this.reserved.has(id) || this.inactive.has(id)) {
      throw new ConflictError(`agent '${id}' already exists on host '${this.name}'`);
    }
    const record: InactiveRecord = {
      agent_id: id,
      agent_class: envelope.agent_class,
      state: envelope.state,
      policy: normalizePolicy(null),
      request: normalizeRequest({ reason: `${envelope.kind}-arrival`, source: 'transfer' }) as unknown as Record<string, unknown>,
      deactivated_at: Date.now() / 1000,
      created_at: envelope.created_at,
      files,
    };
    await this.requireStore().putInactive(record);
    this.indexInactive(record);
    this.scheduleActivationTimer();
  }

  // ---- queries ---------------------------------------------------------------------------

  private require(agentId: string): AgentEntry {
    const entry = this.agents.get(agentId);
    if (!entry) throw this.notFound(agentId);
    return entry;
  }

  private notFound(agentId: string): AgentNotFoundError {
    const moved = this.movedTo.get(agentId);
    if (moved) {
      return new AgentNotFoundError(`agent '${agentId}' moved from host '${this.name}' to ${moved.host_url}`, { moved_to: moved });
    }
    return new AgentNotFoundError(`no agent '${agentId}' on host '${this.name}'`);
  }

  private summarize(entry: AgentEntry): AgentSummary {
    return {
      agent_id: entry.id,
      agent_class: entry.agentClass,
      host: this.name,
      address: this.address,
      active: entry.status === 'active',
      runner: entry.handle.kind,
      pid: entry.handle.pid,
      crashed: entry.status === 'crashed',
      exitcode: entry.exitcode,
      error: entry.error,
      created_at: entry.createdAt,
      mailbox: entry.mailbox.counters(),
    };
  }

  listAgents(which: 'active' | 'inactive' | 'all' = 'all'): AgentSummary[] {
    const out: AgentSummary[] = [];
    if (which !== 'inactive') for (const e of this.agents.values()) out.push(this.summarize(e));
    if (which !== 'active') for (const id of this.inactive.keys()) if (!this.agents.has(id)) out.push(this.summarizeInactive(id));
    return out;
  }

  private summarizeInactive(agentId: string): AgentSummary {
    const e = this.inactive.get(agentId)!;
    return {
      agent_id: agentId,
      agent_class: e.agent_class,
      host: this.name,
      address: this.address,
      active: false,
      runner: null,
      pid: null,
      crashed: false,
      exitcode: null,
      error: null,
      created_at: e.created_at,
      deactivated_at: e.deactivated_at,
      mailbox: { queued_count: 0, in_flight_count: 0, delivered_count: 0, failed_count: 0 },
    };
  }

  getAgent(agentId: string): AgentSummary {
    if (!this.agents.has(agentId) && this.inactive.has(agentId)) return this.summarizeInactive(agentId);
    return this.summarize(this.require(agentId));
  }

  /**
   * Summary plus the state: live for active agents (the last known one if the agent does not
   * answer in 2 s); from the store, with policy and queued count, for sleeping ones.
   */
  async getState(agentId: string): Promise<AgentSummary & { state: unknown; state_live: boolean }> {
    if (!this.agents.has(agentId) && this.inactive.has(agentId)) {
      const record = await this.requireStore().getInactive(agentId);
      if (!record) throw this.notFound(agentId);
      const queued = await this.requireStore().queuedCount(agentId);
      return {
        ...this.summarizeInactive(agentId),
        state: record.state,
        state_live: false,
        deactivation_policy: record.policy,
        queued_message_count: queued,
      } as AgentSummary & { state: unknown; state_live: boolean };
    }
    const entry = this.require(agentId);
    let live = false;
    if (entry.status === 'active') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<typeof STALE>((resolve) => {
        timer = setTimeout(() => resolve(STALE), STATE_FETCH_TIMEOUT_MS);
      });
      const state = await Promise.race([entry.handle.state().catch(() => STALE), timeout]);
      clearTimeout(timer);
      if (state !== STALE) {
        entry.lastState = state;
        live = true;
      }
    }
    return { ...this.summarize(entry), state: entry.lastState, state_live: live };
  }

  // ---- calls from agents -----------------------------------------------------------------

  private eventBase(agentId: string): Record<string, unknown> {
    return { agent_id: agentId, host_name: this.name, host_address: this.address, timestamp: Date.now() / 1000 };
  }

  private bridgeFor(agentId: string): HostBridge {
    return { call: (method, args) => this.hostCall(agentId, method, args) };
  }

  private async hostCall(callerId: string, method: HostCallMethod, args: Record<string, unknown>): Promise<unknown> {
    const ref = args.ref as AgentRef | undefined;
    switch (method) {
      case 'send': {
        const message = args.message as MessageInit;
        const sender = { host_url: this.address, agent_id: callerId };
        const withSender = { ...message, sender: message.sender ?? sender };
        const oneway = message.message_type === 'oneway';
        if (this.isLocal(ref!.host_url)) return this.sendMessage(ref!.agent_id, withSender, oneway);
        return this.requireRemote().send(ref!, withSender, { oneway, timeoutMs: args.timeout as number | undefined });
      }
      case 'create':
        return this.createAgent(args as unknown as CreateAgentRequest);
      case 'list':
        return this.listAgents();
      case 'info':
        if (this.isLocal(ref!.host_url)) return this.getAgent(ref!.agent_id);
        return this.requireRemote().info(ref!);
      case 'dispose':
        if (this.isLocal(ref!.host_url)) {
          // An agent disposing itself must not wait for its own handler to finish.
          if (ref!.agent_id === callerId) {
            setImmediate(() => void this.dispose(callerId).catch(() => {}));
            return null;
          }
          return this.dispose(ref!.agent_id);
        }
        return this.requireRemote().dispose(ref!);
      case 'dispatch':
        return this.dispatch(callerId, args.target as TicketInit | string);
      case 'clone':
        return this.clone(callerId, (args.target as TicketInit | string | null) ?? null);
      case 'deactivate': {
        const entry = this.require(callerId);
        const request = normalizeRequest({ reason: 'deactivate', source: 'self', policy: (args.policy as Partial<DeactivationPolicy>) ?? null, metadata: (args.metadata as Record<string, unknown>) ?? {} });
        // Sleep once the handler that asked has returned, so its last changes are kept.
        if (entry.mailbox.inFlight > 0) entry.deactivateWhenIdle = request;
        else setImmediate(() => void this.deactivate(callerId, request).catch((err: Error) => this.deactivateFailed(entry, err)));
        return null;
      }
      case 'storage': {
        // Also during the first hook, before the agent is in the table.
        const agentClass = this.agents.get(callerId)?.agentClass ?? this.reserved.get(callerId)?.agentClass;
        if (agentClass === undefined) throw this.notFound(callerId);
        return this.storageCall(agentClass, args);
      }
      case 'workdir': {
        const dir = this.workDirOf(callerId);
        await mkdir(dir, { recursive: true });
        return dir;
      }
      case 'advertise':
        return this.advertise(callerId, args as Parameters<Host['advertise']>[1]);
      case 'unadvertise':
        return this.unadvertise(callerId, args.name as string | undefined);
      case 'services':
        return this.lookupServices(args as ServiceQuery & { mesh?: boolean });
      case 'register-file': {
        const entry = this.agents.get(callerId);
        if (!entry) throw this.notFound(callerId);
        const ref = await describeFile(String(args.path), { name: args.name as string | undefined, mode: args.mode as FileMode | undefined }, { name: this.name, url: this.address });
        entry.files = [...entry.files.filter((f) => f.name !== ref.name), ref];
        return ref;
      }
      case 'files':
        return this.agents.get(callerId)?.files ?? this.reserved.get(callerId)?.files ?? [];
      case 'unregister-file': {
        const entry = this.agents.get(callerId);
        if (!entry) throw this.notFound(callerId);
        const before = entry.files.length;
        entry.files = entry.files.filter((f) => f.name !== args.name);
        return entry.files.length < before;
      }
      case 'hosts':
        return this.directory.availableHosts(args as { onlineOnly?: boolean; includeSelf?: boolean });
      case 'host-online':
        return this.directory.isHostOnline(String(args.host));
      case 'wait-host':
        return this.directory.waitForHost(String(args.host), args.timeoutMs as number | undefined);
      case 'emit': {
        const entry = this.agents.get(callerId);
        this.emit({
          kind: 'agent-event',
          agent_id: callerId,
          agent_class: entry?.agentClass ?? null,
          data: { name: args.name, data: args.data ?? null },
        });
        return null;
      }
    }
  }

  private requireRemote(): RemoteAgents {
    if (!this.remote) throw new TagletsError('this host has no client for remote agents');
    return this.remote;
  }

  // ---- shutdown --------------------------------------------------------------------------

  /** Graceful stop: refuse new work, fail queued messages, stop every agent process. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.activationTimer) clearTimeout(this.activationTimer);
    this.resident.stop();
    await Promise.allSettled([...this.activations.values()]);
    // Every active agent goes to sleep and comes back when the host starts again.
    await Promise.allSettled([...this.agents.values()].map((entry) => this.stopForShutdown(entry)));
    this.agents.clear();
    await Promise.all([this.runners.process.close(), this.runners.inline.close()]);
    this.emit({ kind: 'context-shutdown' });
    await this.store?.close();
  }

  private async stopForShutdown(entry: AgentEntry): Promise<void> {
    if (entry.status === 'active' && this.store) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), SHUTDOWN_DEACTIVATE_MS)));
      // Resident providers are started (eager) or created on use (lazy) by the launch config.
      const request = { reason: 'shutdown', source: 'host', policy: { activate_on_startup: !this.resident.isResident(entry.id) } };
      const outcome = await Promise.race([this.deactivate(entry.id, request).then(() => 'ok' as const, (err: Error) => err), timedOut]);
      clearTimeout(timer);
      if (outcome === 'ok') return;
      this.emit({
        kind: 'deactivate-failed',
        agent_id: entry.id,
        agent_class: entry.agentClass,
        error: outcome === 'timeout' ? `no answer within ${SHUTDOWN_DEACTIVATE_MS} ms; process killed` : outcome.message,
        data: { reason: 'shutdown' },
      });
    }
    entry.status = 'disposing';
    this.failQueued(entry, new HostShuttingDownError(`host '${this.name}' is shutting down`));
    entry.handle.kill();
  }

  /** Hard stop: kill every child at once. */
  kill(): void {
    this.shuttingDown = true;
    for (const entry of this.agents.values()) entry.handle.kill();
    this.agents.clear();
    this.runners.process.kill();
  }
}

const STALE = Symbol('stale');

interface InactiveIndexEntry {
  agent_class: string;
  policy: DeactivationPolicy;
  deactivated_at: number;
  created_at: number;
}

/** The answer to a message that was stored for a sleeping agent instead of delivered. */
export class QueuedReceipt {
  readonly queued = true as const;
  readonly message_id: string;
  constructor(messageId: string) {
    this.message_id = messageId;
  }
}

/** How long graceful shutdown waits for one agent to deactivate before killing it. */
const SHUTDOWN_DEACTIVATE_MS = 5000;
