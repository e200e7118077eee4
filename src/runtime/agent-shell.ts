/**
 * Runs one agent instance: imports its class, builds its state, calls hooks and handlers.
 * The same shell serves the process runner (inside the child) and the inline runner (inside
 * the host), so both behave identically; only the {@link HostBridge} differs.
 */
import type {
  Agent,
  AgentClass,
  AgentContext,
  AgentHandle,
  AgentSummary,
  AdvertiseOptions,
  AgentStorage,
  CreateAgentOptions,
  FindServicesOptions,
  RegisteredFile,
  ServiceInfo,
  MoveTarget,
  RunnerKind,
  SendOptions,
} from '../core/agent.ts';
import { HandlerError, LifecycleError, NotHandledError, TagletsError } from '../core/errors.ts';
import { Message, type AgentRef, type MessageInit } from '../core/message.ts';
import { normalizePolicy, type DeactivationPolicy, type DeactivationRequest } from '../core/deactivation.ts';
import { loadAgentClass } from './class-loader.ts';
import { ResourceRegistry } from './resources.ts';
import type { AvailableHostsOptions, HostRef } from './directory.ts';

/** Calls from an agent to its host (over IPC for child processes, direct for inline agents). */
export interface HostBridge {
  call(method: HostCallMethod, args: Record<string, unknown>): Promise<unknown>;
}
export type HostCallMethod =
  | 'send'
  | 'create'
  | 'list'
  | 'info'
  | 'dispose'
  | 'emit'
  | 'hosts'
  | 'host-online'
  | 'wait-host'
  | 'dispatch'
  | 'clone'
  | 'deactivate'
  | 'storage'
  | 'workdir'
  | 'advertise'
  | 'unadvertise'
  | 'services'
  | 'register-file'
  | 'files'
  | 'unregister-file';

export interface LoadSpec {
  agentId: string;
  agentClass: string;
  state: unknown;
  hostName: string;
  hostUrl: string;
  root: string;
}

export type HookName =
  | 'onCreation'
  | 'onDisposing'
  | 'onDispatching'
  | 'onReverting'
  | 'onArrival'
  | 'onCloning'
  | 'onCloned'
  | 'onClone'
  | 'onDeactivating'
  | 'onActivation';

export interface LoadResult {
  concurrency: number;
  runner: RunnerKind;
}

/**
 * Hooks whose caller needs the state afterwards (to ship it, or as the first known state).
 * Other hooks answer without it: a 64 MiB state should cross the IPC channel once, not twice.
 */
/** Hooks after which the agent leaves its process: its resources are released first. */
const CLEANUP_AFTER = new Set<HookName>(['onDispatching', 'onReverting', 'onDisposing']);

const HOOKS_RETURNING_STATE = new Set<HookName>(['onCreation', 'onDispatching', 'onReverting', 'onCloning']);

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A copy of the class default with the given state merged over it (missing keys take defaults). */
export function buildState(defaultState: unknown, given: unknown): unknown {
  const base = defaultState === undefined ? {} : structuredClone(defaultState);
  if (given === undefined || given === null) return base;
  if (isPlainObject(base) && isPlainObject(given)) return { ...base, ...given };
  return given;
}

/**
 * A handle whose only own properties are `host_url` and `agent_id`, so returning it from a
 * handler (structured clone over IPC, then JSON) yields exactly the agent's reference.
 */
class BridgeHandle implements AgentHandle {
  readonly host_url: string;
  readonly agent_id: string;
  readonly #bridge: HostBridge;
  constructor(bridge: HostBridge, ref: AgentRef) {
    this.#bridge = bridge;
    this.host_url = ref.host_url;
    this.agent_id = ref.agent_id;
  }
  get ref(): AgentRef {
    return { host_url: this.host_url, agent_id: this.agent_id };
  }
  private get bridge(): HostBridge {
    return this.#bridge;
  }
  send(kind: string, args: Record<string, unknown> = {}, options: SendOptions = {}): Promise<unknown> {
    return this.sendMessage({ kind, args, priority: options.priority, message_type: 'sync' }, options.timeout);
  }
  sendMessage(message: MessageInit, timeout?: number): Promise<unknown> {
    return this.bridge.call('send', { ref: this.ref, message: new Message(message).toJSON(), timeout });
  }
  async sendOneway(kind: string, args: Record<string, unknown> = {}, options: SendOptions = {}): Promise<void> {
    const message = new Message({ kind, args, priority: options.priority, message_type: 'oneway' }).toJSON();
    await this.bridge.call('send', { ref: this.ref, message });
  }
  async info(): Promise<AgentSummary> {
    return (await this.bridge.call('info', { ref: this.ref })) as AgentSummary;
  }
  async dispose(): Promise<void> {
    await this.bridge.call('dispose', { ref: this.ref });
  }
}

class BridgeStorage implements AgentStorage {
  readonly #bridge: HostBridge;
  constructor(bridge: HostBridge) {
    this.#bridge = bridge;
  }
  private op<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    return this.#bridge.call('storage', { op, ...args }) as Promise<T>;
  }
  read(path: string): Promise<Buffer> {
    return this.op<Uint8Array>('read', { path }).then((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  async readText(path: string): Promise<string> {
    return (await this.read(path)).toString('utf8');
  }
  write(path: string, data: Uint8Array | string): Promise<void> {
    return this.op('write', { path, data });
  }
  exists(path: string): Promise<boolean> {
    return this.op('exists', { path });
  }
  delete(path: string): Promise<boolean> {
    return this.op('delete', { path });
  }
  clear(): Promise<void> {
    return this.op('clear');
  }
  list(prefix?: string): Promise<string[]> {
    return this.op('list', { prefix: prefix ?? '' });
  }
  status(): ReturnType<AgentStorage['status']> {
    return this.op('status');
  }
}

class ShellContext implements AgentContext {
  readonly agentId: string;
  readonly resources = new ResourceRegistry();
  readonly storage: AgentStorage;
  readonly agentClass: string;
  readonly hostName: string;
  readonly hostUrl: string;
  private readonly bridge: HostBridge;
  constructor(spec: LoadSpec, bridge: HostBridge) {
    this.agentId = spec.agentId;
    this.agentClass = spec.agentClass;
    this.hostName = spec.hostName;
    this.hostUrl = spec.hostUrl;
    this.bridge = bridge;
    this.storage = new BridgeStorage(bridge);
  }
  async advertise(name: string, options: AdvertiseOptions = {}): Promise<ServiceInfo> {
    return (await this.bridge.call('advertise', { name, ...options })) as ServiceInfo;
  }
  async unadvertise(name?: string): Promise<ServiceInfo[]> {
    return (await this.bridge.call('unadvertise', name === undefined ? {} : { name })) as ServiceInfo[];
  }
  async findServices(name?: string, options: FindServicesOptions = {}): Promise<ServiceInfo[]> {
    return (await this.bridge.call('services', {
      ...(name !== undefined ? { name } : {}),
      ...(options.capability !== undefined ? { capability: options.capability } : {}),
      mesh: options.scope === 'mesh',
    })) as ServiceInfo[];
  }
  async registerFile(path: string, options: { name?: string; mode?: 'copy' | 'move' } = {}): Promise<RegisteredFile> {
    return (await this.bridge.call('register-file', { path, ...options })) as RegisteredFile;
  }
  async files(): Promise<RegisteredFile[]> {
    return (await this.bridge.call('files', {})) as RegisteredFile[];
  }
  async unregisterFile(name: string): Promise<boolean> {
    return (await this.bridge.call('unregister-file', { name })) as boolean;
  }
  async workDir(): Promise<string> {
    return (await this.bridge.call('workdir', {})) as string;
  }
  getProxy(target: string | AgentRef): AgentHandle {
    const ref = typeof target === 'string' ? { host_url: this.hostUrl, agent_id: target } : target;
    return new BridgeHandle(this.bridge, ref);
  }
  async createAgent(agentClass: string, options: CreateAgentOptions = {}): Promise<AgentHandle> {
    const ref = (await this.bridge.call('create', {
      agent_class: agentClass,
      state: options.state,
      init: options.init,
      agent_id: options.agentId,
    })) as AgentRef;
    return new BridgeHandle(this.bridge, ref);
  }
  async listAgents(): Promise<AgentSummary[]> {
    return (await this.bridge.call('list', {})) as AgentSummary[];
  }
  async emitEvent(name: string, data?: unknown): Promise<void> {
    await this.bridge.call('emit', { name, data });
  }
  async dispatch(target: MoveTarget): Promise<AgentHandle> {
    return new BridgeHandle(this.bridge, (await this.bridge.call('dispatch', { target })) as AgentRef);
  }
  async clone(target?: MoveTarget): Promise<AgentHandle> {
    return new BridgeHandle(this.bridge, (await this.bridge.call('clone', { target: target ?? null })) as AgentRef);
  }
  async deactivate(policy?: Partial<DeactivationPolicy>, metadata?: Record<string, unknown>): Promise<void> {
    await this.bridge.call('deactivate', { policy: policy ?? null, metadata: metadata ?? {} });
  }
  async availableHosts(options: AvailableHostsOptions = {}): Promise<HostRef[]> {
    return (await this.bridge.call('hosts', { ...options })) as HostRef[];
  }
  async isHostOnline(nameOrUrl: string): Promise<boolean> {
    return (await this.bridge.call('host-online', { host: nameOrUrl })) as boolean;
  }
  async waitForHost(nameOrUrl: string, timeoutMs = 10_000): Promise<HostRef> {
    return (await this.bridge.call('wait-host', { host: nameOrUrl, timeoutMs })) as HostRef;
  }
}

export class AgentShell {
  readonly cls: AgentClass;
  readonly agent: Agent<object>;
  private constructor(cls: AgentClass, agent: Agent<object>) {
    this.cls = cls;
    this.agent = agent;
  }

  static async load(spec: LoadSpec, bridge: HostBridge): Promise<AgentShell> {
    const cls = await loadAgentClass(spec.agentClass, spec.root);
    const agent = new cls();
    agent.state = buildState(cls.defaultState, spec.state) as object;
    agent.context = new ShellContext(spec, bridge);
    return new AgentShell(cls, agent);
  }

  loadResult(): LoadResult {
    return {
      concurrency: this.concurrency,
      runner: this.cls.runner === 'inline' ? 'inline' : 'process',
    };
  }

  get concurrency(): number {
    const n = Number(this.cls.concurrency);
    return Number.isInteger(n) && n >= 1 ? n : 1;
  }

  async hook(name: HookName, event: Record<string, unknown>): Promise<unknown> {
    try {
      if (name === 'onCreation') await this.agent.onCreation(event.init);
      else if (name === 'onDeactivating') {
        // The agent picks its policy, then sees the final one in its hook.
        const request = event.request as DeactivationRequest;
        const policy = normalizePolicy((await this.agent.deactivationPolicy(request)) ?? request.policy);
        await this.agent.onDeactivating({ ...(event as object), policy } as never);
        await (this.agent.context as ShellContext).resources.cleanup();
        return { state: this.agent.state, policy };
      } else await this.agent[name](event as never);
      if (CLEANUP_AFTER.has(name)) await (this.agent.context as ShellContext).resources.cleanup();
    } catch (err) {
      if (err instanceof TagletsError) throw err;
      throw new LifecycleError(`${this.cls.name}.${name} failed: ${describe(err)}`);
    }
    return HOOKS_RETURNING_STATE.has(name) ? this.agent.state : undefined;
  }

  async handle(message: Message): Promise<unknown> {
    try {
      return await this.agent.handleMessage(message);
    } catch (err) {
      // A bare notHandled() does not know the kind; say which one was declined.
      if (err instanceof NotHandledError && !err.message.includes(`'`)) {
        throw new NotHandledError(`${this.cls.name} does not handle message kind '${message.kind}'`);
      }
      if (err instanceof TagletsError) throw err;
      throw new HandlerError(`${this.cls.name} failed on '${message.kind}': ${describe(err)}`);
    }
  }

  async run(): Promise<void> {
    await this.agent.run();
  }
}
