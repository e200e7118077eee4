/**
 * The MeshFanout pattern: a parent agent clones itself to a set of hosts, each copy (a
 * child) does its part where it landed and reports back, and the parent keeps the books:
 * which hosts are pending, done or failed, what each reported, which children to clean up.
 *
 * The bookkeeping lives in `state.fanout` ({@link MeshFanoutState}) and is plain data, so
 * it moves and persists with the agent. The pure functions below change it; the
 * {@link WithMeshFanout} mixin wires them to an agent:
 *
 * ```ts
 * interface S extends MeshFanoutFields { answer: string | null }
 * export abstract class SurveyBase extends Agent<S> {}          // names the state type
 * export class Survey extends WithMeshFanout(SurveyBase) {
 *   static override defaultState: S = { fanout: newFanoutState(), answer: null };
 *   async run() {
 *     if (this.isFanoutChild) await this.fanoutReport({ cpus: os.cpus().length });   // a child
 *   }
 *   async handleMessage(msg: Message) {
 *     if (msg.kind === 'survey') {                                                 // the parent
 *       this.fanoutReset(10);                                                      // 10 s deadline
 *       await this.fanoutClone(await this.fanoutSelectTargets({ targets: msg.args.targets as string[] }));
 *       await this.fanoutWait();
 *       await this.fanoutDisposeChildren();
 *       return this.fanoutSummary();
 *     }
 *     return super.handleMessage(msg);                                             // fanout.* messages
 *   }
 * }
 * ```
 */
import { Agent, type CloneEvent, type MeshHost } from '../core/agent.ts';
import { HostError } from '../core/errors.ts';
import type { AgentRef, Message } from '../core/message.ts';
import { Signal, describeError, errorTypeOf, normalizeHostUrl, nowSeconds } from './util.ts';

export type FanoutRole = 'parent' | 'child';

export interface MeshFanoutState {
  role: FanoutRole;
  /** The parent (children only). */
  parent: AgentRef | null;
  /** The host a child runs on (children only). */
  target: string | null;
  /** Seconds since the epoch after which pending hosts count as timed out; null: no deadline. */
  deadline: number | null;
  /** Hosts (by name) a child was sent to and that have not reported yet. */
  pending_hosts: string[];
  /** Hosts that reported a result. */
  done_hosts: string[];
  /** host → child agent, for cleanup. */
  child_proxies: Record<string, AgentRef>;
  /** host → what its child reported. */
  results: Record<string, unknown>;
  /** host → why it gave no result (not online, clone failed, child failed, timed out). */
  errors: Record<string, string>;
  /** host → why its child could not be disposed. */
  cleanup_errors: Record<string, string>;
}

/** State of an agent that fans out. */
export interface MeshFanoutFields {
  fanout: MeshFanoutState;
}

/** A host to fan out to: its key in the books (the host name), and its URL. */
export interface FanoutTarget {
  key: string;
  name: string;
  url: string;
}

export const FANOUT_RESULT_KIND = 'fanout.result';
export const FANOUT_ERROR_KIND = 'fanout.error';
export const FANOUT_TIMEOUT_ERROR = 'timed out waiting for result';

export function newFanoutState(): MeshFanoutState {
  return {
    role: 'parent',
    parent: null,
    target: null,
    deadline: null,
    pending_hosts: [],
    done_hosts: [],
    child_proxies: {},
    results: {},
    errors: {},
    cleanup_errors: {},
  };
}

/** Clears the books for a new round; `deadlineS` seconds from `now` (none when omitted). */
export function resetFanout(state: MeshFanoutState, deadlineS?: number | null, now = nowSeconds()): MeshFanoutState {
  Object.assign(state, newFanoutState());
  state.deadline = deadlineS === undefined || deadlineS === null ? null : now + deadlineS;
  return state;
}

/**
 * Which hosts to fan out to. With explicit `targets` (names or URLs) each must be online in
 * the mesh: otherwise a HostError names the ones that are not (or, with `onOffline: 'record'`,
 * they are booked as errors and left out). Without, every online host (this one too unless
 * `includeSelf` is false).
 */
export function selectTargets(
  hosts: readonly MeshHost[],
  options: { targets?: readonly string[] | null; includeSelf?: boolean; selfUrl?: string; onOffline?: 'error' | 'record' },
  state?: MeshFanoutState,
): FanoutTarget[] {
  const toTarget = (h: MeshHost): FanoutTarget => ({ key: h.name || h.url, name: h.name, url: h.url });
  const selfUrl = options.selfUrl ? normalizeHostUrl(options.selfUrl) : undefined;
  if (!options.targets || options.targets.length === 0) {
    return hosts.filter((h) => h.online && (options.includeSelf !== false || normalizeHostUrl(h.url) !== selfUrl)).map(toTarget);
  }
  const out: FanoutTarget[] = [];
  const offline: string[] = [];
  const seen = new Set<string>();
  for (const t of options.targets) {
    const url = /^https?:\/\//.test(t) || /^[^\s/]+:\d+$/.test(t) ? normalizeHostUrl(t) : null;
    const host = hosts.find((h) => h.name === t || (url !== null && normalizeHostUrl(h.url) === url));
    if (host && host.online) {
      if (!seen.has(host.url)) out.push(toTarget(host));
      seen.add(host.url);
    } else {
      offline.push(host ? `${t} (offline${host.error ? `: ${host.error}` : ''})` : `${t} (unknown)`);
      if (state) {
        state.errors[host?.name || t] = host ? `host not online${host.error ? `: ${host.error}` : ''}` : 'host not known in the mesh';
      }
    }
  }
  if (offline.length > 0 && options.onOffline !== 'record') {
    throw new HostError(`fan-out target${offline.length > 1 ? 's' : ''} not online: ${offline.join(', ')}`);
  }
  return out;
}

/** Books a host as sent to (pending). */
export function markPending(state: MeshFanoutState, key: string): void {
  if (!state.pending_hosts.includes(key)) state.pending_hosts.push(key);
  delete state.errors[key];
}

/** Books the child that runs on `key`. */
export function recordChild(state: MeshFanoutState, key: string, ref: AgentRef): void {
  state.child_proxies[key] = { host_url: ref.host_url, agent_id: ref.agent_id };
}

/** Books a result: the host is done. Late results (after a timeout) still count. */
export function recordResult(state: MeshFanoutState, key: string, result: unknown): void {
  state.pending_hosts = state.pending_hosts.filter((h) => h !== key);
  if (!state.done_hosts.includes(key)) state.done_hosts.push(key);
  state.results[key] = result === undefined ? null : result;
  delete state.errors[key];
}

/** Books a failure for a host: it is no longer pending. */
export function recordError(state: MeshFanoutState, key: string, error: unknown): void {
  state.pending_hosts = state.pending_hosts.filter((h) => h !== key);
  state.errors[key] = typeof error === 'string' ? error : describeError(error);
}

/** Pending hosts past the deadline become errors ("timed out waiting for result"); returns them. */
export function expirePending(state: MeshFanoutState, now = nowSeconds()): string[] {
  if (state.deadline === null || now < state.deadline) return [];
  const expired = [...state.pending_hosts];
  for (const key of expired) state.errors[key] = FANOUT_TIMEOUT_ERROR;
  state.pending_hosts = [];
  return expired;
}

/** A summary of the books (what a parent usually replies with). */
export interface FanoutSummary {
  complete: boolean;
  pending_hosts: string[];
  done_hosts: string[];
  results: Record<string, unknown>;
  errors: Record<string, string>;
  cleanup_errors: Record<string, string>;
}

export function fanoutSummary(state: MeshFanoutState): FanoutSummary {
  return {
    complete: state.pending_hosts.length === 0,
    pending_hosts: [...state.pending_hosts],
    done_hosts: [...state.done_hosts],
    results: { ...state.results },
    errors: { ...state.errors },
    cleanup_errors: { ...state.cleanup_errors },
  };
}

/** Changes of a parent's books, to wake `fanoutWait` (per agent instance, never persisted). */
const signals = new WeakMap<object, Signal>();
function signalOf(agent: object): Signal {
  let s = signals.get(agent);
  if (!s) signals.set(agent, (s = new Signal()));
  return s;
}

async function sendToParent(agent: Agent<MeshFanoutFields>, kind: string, args: Record<string, unknown>): Promise<boolean> {
  const books = agent.state.fanout;
  if (books?.role !== 'child' || !books.parent) return false;
  try {
    await agent.context.getProxy(books.parent).send(kind, args);
    return true;
  } catch {
    return false;
  }
}

/** What {@link WithMeshFanout} adds to an agent (see the methods of the mixin for details). */
export interface MeshFanoutMembers {
  /** The books (created when the state lacks them). */
  readonly fanout: MeshFanoutState;
  /** Whether this copy is a child (a clone sent out by a parent). */
  readonly isFanoutChild: boolean;
  fanoutReset(deadlineS?: number | null): void;
  fanoutSelectTargets(options?: { targets?: readonly string[] | null; includeSelf?: boolean; onOffline?: 'error' | 'record' }): Promise<FanoutTarget[]>;
  fanoutClone(targets: readonly FanoutTarget[]): Promise<string[]>;
  fanoutReport(result: unknown): Promise<boolean>;
  fanoutReportError(error: unknown): Promise<boolean>;
  fanoutRecordResult(host: string, result: unknown): void;
  fanoutRecordError(host: string, error: unknown): void;
  fanoutExpire(now?: number): string[];
  fanoutWait(timeoutMs?: number): Promise<boolean>;
  fanoutDisposeChildren(): Promise<Record<string, string>>;
  fanoutSummary(): FanoutSummary;
}

/**
 * Adds fan-out to an agent class whose state has `fanout` ({@link MeshFanoutFields}).
 * The class handles messages concurrently (`static concurrency = 8`) so results arrive while
 * a handler waits in `fanoutWait`. Subclasses that override `onClone` or `handleMessage`
 * call `super` (the latter for kinds they do not know: it books `fanout.*` reports).
 */
export function WithMeshFanout<TBase extends abstract new (...args: any[]) => Agent<MeshFanoutFields>>(
  Base: TBase,
): TBase & (abstract new (...args: any[]) => MeshFanoutMembers) {
  abstract class MeshFanoutAgent extends Base implements MeshFanoutMembers {
    static concurrency = 8;

    /** The books (created when the state lacks them). */
    get fanout(): MeshFanoutState {
      if (!this.state.fanout) this.state.fanout = newFanoutState();
      return this.state.fanout;
    }

    /** Whether this copy is a child (a clone sent out by a parent). */
    get isFanoutChild(): boolean {
      return this.fanout.role === 'child';
    }

    /** Clears the books for a new round with a deadline `deadlineS` seconds from now. */
    fanoutReset(deadlineS?: number | null): void {
      resetFanout(this.fanout, deadlineS);
    }

    /** See {@link selectTargets}; the host list comes from the mesh of this agent's host. */
    async fanoutSelectTargets(
      options: { targets?: readonly string[] | null; includeSelf?: boolean; onOffline?: 'error' | 'record' } = {},
    ): Promise<FanoutTarget[]> {
      const hosts = await this.context.availableHosts({ onlineOnly: false, includeSelf: true });
      return selectTargets(hosts, { ...options, selfUrl: this.hostUrl }, this.fanout);
    }

    /**
     * Clones this agent to every target (in parallel). Each copy starts as a child (role
     * `child`, `parent` = this agent, `target` = its host); failures are booked per host.
     * Resolves to the hosts a child now runs on.
     */
    async fanoutClone(targets: readonly FanoutTarget[]): Promise<string[]> {
      const books = this.fanout;
      for (const t of targets) markPending(books, t.key);
      // The copies are made from this state: they leave as children of this agent.
      const saved = { role: books.role, parent: books.parent };
      books.role = 'child';
      books.parent = { host_url: this.hostUrl, agent_id: this.agentId };
      try {
        const settled = await Promise.allSettled(targets.map((t) => this.clone(t.url)));
        const launched: string[] = [];
        settled.forEach((r, i) => {
          const key = targets[i]!.key;
          if (r.status === 'fulfilled') {
            recordChild(books, key, r.value.ref);
            launched.push(key);
          } else recordError(books, key, `clone failed: ${describeError(r.reason)}`);
        });
        signalOf(this).notify();
        return launched;
      } finally {
        books.role = saved.role;
        books.parent = saved.parent;
      }
    }

    /** A child reports its result to its parent (false when it is not a child or the parent is gone). */
    async fanoutReport(result: unknown): Promise<boolean> {
      return sendToParent(this, FANOUT_RESULT_KIND, { host: this.fanout.target ?? this.hostName, result: result ?? null });
    }

    /** A child reports that it failed. */
    async fanoutReportError(error: unknown): Promise<boolean> {
      return sendToParent(this, FANOUT_ERROR_KIND, { host: this.fanout.target ?? this.hostName, error: describeError(error) });
    }

    /** Books a result (the parent side of `fanoutReport`). */
    fanoutRecordResult(host: string, result: unknown): void {
      recordResult(this.fanout, host, result);
      signalOf(this).notify();
    }

    /** Books a failure for a host. */
    fanoutRecordError(host: string, error: unknown): void {
      recordError(this.fanout, host, error);
      signalOf(this).notify();
    }

    /** Pending hosts past the deadline become errors; returns them. */
    fanoutExpire(now?: number): string[] {
      return expirePending(this.fanout, now);
    }

    /**
     * Waits until no host is pending, or until the deadline (then expires the rest), or
     * `timeoutMs`. Resolves to whether every host answered (done or failed) in time: false
     * when some timed out (they are in `errors` now) or are still pending.
     */
    async fanoutWait(timeoutMs?: number): Promise<boolean> {
      const books = this.fanout;
      const until = Math.min(
        timeoutMs === undefined ? Infinity : Date.now() + timeoutMs,
        books.deadline === null ? Infinity : books.deadline * 1000,
      );
      const signal = signalOf(this);
      while (books.pending_hosts.length > 0) {
        const left = until - Date.now();
        if (left <= 0) break;
        await signal.wait(Math.min(left, 2 ** 31 - 1));
      }
      const expired = this.fanoutExpire();
      return expired.length === 0 && books.pending_hosts.length === 0;
    }

    /**
     * Disposes every booked child; failures go to `cleanup_errors` (a child that is already
     * gone is not a failure). Resolves to the cleanup errors.
     */
    async fanoutDisposeChildren(): Promise<Record<string, string>> {
      const books = this.fanout;
      const entries = Object.entries(books.child_proxies);
      await Promise.all(
        entries.map(async ([key, ref]) => {
          try {
            await this.context.getProxy(ref).dispose();
          } catch (err) {
            if (errorTypeOf(err) !== 'AgentNotFoundError') books.cleanup_errors[key] = describeError(err);
          }
          delete books.child_proxies[key];
        }),
      );
      return { ...books.cleanup_errors };
    }

    fanoutSummary(): FanoutSummary {
      return fanoutSummary(this.fanout);
    }

    /** On the copy: becomes a child of the agent it was cloned from, with empty books. */
    override async onClone(event: CloneEvent): Promise<void> {
      await super.onClone(event);
      const books = this.fanout;
      if (books.role !== 'child') return; // a plain clone of a parent stays a parent
      const deadline = books.deadline;
      resetFanout(books);
      books.role = 'child';
      books.deadline = deadline;
      books.parent = { host_url: event.source_host_address, agent_id: event.source_agent_id };
      books.target = this.hostName;
    }

    /** Books `fanout.result` / `fanout.error` reports; other kinds go to the base class. */
    override handleMessage(message: Message): unknown {
      if (message.kind === FANOUT_RESULT_KIND) {
        this.fanoutRecordResult(String(message.args.host), message.args.result);
        return { ok: true };
      }
      if (message.kind === FANOUT_ERROR_KIND) {
        this.fanoutRecordError(String(message.args.host), String(message.args.error));
        return { ok: true };
      }
      return super.handleMessage(message);
    }
  }
  return MeshFanoutAgent;
}
