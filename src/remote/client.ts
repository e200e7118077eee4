/**
 * HTTP client for taglets hosts: undici `request` over one shared keep-alive pool, the
 * wire codec for bodies, and errors rebuilt from `{error_type, error}` into taglets errors.
 */
import { Agent as Dispatcher, request } from 'undici';
import type { AgentSummary, MeshHost, ServiceInfo } from '../core/agent.ts';
import { Readable } from 'node:stream';
import { decode, encode } from '../core/codec.ts';
import { ENVELOPE_CONTENT_TYPE, encodeEnvelope, type Envelope } from '../core/envelope.ts';
import type { TicketInit } from '../core/ticket.ts';
import type { HostEvent } from '../runtime/events.ts';
import { RemoteHostError, TimeoutError, errorFromWire, isWireError } from '../core/errors.ts';
import { Message, type AgentRef, type MessageInit } from '../core/message.ts';
import type { ArtifactRef } from '../core/artifact.ts';
import { ValidationError } from '../core/errors.ts';
import { unlink } from 'node:fs/promises';
import {
  downloadArtifact,
  uploadArtifact,
  type ArtifactSource,
  type DownloadArtifactOptions,
  type DownloadedArtifact,
  type UploadArtifactOptions,
} from './artifact-client.ts';

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

  /** Performs one JSON call; non-2xx answers throw the taglets error they carry. */
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
    return body === undefined
      ? this.raw<T>(method, path, undefined, undefined, options)
      : this.raw<T>(method, path, encode(body), 'application/json', options);
  }

  /** Performs one call with a prepared body (JSON text, bytes or a stream). */
  async raw<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    payload: string | Buffer | Readable | undefined,
    contentType: string | undefined,
    options: CallOptions & { contentLength?: number } = {},
  ): Promise<T> {
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (contentType) headers['content-type'] = contentType;
    if (options.contentLength !== undefined) headers['content-length'] = String(options.contentLength);
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

  /** A call whose answer body is streamed (downloads); non-2xx answers throw the taglets error they carry. */
  async stream(
    method: 'GET',
    path: string,
    options: CallOptions = {},
  ): Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; body: Readable }> {
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = {};
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let res;
    try {
      res = await request(`${this.url}${path}`, { method, headers, dispatcher: this.dispatcher, headersTimeout: timeout, bodyTimeout: timeout });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'UND_ERR_HEADERS_TIMEOUT') throw new TimeoutError(`${method} ${this.url}${path} got no answer within ${timeout} ms`);
      throw new RemoteHostError(`cannot reach host at ${this.url} (${method} ${path}): ${code || (err as Error).message}`);
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text().catch(() => '');
      let data: unknown = null;
      try {
        data = text ? decode(text) : null;
      } catch {
        /* not JSON */
      }
      if (isWireError(data)) throw errorFromWire(data, res.statusCode);
      throw new RemoteHostError(`host at ${this.url} answered ${res.statusCode} to ${method} ${path}`);
    }
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  }

  // ---- artifacts -------------------------------------------------------------------------

  /**
   * Streams a file (path), bytes or a stream to this host as an artifact. From a file the
   * sha256 is computed while reading and compared with what the host stored (a mismatch
   * deletes the hosted copy and throws ArtifactChecksumError); `move` deletes the file after.
   */
  uploadArtifact(source: ArtifactSource, options: UploadArtifactOptions = {}): Promise<ArtifactRef> {
    return uploadArtifact(this, source, options);
  }

  /**
   * Downloads an artifact into `outPath` (a file, or a directory to keep the artifact's name)
   * through a temp file verified against the host's size and sha256, then renamed into place.
   * `move` deletes the hosted artifact afterwards.
   */
  downloadArtifact(artifactId: string, outPath: string, options: DownloadArtifactOptions = {}): Promise<DownloadedArtifact> {
    return downloadArtifact(this, artifactId, outPath, options);
  }

  async artifactInfo(artifactId: string, options?: CallOptions): Promise<ArtifactRef> {
    return (await this.call<{ artifact: ArtifactRef }>('GET', `/artifacts/${encodeURIComponent(artifactId)}/metadata`, undefined, options)).artifact;
  }

  async listArtifacts(options: { owner?: string } & CallOptions = {}): Promise<ArtifactRef[]> {
    const qs = options.owner ? `?owner_agent_id=${encodeURIComponent(options.owner)}` : '';
    return (await this.call<{ artifacts: ArtifactRef[] }>('GET', `/artifacts${qs}`, undefined, options)).artifacts;
  }

  async deleteArtifact(artifactId: string, options?: CallOptions): Promise<void> {
    await this.call('DELETE', `/artifacts/${encodeURIComponent(artifactId)}`, undefined, options);
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

  /** A client for another host with the same key, timeout and connection pool. */
  sibling(url: string): HostClient {
    return new HostClient(url, {
      ...(this.apiKey ? { apiKey: this.apiKey } : {}),
      timeoutMs: this.timeoutMs,
      dispatcher: this.dispatcher,
    });
  }

  getAgent(agentId: string): Promise<AgentSummary> {
    return this.call('GET', `/agents/${encodeURIComponent(agentId)}`);
  }

  getState(agentId: string): Promise<AgentStateReply> {
    return this.call('GET', `/agents/${encodeURIComponent(agentId)}/state`);
  }

  /** Sends a message; resolves to the reply (`null` for oneway). Waits without limit unless timeoutMs is set. */
  async sendMessage(
    agentId: string,
    message: MessageInit,
    options: CallOptions & { oneway?: boolean; activateIfInactive?: boolean; noDelay?: boolean } = {},
  ): Promise<unknown> {
    const body: Record<string, unknown> = { message: new Message(message).toJSON(), oneway: options.oneway ?? false };
    if (options.activateIfInactive === false) body.activate_if_inactive = false;
    if (options.noDelay) body.no_delay = true;
    const reply = await this.call<{ result: unknown; queued?: boolean; message_id?: string }>(
      'POST',
      `/agents/${encodeURIComponent(agentId)}/messages`,
      body,
      { timeoutMs: options.timeoutMs ?? 0 },
    );
    // A sleeping agent's message was stored for later: the receipt says so.
    if (reply.queued) return { queued: true, message_id: reply.message_id };
    return reply.result;
  }

  async dispose(agentId: string): Promise<void> {
    await this.call('POST', `/agents/${encodeURIComponent(agentId)}/dispose`, {});
  }

  /** Service records of this host (`scope: 'mesh'` returns only mesh-scoped ones, as peers see them). */
  async services(
    query: { name?: string; capability?: string; scope?: 'local' | 'mesh'; mesh?: boolean } = {},
    options: CallOptions = {},
  ): Promise<ServiceInfo[]> {
    const q = new URLSearchParams();
    if (query.name !== undefined) q.set('name', query.name);
    if (query.capability !== undefined) q.set('capability', query.capability);
    if (query.scope !== undefined) q.set('scope', query.scope);
    if (query.mesh) q.set('mesh', '1');
    return (await this.call<{ services: ServiceInfo[] }>('GET', `/services${q.size ? `?${q}` : ''}`, undefined, options)).services;
  }

  /** Finds services by name for typed contracts (`contract.find(client)`), asking the mesh when `scope` is `mesh`. */
  findServices(name?: string, options: { capability?: string; scope?: 'local' | 'mesh' } = {}): Promise<ServiceInfo[]> {
    return this.services({
      ...(name !== undefined ? { name } : {}),
      ...(options.capability !== undefined ? { capability: options.capability } : {}),
      mesh: options.scope === 'mesh',
    });
  }

  /** A proxy for an agent anywhere (a sibling client when it lives on another host). */
  getProxy(ref: AgentRef | string): AgentProxy {
    if (typeof ref === 'string') return new AgentProxy(this, ref);
    return new AgentProxy(normalizeUrl(ref.host_url) === this.url ? this : this.sibling(ref.host_url), ref.agent_id);
  }

  /** Advertises a service for an agent of this host. */
  async advertise(agentId: string, spec: { name: string; capabilities?: string[]; metadata?: Record<string, unknown>; scope?: 'local' | 'mesh'; ttl?: number | null }): Promise<ServiceInfo> {
    return (await this.call<{ service: ServiceInfo }>('POST', `/agents/${encodeURIComponent(agentId)}/services`, spec)).service;
  }

  /** Puts an agent to sleep; `policy.after_seconds` is a shortcut for `activate_at`. */
  async deactivate(
    agentId: string,
    request: { reason?: string; policy?: Record<string, unknown> | null; metadata?: Record<string, unknown> } = {},
  ): Promise<AgentRef> {
    return (await this.call<{ proxy: AgentRef }>('POST', `/agents/${encodeURIComponent(agentId)}/deactivate`, { request })).proxy;
  }

  async activate(agentId: string): Promise<AgentRef> {
    return (await this.call<{ proxy: AgentRef }>('POST', `/agents/${encodeURIComponent(agentId)}/activate`, {})).proxy;
  }

  /** Sends an agent envelope as one streamed binary body; resolves to the arrived agent's ref. */
  async transfer(envelope: Envelope, options: CallOptions = {}): Promise<AgentRef> {
    const chunks = encodeEnvelope(envelope);
    const length = chunks.reduce((n, c) => n + c.length, 0);
    const { proxy } = await this.raw<{ proxy: AgentRef }>('POST', '/transfers', Readable.from(chunks), ENVELOPE_CONTENT_TYPE, {
      ...options,
      contentLength: length,
    });
    return proxy;
  }

  /** Moves an agent of this host to `target` (host name, URL or ticket). */
  async dispatch(agentId: string, target: TicketInit | string, options: CallOptions = {}): Promise<AgentRef> {
    const body = typeof target === 'string' ? { target } : { ticket: target };
    return (await this.call<{ proxy: AgentRef }>('POST', `/agents/${encodeURIComponent(agentId)}/dispatch`, body, { timeoutMs: options.timeoutMs ?? 0 })).proxy;
  }

  /** Copies an agent of this host to `target` (this host when omitted). */
  async clone(agentId: string, target?: TicketInit | string | null, options: CallOptions = {}): Promise<AgentRef> {
    const body = target == null ? {} : typeof target === 'string' ? { target } : { ticket: target };
    return (await this.call<{ proxy: AgentRef }>('POST', `/agents/${encodeURIComponent(agentId)}/clone`, body, { timeoutMs: options.timeoutMs ?? 0 })).proxy;
  }

  /** Asks this host to send its agent back to `target` (the requester). */
  async retract(agentId: string, target: TicketInit | string, options: CallOptions = {}): Promise<AgentRef> {
    const body = typeof target === 'string' ? { target } : { ticket: target };
    return (await this.call<{ proxy: AgentRef }>('POST', `/agents/${encodeURIComponent(agentId)}/retract`, body, { timeoutMs: options.timeoutMs ?? 0 })).proxy;
  }

  /** `GET /hosts`: every host the mesh of this host knows (itself included, offline ones too). */
  async hosts(options?: CallOptions): Promise<MeshHost[]> {
    return (await this.call<{ hosts: MeshHost[] }>('GET', '/hosts', undefined, options)).hosts;
  }

  /**
   * `POST /hosts/join`: registers `ref` with this host's mesh; answers with the host itself and
   * the online hosts it knows. ConflictError when the mesh versions differ or it has no mesh.
   */
  joinMesh(ref: MeshHost, options?: CallOptions): Promise<MeshJoinReply> {
    return this.call('POST', '/hosts/join', ref, options);
  }

  async events(options: { since?: number; limit?: number } = {}): Promise<HostEventRecord[]> {
    const q = new URLSearchParams();
    if (options.since !== undefined) q.set('since', String(options.since));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    return (await this.call<{ events: HostEventRecord[] }>('GET', `/events${q.size ? `?${q}` : ''}`)).events;
  }
}

/** Answer of `POST /hosts/join`. */
export interface MeshJoinReply {
  self: MeshHost;
  hosts: MeshHost[];
}

/** An event of a host's log as clients read it (kinds may be newer than this client knows). */
export type HostEventRecord = Omit<HostEvent, 'kind'> & { kind: string };

export interface SendOptions extends CallOptions {
  priority?: number;
}

export interface SendArtifactOptions extends SendOptions {
  /** Message arg that carries the ArtifactRef. @default 'artifact' */
  argName?: string;
  /** Delete the local file after the agent handled the message. */
  move?: boolean;
  /** Artifact name. @default the file's base name */
  name?: string;
  /** Other message args. */
  args?: Record<string, unknown>;
  compression?: string | null;
  /** Seconds since the epoch; 0 = never. */
  expiresAt?: number;
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
  /** Moves the agent to `target`; resolves to a proxy at its new host. */
  async dispatch(target: TicketInit | string, options: CallOptions = {}): Promise<AgentProxy> {
    return this.follow(await this.client.dispatch(this.agentId, target, options));
  }
  /** Copies the agent (to `target`, or its own host); resolves to a proxy of the copy. */
  async clone(target?: TicketInit | string | null, options: CallOptions = {}): Promise<AgentProxy> {
    return this.follow(await this.client.clone(this.agentId, target, options));
  }
  /** Pulls the agent back to `toHostUrl` (default: the host this proxy's client knows as home). */
  async retract(toHostUrl: string, options: CallOptions = {}): Promise<AgentProxy> {
    return this.follow(await this.client.retract(this.agentId, toHostUrl, options));
  }
  private follow(ref: AgentRef): AgentProxy {
    if (ref.host_url === this.client.url) return new AgentProxy(this.client, ref.agent_id);
    return new AgentProxy(this.client.sibling(ref.host_url), ref.agent_id);
  }
  /**
   * Uploads `source` (a file path, bytes or a stream) to this agent's host as an artifact
   * owned by the agent, puts its {@link ArtifactRef} into `args[argName]` and sends `kind`.
   * If the message fails the artifact is deleted; with `move` the local file is deleted
   * after the agent handled the message. Resolves to the agent's reply.
   */
  async sendArtifact<T = unknown>(kind: string, source: ArtifactSource, options: SendArtifactOptions = {}): Promise<T> {
    const { argName = 'artifact', move = false, name, args = {}, compression, expiresAt, ...sendOptions } = options;
    if (move && typeof source !== 'string') throw new ValidationError('sendArtifact: move needs a file path as the source');
    const ref = await this.client.uploadArtifact(source, {
      owner: this.agentId,
      ...(name !== undefined ? { name } : {}),
      ...(compression !== undefined ? { compression } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(sendOptions.timeoutMs !== undefined ? { timeoutMs: sendOptions.timeoutMs } : {}),
    });
    let reply: T;
    try {
      reply = await this.send<T>(kind, { ...args, [argName]: ref }, sendOptions);
    } catch (err) {
      await this.client.deleteArtifact(ref.artifact_id).catch(() => {});
      throw err;
    }
    if (move) await unlink(source as string);
    return reply;
  }
  info(): Promise<AgentSummary> {
    return this.client.getAgent(this.agentId);
  }
  async deactivate(request: Parameters<HostClient['deactivate']>[1] = {}): Promise<void> {
    await this.client.deactivate(this.agentId, request);
  }
  async activate(): Promise<void> {
    await this.client.activate(this.agentId);
  }
  state(): Promise<AgentStateReply> {
    return this.client.getState(this.agentId);
  }
  dispose(): Promise<void> {
    return this.client.dispose(this.agentId);
  }
}
