/**
 * Mesh membership: the {@link HostDirectory} of a host that takes part in a mesh.
 *
 * Every gossip interval (1 s) the host
 * - sweeps its table (peers not refreshed for 10 s on *our* clock go offline, `stale mesh peer`);
 * - sends one multicast beacon `{"kind":"taglets.mesh.v1","host":HostRef}` (unless disabled);
 * - joins a **bounded** set of peers with `POST /hosts/join` (own ref in, `{self, hosts}` out):
 *   up to `fanout` (3) random online peers, every seed not reached yet, and one offline peer
 *   (round robin) to notice hosts that came back. Never every host every second.
 *
 * What the answers mean, and how they merge, lives in the pure {@link MeshTable}.
 * See docs/mesh.md.
 */
import { createSocket, type Socket } from 'node:dgram';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import { Agent as Dispatcher } from 'undici';
import { ConflictError, HostError } from '../core/errors.ts';
import { normalizeHostUrl, type AvailableHostsOptions, type HostDirectory, type HostRef } from '../runtime/directory.ts';
import { HostClient, type MeshJoinReply } from './client.ts';
import { MeshTable, compareHosts, sample } from './mesh-table.ts';

export const BEACON_KIND = 'taglets.mesh.v1';

export interface MulticastAddress {
  group: string;
  port: number;
}

export const DEFAULT_MULTICAST: MulticastAddress = { group: '239.42.74.53', port: 48765 };

/** Parses `group:port` (e.g. `239.42.74.53:48765`); the group must be an IPv4 multicast address. */
export function parseMulticastAddress(text: string): MulticastAddress {
  const m = /^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})\s*$/.exec(text);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const port = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || octets[0]! < 224 || octets[0]! > 239 || port < 1 || port > 65535) {
    throw new Error(
      `invalid mesh multicast address '${text}': use GROUP:PORT with an IPv4 multicast group (224.0.0.0-239.255.255.255), e.g. 239.42.74.53:48765`,
    );
  }
  return { group: octets.join('.'), port };
}

/** The multicast address from `TAGLETS_MESH_MULTICAST`, else the default. */
export function multicastFromEnv(env: NodeJS.ProcessEnv = process.env): MulticastAddress {
  const text = env.TAGLETS_MESH_MULTICAST;
  return text ? parseMulticastAddress(text) : DEFAULT_MULTICAST;
}

/** A small load snapshot carried in every ref this host announces (for `mesh targets`). */
export function loadSnapshot(): Pick<HostRef, 'cpu_count' | 'load_per_cpu' | 'memory_available' | 'memory_total'> {
  const cpus = Math.max(1, availableParallelism());
  const total = totalmem();
  const constrained = process.constrainedMemory();
  return {
    cpu_count: cpus,
    load_per_cpu: Math.round((loadavg()[0]! / cpus) * 1000) / 1000,
    memory_available: process.availableMemory?.() ?? freemem(),
    memory_total: constrained > 0 && constrained < total ? constrained : total,
  };
}

export interface MeshOptions {
  /** This host's ref (name, url, version, counts, tags, properties). */
  self: () => HostRef;
  /** Seed URLs (`--peer`). */
  peers?: string[];
  /** @default 1000 */
  gossipIntervalMs?: number;
  /** Random online peers joined per round. @default 3 */
  fanout?: number;
  /** @default 10000 */
  staleAfterMs?: number;
  /** Offline peers are forgotten after this long. @default 600000 */
  forgetAfterMs?: number;
  /** Timeout of one join (connect + answer). @default 2000 */
  contactTimeoutMs?: number;
  /** Multicast beacons; `false` = gossip only. @default DEFAULT_MULTICAST */
  multicast?: MulticastAddress | false;
  /** Address the host's server is bound to; a loopback address keeps beacons on loopback (TTL 0). */
  bind?: string;
  /** Bearer key for peers. */
  apiKey?: string;
  /** Milliseconds on our clock. @default Date.now */
  now?: () => number;
  random?: () => number;
  /** Called once per distinct problem (multicast unavailable, peer with another mesh version, …). */
  onWarning?: (message: string) => void;
}

export type { MeshJoinReply };

const looksLikeUrl = (s: string): boolean => /^https?:\/\//.test(s) || /^[^\s/]+:\d+$/.test(s);
const isLoopback = (addr: string | undefined): boolean =>
  addr === undefined || addr === 'localhost' || addr === '::1' || /^127\./.test(addr);

/** Rejected seeds (other mesh version, or no mesh) are retried this much later. */
const REJECTED_RETRY_MS = 30_000;
/** Longest back-off between attempts at a seed that does not answer. */
const MAX_SEED_BACKOFF_MS = 10_000;
/** Failed attempts after which a seed that was not given with `--peer` is dropped. */
const MAX_SEED_FAILURES = 10;

export class Mesh implements HostDirectory {
  readonly table: MeshTable;
  readonly codeVersion: string;
  private readonly self: () => HostRef;
  private readonly intervalMs: number;
  private readonly fanout: number;
  private readonly contactTimeoutMs: number;
  private readonly multicast: MulticastAddress | false;
  private readonly loopbackOnly: boolean;
  private readonly apiKey: string | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly warn: (message: string) => void;
  private readonly warned = new Set<string>();
  /** Seeds not reached yet → when to try next (our clock) and how often they failed. */
  private readonly pending = new Map<string, { retryAt: number; failures: number }>();
  private readonly inflight = new Map<string, Promise<void>>();
  /** `--peer` URLs → the URL the host announced when it answered (they may differ). */
  private readonly configured = new Map<string, string>();
  private readonly dispatcher: Dispatcher;
  private timer: NodeJS.Timeout | undefined;
  private sender: Socket | undefined;
  private receiver: Socket | undefined;
  private probeCursor = 0;
  /** `performance.now()` of the last round start. */
  private lastRoundAt = -Infinity;
  private running = false;
  private stopped = false;

  constructor(options: MeshOptions) {
    this.self = options.self;
    this.codeVersion = options.self().code_version;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.intervalMs = options.gossipIntervalMs ?? 1000;
    this.fanout = options.fanout ?? 3;
    this.contactTimeoutMs = options.contactTimeoutMs ?? 2000;
    this.multicast = options.multicast === undefined ? DEFAULT_MULTICAST : options.multicast;
    this.loopbackOnly = isLoopback(options.bind);
    this.apiKey = options.apiKey;
    this.warn = options.onWarning ?? (() => {});
    this.table = new MeshTable({
      codeVersion: this.codeVersion,
      selfUrl: () => this.self().url,
      now: this.now,
      ...(options.staleAfterMs !== undefined ? { staleAfterMs: options.staleAfterMs } : {}),
      ...(options.forgetAfterMs !== undefined ? { forgetAfterMs: options.forgetAfterMs } : {}),
    });
    for (const peer of options.peers ?? []) {
      const u = normalizeHostUrl(peer);
      this.configured.set(u, u);
      this.addSeed(u);
    }
    this.dispatcher = new Dispatcher({
      connect: { timeout: this.contactTimeoutMs },
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 30_000,
      connections: 2,
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Starts gossip (a first round at once) and multicast. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    if (this.multicast) this.startMulticast(this.multicast);
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    this.timer.unref();
    void this.round();
  }

  /** Stops timers and sockets; idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    for (const s of [this.sender, this.receiver]) {
      try {
        s?.close();
      } catch {
        /* already closed */
      }
    }
    this.sender = this.receiver = undefined;
    void this.dispatcher.destroy().catch(() => {});
  }

  /** Adds a URL to contact until it answers once. */
  addSeed(url: string): void {
    const u = normalizeHostUrl(url);
    if (u === this.self().url || this.pending.has(u)) return;
    this.pending.set(u, { retryAt: 0, failures: 0 });
  }

  // ---- this host ------------------------------------------------------------------------------

  /** This host's ref with a load snapshot and a fresh heartbeat. */
  selfRef(): HostRef {
    const t = this.now() / 1000;
    return { ...this.self(), ...loadSnapshot(), online: true, error: null, last_seen: t, heartbeat: t };
  }

  /**
   * `POST /hosts/join`: registers the caller (version gate: ConflictError) and answers with
   * this host and every online host it knows.
   */
  join(input: HostRef): MeshJoinReply {
    if (!this.table.accepts(input)) {
      const me = this.self();
      throw new ConflictError(
        `mesh version mismatch: host '${input.name}' (${input.url}) announces '${input.code_version}', host '${me.name}' runs '${this.codeVersion}'; start every host of one mesh with the same --mesh-version (or TAGLETS_MESH_VERSION)`,
      );
    }
    this.table.observeDirect(input);
    this.pending.delete(normalizeHostUrl(input.url));
    const self = this.selfRef();
    return { self, hosts: [self, ...this.table.list({ onlineOnly: true })].sort(compareHosts) };
  }

  // ---- HostDirectory --------------------------------------------------------------------------

  private isSelf(target: string): boolean {
    const me = this.self();
    return target === me.name || (looksLikeUrl(target) && normalizeHostUrl(target) === me.url);
  }

  private lookup(target: string): HostRef | undefined {
    if (this.isSelf(target)) return this.selfRef();
    return this.table.byName(target)[0] ?? (looksLikeUrl(target) ? this.table.get(normalizeHostUrl(target)) : undefined);
  }

  resolveUrl(target: string): string {
    const found = this.lookup(target);
    if (found) return found.url;
    if (looksLikeUrl(target)) return normalizeHostUrl(target);
    const names = [...new Set(this.availableHosts({ onlineOnly: false }).map((h) => h.name))];
    throw new HostError(
      `unknown host '${target}': not in the mesh (known: ${names.join(', ')}); give a known name or a URL such as http://127.0.0.1:8766`,
    );
  }

  availableHosts(options: AvailableHostsOptions = {}): HostRef[] {
    const hosts = this.table.list({ onlineOnly: options.onlineOnly ?? true });
    if (options.includeSelf ?? true) hosts.push(this.selfRef());
    return hosts.sort(compareHosts);
  }

  isHostOnline(nameOrUrl: string): boolean {
    return this.lookup(nameOrUrl)?.online === true;
  }

  async waitForHost(nameOrUrl: string, timeoutMs = 10_000): Promise<HostRef> {
    // A real duration: measured on the monotonic clock, not the (injectable) table clock.
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.lookup(nameOrUrl);
      if (found?.online) return found;
      const left = deadline - performance.now();
      if (left <= 0 || this.stopped) break;
      if (looksLikeUrl(nameOrUrl) && !found) this.addSeed(nameOrUrl);
      // Gossip while waiting (in-flight contacts are never doubled), at most every 200 ms.
      const pause = new Promise((r) => setTimeout(r, Math.min(200, left)));
      const round = performance.now() - this.lastRoundAt >= 200 ? this.round(true) : undefined;
      await (round ? Promise.race([round, pause]) : pause);
    }
    const known = this.availableHosts({ onlineOnly: true }).map((h) => h.name);
    throw new HostError(
      `host '${nameOrUrl}' is not online in the mesh after ${timeoutMs} ms (online: ${known.join(', ')}); check its name or URL and that it runs the same mesh version`,
    );
  }

  // ---- gossip ---------------------------------------------------------------------------------

  /** One gossip round: sweep, beacon, join a bounded set of peers. Resolves when they answered. */
  async round(force = false): Promise<void> {
    if (this.stopped) return;
    const now = this.now();
    this.lastRoundAt = performance.now();
    this.table.sweep();
    // A configured peer that was forgotten (offline too long) becomes a seed again.
    for (const [url, announced] of this.configured) {
      if (!this.table.has(announced) && !this.pending.has(url)) this.addSeed(url);
    }
    this.sendBeacon();
    const targets = new Set<string>();
    for (const [url, p] of this.pending) if (force || p.retryAt <= now) targets.add(url);
    for (const url of sample(this.table.onlineUrls(), this.fanout, this.random)) targets.add(url);
    const offline = this.table.offlineUrls();
    if (offline.length > 0) targets.add(offline[this.probeCursor++ % offline.length]!);
    await Promise.allSettled([...targets].map((url) => this.contact(url)));
  }

  /** Joins one peer; merges its answer or records the failure. */
  contact(url: string): Promise<void> {
    const existing = this.inflight.get(url);
    if (existing) return existing;
    const p = this.doContact(url).finally(() => this.inflight.delete(url));
    this.inflight.set(url, p);
    return p;
  }

  private async doContact(url: string): Promise<void> {
    const client = new HostClient(url, {
      dispatcher: this.dispatcher,
      timeoutMs: this.contactTimeoutMs,
      ...(this.apiKey ? { apiKey: this.apiKey } : {}),
    });
    let reply: MeshJoinReply;
    try {
      reply = await client.joinMesh(this.selfRef());
    } catch (err) {
      if (this.stopped) return;
      const message = (err as Error).message;
      const seed = this.pending.get(url);
      if (err instanceof ConflictError) {
        // Another mesh version (or a host without a mesh): never listed; try again much later.
        this.table.remove(url);
        if (seed || this.configured.has(url)) {
          this.pending.set(url, { retryAt: this.now() + REJECTED_RETRY_MS, failures: (seed?.failures ?? 0) + 1 });
        }
        this.warnOnce(`reject:${url}:${message}`, `mesh peer ${url} refused to join: ${message}`);
        return;
      }
      if (seed) {
        const failures = seed.failures + 1;
        seed.failures = failures;
        seed.retryAt = this.now() + Math.min(MAX_SEED_BACKOFF_MS, this.intervalMs * 2 ** (failures - 1));
        // Seeds from beacons or waitForHost give up after a while; `--peer` seeds never do.
        if (failures >= MAX_SEED_FAILURES && !this.configured.has(url)) this.pending.delete(url);
      }
      this.table.markFailed(url, `mesh contact failed: ${message}`);
      return;
    }
    if (this.stopped) return;
    this.pending.delete(url);
    const peer = reply.self ?? reply.hosts?.find((h) => normalizeHostUrl(h.url) === url);
    if (peer) {
      if (!this.table.accepts(peer)) {
        this.table.remove(url);
        return;
      }
      this.table.observeDirect(peer);
      if (this.configured.has(url)) this.configured.set(url, normalizeHostUrl(peer.url));
      // Reached under another address than it announces: keep only the announced one.
      if (normalizeHostUrl(peer.url) !== url) this.table.remove(url);
    }
    const peerUrl = peer ? normalizeHostUrl(peer.url) : url;
    for (const ref of reply.hosts ?? []) {
      if (normalizeHostUrl(ref.url) !== peerUrl) this.table.observeGossip(ref);
    }
  }

  // ---- multicast --------------------------------------------------------------------------------

  private startMulticast(addr: MulticastAddress): void {
    const fail = (what: string) => (err: Error) => {
      this.warnOnce(`multicast:${what}`, `mesh multicast ${what} on ${addr.group}:${addr.port} unavailable (${err.message}); gossip with --peer still works`);
    };
    try {
      const receiver = createSocket({ type: 'udp4', reuseAddr: true });
      this.receiver = receiver;
      receiver.on('error', (err) => {
        fail('receive')(err);
        try {
          receiver.close();
        } catch {
          /* closed */
        }
        if (this.receiver === receiver) this.receiver = undefined;
      });
      receiver.on('message', (data) => this.onBeacon(data));
      receiver.bind(addr.port, () => {
        try {
          if (this.loopbackOnly) receiver.addMembership(addr.group, '127.0.0.1');
          else receiver.addMembership(addr.group);
        } catch (err) {
          receiver.emit('error', err);
        }
      });
      receiver.unref();
    } catch (err) {
      fail('receive')(err as Error);
    }
    try {
      const sender = createSocket({ type: 'udp4' });
      this.sender = sender;
      sender.on('error', (err) => fail('send')(err));
      const onBound = (): void => {
        try {
          if (this.loopbackOnly) {
            sender.setMulticastInterface('127.0.0.1');
            sender.setMulticastTTL(0);
          } else {
            sender.setMulticastTTL(1);
          }
          sender.setMulticastLoopback(true);
        } catch (err) {
          fail('send')(err as Error);
        }
      };
      if (this.loopbackOnly) sender.bind(0, '127.0.0.1', onBound);
      else sender.bind(0, onBound);
      sender.unref();
    } catch (err) {
      fail('send')(err as Error);
    }
  }

  private sendBeacon(): void {
    const sender = this.sender;
    if (!sender || !this.multicast) return;
    const payload = Buffer.from(JSON.stringify({ kind: BEACON_KIND, host: this.selfRef() }));
    try {
      sender.send(payload, this.multicast.port, this.multicast.group, (err) => {
        if (err) this.warnOnce('multicast:send', `mesh multicast beacon failed: ${err.message}`);
      });
    } catch (err) {
      // Not bound yet (first round) or closed: the next round sends again.
      if ((err as { code?: string }).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') {
        this.warnOnce('multicast:send', `mesh multicast beacon failed: ${(err as Error).message}`);
      }
    }
  }

  /** A beacon: register the sender (it spoke for itself) and join it once. */
  onBeacon(data: Buffer | string): void {
    if (this.stopped) return;
    let msg: { kind?: unknown; host?: Partial<HostRef> };
    try {
      msg = JSON.parse(String(data));
    } catch {
      return;
    }
    const h = msg?.host;
    if (msg?.kind !== BEACON_KIND || !h || typeof h.name !== 'string' || typeof h.url !== 'string' || typeof h.code_version !== 'string') {
      return;
    }
    if (!/^https?:\/\//.test(h.url)) return;
    const url = normalizeHostUrl(h.url);
    if (url === this.self().url) return;
    if (!this.table.accepts(h as HostRef)) {
      this.warnOnce(
        `beacon:${url}:${h.code_version}`,
        `ignoring mesh beacon from '${h.name}' (${url}): mesh version '${h.code_version}', this host runs '${this.codeVersion}'`,
      );
      return;
    }
    const known = this.table.get(url)?.online === true;
    this.table.observeDirect(h as HostRef);
    if (!known) this.addSeed(url);
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warn(message);
  }
}
