/**
 * Runs each active agent in its own child process. Children are forked ahead of need into a
 * warm pool, so creating an agent costs an IPC round trip instead of a Node start; a child
 * freed cleanly (its agent disposed, no handler or run() still going) goes back to the pool
 * up to a bounded number of reuses. A child that crashed or failed to load never returns.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WireError } from '../core/errors.ts';
import { AgentCrashedError, errorFromWire, errorToWire, HostError } from '../core/errors.ts';
import type { MessageInit } from '../core/message.ts';
import type { RunnerKind } from '../core/agent.ts';
import type { HookName, HostBridge, LoadResult, LoadSpec } from './agent-shell.ts';
import type { ChildToHost, HostToChild } from './ipc-protocol.ts';
import type { ExitInfo, Runner, RunnerHandle, RunnerStatus, StartResult } from './runner.ts';

const CHILD_MAIN = fileURLToPath(new URL('./child-main.js', import.meta.url));
/** `setpriv --pdeathsig KILL` makes the kernel kill the child when the host dies, even by SIGKILL. */
const SETPRIV = '/usr/bin/setpriv';

export interface ProcessRunnerOptions {
  /** Idle children kept ready (grows under load up to maxIdle). @default 2 */
  minIdle?: number;
  /** Upper bound of the warm pool. @default 8 */
  maxIdle?: number;
  /** How many agents one child may serve before it is retired. @default 100 */
  maxReuse?: number;
  /** Milliseconds to wait for a child to exit after a graceful stop before killing it. @default 2000 */
  stopGraceMs?: number;
  /** Idle children above minIdle are retired after this many ms without demand. @default 30000 */
  shrinkAfterMs?: number;
  env?: NodeJS.ProcessEnv;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** One forked child, with request/response correlation over IPC. */
class Child {
  readonly proc: ChildProcess;
  readonly ready: Promise<void>;
  uses = 0;
  exited = false;
  /** Whether the child has said it is ready. */
  isReady = false;
  exitInfo: ExitInfo | undefined;
  bridge: HostBridge | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly exitListeners: ((info: ExitInfo) => void)[] = [];
  onRunEnd: ((error?: WireError) => void) | undefined;

  constructor(env: NodeJS.ProcessEnv) {
    const usePdeathsig = process.platform === 'linux' && existsSync(SETPRIV);
    this.proc = fork(CHILD_MAIN, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env,
      ...(usePdeathsig ? { execPath: SETPRIV, execArgv: ['--pdeathsig', 'KILL', process.execPath] } : { execArgv: [] }),
    });
    this.ready = new Promise((resolve, reject) => {
      const onExit = (): void => reject(new HostError('agent process exited before it was ready'));
      this.proc.once('exit', onExit);
      this.proc.once('message', (msg: ChildToHost) => {
        this.proc.off('exit', onExit);
        if (msg.t === 'ready') resolve();
        else reject(new HostError(`agent process sent '${msg.t}' before ready`));
      });
      this.proc.once('error', reject);
    });
    this.ready.then(
      () => (this.isReady = true),
      () => {},
    );
    this.proc.on('message', (msg: ChildToHost) => this.onMessage(msg));
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      this.exitInfo = { code, signal };
      const err = new AgentCrashedError(
        `agent process ${this.proc.pid} exited (${signal ? `signal ${signal}` : `code ${code}`})`,
      );
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      for (const l of this.exitListeners) l(this.exitInfo);
    });
  }

  get pid(): number | null {
    return this.proc.pid ?? null;
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }
  clearExitListeners(): void {
    this.exitListeners.length = 0;
  }

  private onMessage(msg: ChildToHost): void {
    switch (msg.t) {
      case 'res': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(errorFromWire(msg.error!));
        return;
      }
      case 'run-end':
        this.onRunEnd?.(msg.error);
        return;
      case 'call': {
        const bridge = this.bridge;
        const respond = (res: Omit<Extract<HostToChild, { t: 'call-res' }>, 't' | 'id'>): void =>
          this.post({ t: 'call-res', id: msg.id, ...res });
        if (!bridge) {
          respond({ ok: false, error: { error_type: 'HostError', error: 'no agent loaded' } });
          return;
        }
        bridge.call(msg.method, msg.args).then(
          (value) => respond({ ok: true, value }),
          (err: unknown) => respond({ ok: false, error: errorToWire(err) }),
        );
        return;
      }
      case 'ready':
        return;
    }
  }

  post(msg: HostToChild): void {
    if (this.exited || !this.proc.connected) return;
    this.proc.send(msg);
  }

  request(build: (id: number) => HostToChild): Promise<unknown> {
    if (this.exited) {
      return Promise.reject(new AgentCrashedError(`agent process ${this.pid} is not running`));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.send(build(id), (err) => {
        if (err && this.pending.delete(id)) reject(new AgentCrashedError(`agent process unreachable: ${err.message}`));
      });
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.proc.kill(signal);
  }

  /** Asks the child to exit (closing IPC makes it exit) and kills it after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.proc.connected) this.proc.disconnect();
    const timer = setTimeout(() => this.kill(), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

class ProcessHandle implements RunnerHandle {
  readonly kind = 'process' as const;
  readonly concurrency: number;
  readonly declaredRunner: RunnerKind;
  private readonly child: Child;
  private readonly runner: ProcessRunner;
  private runEnded = true;

  constructor(runner: ProcessRunner, child: Child, loaded: LoadResult) {
    this.runner = runner;
    this.child = child;
    this.concurrency = loaded.concurrency;
    this.declaredRunner = loaded.runner;
  }
  get pid(): number | null {
    return this.child.pid;
  }
  lifecycle(name: HookName, event: Record<string, unknown>): Promise<unknown> {
    return this.child.request((id) => ({ t: 'hook', id, name, event }));
  }
  deliver(message: MessageInit): Promise<unknown> {
    return this.child.request((id) => ({ t: 'msg', id, message }));
  }
  state(): Promise<unknown> {
    return this.child.request((id) => ({ t: 'state', id }));
  }
  startRun(onRunEnd: (error?: WireError) => void): void {
    this.runEnded = false;
    this.child.onRunEnd = (error) => {
      this.runEnded = true;
      onRunEnd(error);
    };
    this.child.post({ t: 'run' });
  }
  async stop(reusable: boolean): Promise<void> {
    this.child.clearExitListeners();
    this.child.bridge = undefined;
    this.child.onRunEnd = undefined;
    // Reuse only a child with nothing of the old agent still running in it.
    if (reusable && this.runEnded && this.child.inFlight === 0 && !this.child.exited) {
      try {
        await this.child.request((id) => ({ t: 'unload', id }));
        this.runner.release(this.child);
        return;
      } catch {
        /* fall through: retire it */
      }
    }
    // The agent is gone for the host once this returns; the process is reaped in the background
    // (close() still waits for every retiring child).
    void this.runner.retire(this.child);
  }
  kill(): void {
    this.child.clearExitListeners();
    this.child.kill();
  }
  onExit(listener: (info: ExitInfo) => void): void {
    this.child.onExit(listener);
  }
}

export class ProcessRunner implements Runner {
  readonly kind = 'process' as const;
  private readonly idle: Child[] = [];
  private readonly busy = new Set<Child>();
  private readonly retiring = new Set<Child>();
  private spawned = 0;
  private reused = 0;
  private targetIdle: number;
  private readonly minIdle: number;
  private readonly maxIdle: number;
  private readonly maxReuse: number;
  private readonly stopGraceMs: number;
  private readonly shrinkAfterMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private lastDemand = Date.now();
  private shrinkTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: ProcessRunnerOptions = {}) {
    this.minIdle = options.minIdle ?? 2;
    this.maxIdle = Math.max(this.minIdle, options.maxIdle ?? 8);
    this.maxReuse = options.maxReuse ?? 100;
    this.stopGraceMs = options.stopGraceMs ?? 2000;
    this.shrinkAfterMs = options.shrinkAfterMs ?? 30_000;
    this.env = options.env ?? process.env;
    this.targetIdle = this.minIdle;
  }

  /** Starts filling the warm pool (call once the host is listening). */
  warm(): void {
    this.fill();
    this.shrinkTimer = setInterval(() => this.shrink(), Math.max(1000, this.shrinkAfterMs / 2));
    this.shrinkTimer.unref();
  }

  private spawn(): Child {
    const child = new Child(this.env);
    this.spawned++;
    child.onExit(() => this.forget(child));
    return child;
  }

  private forget(child: Child): void {
    const i = this.idle.indexOf(child);
    if (i >= 0) this.idle.splice(i, 1);
    this.busy.delete(child);
    this.retiring.delete(child);
  }

  private fill(): void {
    if (this.closed) return;
    while (this.idle.length < this.targetIdle) {
      const child = this.spawn();
      this.idle.push(child);
      child.ready.catch(() => this.forget(child));
    }
  }

  private shrink(): void {
    if (Date.now() - this.lastDemand < this.shrinkAfterMs) return;
    this.targetIdle = this.minIdle;
    while (this.idle.length > this.targetIdle) void this.retire(this.idle.pop()!);
  }

  private acquire(): Child {
    this.lastDemand = Date.now();
    // Prefer a child that is ready now over one still starting.
    const readyAt = this.idle.findIndex((c) => c.isReady);
    let child = readyAt >= 0 ? this.idle.splice(readyAt, 1)[0] : this.idle.shift();
    if (!child || !child.isReady) {
      // Demand outran the pool (no child ready): keep more children warm from now on.
      this.targetIdle = Math.min(this.maxIdle, this.targetIdle + 1);
    }
    if (!child) child = this.spawn();
    else if (child.uses > 0) this.reused++;
    this.busy.add(child);
    setImmediate(() => this.fill());
    return child;
  }

  async start(spec: LoadSpec, bridge: HostBridge): Promise<StartResult> {
    if (this.closed) throw new HostError('the process runner is closed');
    const child = this.acquire();
    try {
      await child.ready;
      child.bridge = bridge;
      child.uses++;
      const loaded = (await child.request((id) => ({ t: 'load', id, spec }))) as LoadResult;
      return { handle: new ProcessHandle(this, child, loaded) };
    } catch (err) {
      // A child that imported a broken module may carry its side effects: never reuse it.
      child.bridge = undefined;
      await this.retire(child);
      throw err;
    }
  }

  /** Returns a cleanly unloaded child to the pool, or retires it. */
  release(child: Child): void {
    this.busy.delete(child);
    if (this.closed || child.exited || child.uses >= this.maxReuse || this.idle.length >= this.maxIdle) {
      void this.retire(child);
      return;
    }
    this.idle.unshift(child);
  }

  async retire(child: Child): Promise<void> {
    this.busy.delete(child);
    const i = this.idle.indexOf(child);
    if (i >= 0) this.idle.splice(i, 1);
    this.retiring.add(child);
    await child.stop(this.stopGraceMs);
    this.retiring.delete(child);
  }

  status(): RunnerStatus {
    return {
      kind: 'process',
      idle: this.idle.length,
      busy: this.busy.size,
      spawned: this.spawned,
      reused: this.reused,
      target_idle: this.targetIdle,
    };
  }

  /** Pids of every child this runner has alive (for tests and diagnostics). */
  pids(): number[] {
    return [...this.idle, ...this.busy, ...this.retiring].map((c) => c.pid).filter((p): p is number => p !== null);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.shrinkTimer) clearInterval(this.shrinkTimer);
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    await Promise.all(all.map((c) => this.retire(c)));
    await Promise.all([...this.retiring].map((c) => c.stop(this.stopGraceMs)));
  }

  kill(): void {
    this.closed = true;
    if (this.shrinkTimer) clearInterval(this.shrinkTimer);
    for (const c of [...this.idle, ...this.busy, ...this.retiring]) c.kill();
    this.idle.length = 0;
    this.busy.clear();
  }
}
