/**
 * HTTP client for taglets hosts: undici `request` over one shared keep-alive pool, the
 * wire codec for bodies, and errors rebuilt from `{error_type, error}` into taglets errors.
 */
import { Agent as Dispatcher, request } from 'undici';
import type { AgentSummary } from '../core/agent.ts';
import { decode, encode } from '../core/codec.ts';
import { RemoteHostError, TimeoutError, errorFromWire, isWireError } from '../core/errors.ts';
import { Message, type AgentRef, type MessageInit } from '../core/message.ts';

let sharedDispatcher: Dispatcher | undefined;
/** One keep-alive connection pool per process, shared by every client. */
export function defaultDispatcher(): Dispatcher {
  sharedDispatcher ??= new Dispatcher({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 32 });
  return sharedDispatcher;
}

export interface ClientOptions {
  /** Bearer key; defaults to the TAGLETS_API_KEY environment variable. */
  apiKey?: string;
  /** Milliseconds before a non-message call fails with TimeoutError. @default 30000 */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

export interface CallOptions {
  /** Milliseconds to wait for the answer; 0 waits as long as it takes. */
  timeoutMs?: number;
}

export interface HostHealth {
  name: string;
  address: string;
  version: string;
  mesh_version: string;
  code_version: string;
  mesh: boolean;
  uptime_s: number;
  active_count: number;
  inactive_count: number;
  capabilities: Record<string, readonly string[]>;
  tags: string[];
  properties: Record<string, string>;
  runner_pool: Record<string, { idle: number; busy: number; spawned: number; reused: number; target_idle: number }>;
  pid: number;
}

export interface AgentStateReply extends AgentSummary {
  state: unknown;
  state_live: boolean;
}

export interface CreateOptions {
  state?: unknown;
  init?: unknown;
  agentId?: string;
  runner?: 'process' | 'inline';
}

export interface ListOptions {
  state?: 'active' | 'inactive' | 'all';
  includeState?: boolean;
}

export function normalizeUrl(url: string): string {
  const withScheme = /^https?:\/\//.test(url) ? url : `http://${url}`;
  return withScheme.replace(/\/+$/, '');
}

export class HostClient {
  readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher;

  constructor(url: string, options: ClientOptions = {}) {
    this.url = normalizeUrl(url);
    this.apiKey = options.apiKey ?? (process.env.TAGLETS_API_KEY || undefined);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.dispatcher = options.dispatcher ?? defaultDispatcher();
  }

  /** Performs one call; non-2xx answers throw the taglets error they carry. */
  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = encode(body);
    }
    let res;
    try {
      res = await request(`${this.url}${path}`, {
        method,
        headers,
        body: payload,
        dispatcher: this.dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new TimeoutError(`${method} ${this.url}${path} got no answer within ${timeout} ms`);
      }
      throw new RemoteHostError(`cannot reach host at ${this.url} (${method} ${path}): ${code || (err as Error).message}`);
    }
    const text = await res.body.text();
    let data: unknown = null;
    if (text.length > 0) {
      try {
        data = decode(text);
      } catch {
        throw new RemoteHostError(`host at ${this.url} answered ${res.statusCode} with a body that is not JSON`);
      }
    }
    if (res.statusCode >= 400) {
      if (isWireError(data)) throw errorFromWire(data, res.statusCode);
      throw new RemoteHostError(`host at ${this.url} answered ${res.statusCode} to ${method} ${path}`);
    }
    return data as T;
  }

  health(options?: CallOptions): Promise<HostHealth> {
    return this.call('GET', '/health', undefined, options);
  }

  async listAgents(options: ListOptions = {}): Promise<AgentSummary[]> {
    const q = new URLSearchParams();
    if (options.state) q.set('state', options.state);
    if (options.includeState) q.set('include_state', '1');
    const qs = q.size ? `?${q}` : '';
    return (await this.call<{ agents: AgentSummary[] }>('GET', `/agents${qs}`)).agents;
  }

  async createAgent(agentClass: string, options: CreateOptions = {}): Promise<AgentProxy> {
    const body: Record<string, unknown> = { agent_class: agentClass };
    if (options.state !== undefined) body.state = options.state;
    if (options.init !== undefined) body.init = options.init;
    if (options.agentId !== undefined) body.agent_id = options.agentId;
    if (options.runner !== undefined) body.runner = options.runner;
    const { proxy } = await this.call<{ proxy: AgentRef }>('POST', '/agents', body);
    return new AgentProxy(this, proxy.agent_id);
  }

  proxy(agentId: string): AgentProxy {
    return new AgentProxy(this, agentId);
  }

  getAgent(agentId: string): Promise<AgentSummary> {
    return this.call('GET', `/agents/${encodeURIComponent(agentId)}`);
  }

  getState(agentId: string): Promise<AgentStateReply> {
    return this.call('GET', `/agents/${encodeURIComponent(agentId)}/state`);
  }

  /** Sends a message; resolves to the reply (`null` for oneway). Waits without limit unless timeoutMs is set. */
  async sendMessage(agentId: string, message: MessageInit, options: CallOptions & { oneway?: boolean } = {}): Promise<unknown> {
    const body = { message: new Message(message).toJSON(), oneway: options.oneway ?? false };
    const reply = await this.call<{ result: unknown }>('POST', `/agents/${encodeURIComponent(agentId)}/messages`, body, {
      timeoutMs: options.timeoutMs ?? 0,
    });
    return reply.result;
  }

  async dispose(agentId: string): Promise<void> {
    await this.call('POST', `/agents/${encodeURIComponent(agentId)}/dispose`, {});
  }

  async events(options: { since?: number; limit?: number } = {}): Promise<HostEventRecord[]> {
    const q = new URLSearchParams();
    if (options.since !== undefined) q.set('since', String(options.since));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    return (await this.call<{ events: HostEventRecord[] }>('GET', `/events${q.size ? `?${q}` : ''}`)).events;
  }
}

export interface HostEventRecord {
  event_id: number;
  kind: string;
  host_name: string;
  host_address: string;
  timestamp: number;
  agent_id: string | null;
  agent_class: string | null;
  message_id: string | null;
  data: unknown;
  error: string | null;
}

export interface SendOptions extends CallOptions {
  priority?: number;
}

/** A reply that arrives later: check `available`, `wait()` for it, or `get()` it. */
export class FutureReply<T = unknown> {
  private settled = false;
  private readonly promise: Promise<T>;
  constructor(promise: Promise<T>) {
    this.promise = promise;
    promise.then(
      () => (this.settled = true),
      () => (this.settled = true),
    );
  }
  /** Whether the reply (or its error) has arrived. */
  get available(): boolean {
    return this.settled;
  }
  /** Waits up to `timeoutMs` (forever if omitted); true when the reply arrived. */
  async wait(timeoutMs?: number): Promise<boolean> {
    if (this.settled) return true;
    if (timeoutMs === undefined) {
      await this.promise.catch(() => {});
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.promise.catch(() => {}), timeout]);
    clearTimeout(timer);
    return this.settled;
  }
  /** The reply; throws the handler's error. */
  get(): Promise<T> {
    return this.promise;
  }
}

/** A handle on one agent of one host. */
export class AgentProxy {
  readonly client: HostClient;
  readonly agentId: string;
  constructor(client: HostClient, agentId: string) {
    this.client = client;
    this.agentId = agentId;
  }
  get hostUrl(): string {
    return this.client.url;
  }
  get ref(): AgentRef {
    return { host_url: this.client.url, agent_id: this.agentId };
  }
  toJSON(): AgentRef {
    return this.ref;
  }
  /** Sends `kind` with `args` and waits for the reply. */
  send<T = unknown>(kind: string, args: Record<string, unknown> = {}, options: SendOptions = {}): Promise<T> {
    return this.client.sendMessage(this.agentId, { kind, args, priority: options.priority, message_type: 'sync' }, options) as Promise<T>;
  }
  /** Sends a full message (with `arg`, `sender`, …) and waits for the reply. */
  sendMessage<T = unknown>(message: MessageInit, options: CallOptions = {}): Promise<T> {
    return this.client.sendMessage(this.agentId, message, options) as Promise<T>;
  }
  /** Queues `kind` without waiting for the handler. */
  async sendOneway(kind: string, args: Record<string, unknown> = {}, options: SendOptions = {}): Promise<void> {
    await this.client.sendMessage(this.agentId, { kind, args, priority: options.priority, message_type: 'oneway' }, {
      ...options,
      oneway: true,
    });
  }
  /** Sends `kind` and returns at once with a {@link FutureReply}. */
  sendFuture<T = unknown>(kind: string, args: Record<string, unknown> = {}, options: SendOptions = {}): FutureReply<T> {
    const p = this.client.sendMessage(this.agentId, { kind, args, priority: options.priority, message_type: 'future' }, options);
    return new FutureReply(p as Promise<T>);
  }
  info(): Promise<AgentSummary> {
    return this.client.getAgent(this.agentId);
  }
  state(): Promise<AgentStateReply> {
    return this.client.getState(this.agentId);
  }
  dispose(): Promise<void> {
    return this.client.dispose(this.agentId);
  }
}
