/**
 * The Task pattern: an agent that runs one task and reports on it through a typed contract
 * (`task` v1: `start{request}`, `status`, `wait{wait_timeout}`), and a client that starts it,
 * waits for it and follows it when the task moves the agent to another host.
 *
 * ```ts
 * export class Square extends TaskAgent<{ n: number }, number> {
 *   runTask({ n }: { n: number }) { return n * n; }             // a result: COMPLETED at once
 * }
 * // client side
 * const task = await TaskClient.create<{ n: number }, number>(host, './square.js#Square');
 * const done = await task.startAndWait({ n: 7 });              // done.status 'COMPLETED', done.result 49
 * ```
 *
 * `runTask(request)` may
 * - return a result: the task is COMPLETED with it;
 * - return `undefined`: the task stays RUNNING until `completeTask(result)` or `failTask(err)`
 *   (from `run()`, a timer, a later message or an arrival hook);
 * - return a handle on another agent (e.g. a clone): COMPLETED with its ref;
 * - move the agent (`return this.dispatch(target)`): on the source the status becomes
 *   WAITING_FOR_ARRIVAL, the reply to `start` names the new host, and clients follow it there.
 *   The arrived agent continues in {@link TaskAgent.onTaskArrival} and ends the task with
 *   `completeTask`/`failTask`; a throw there refuses the arrival, so the agent stays on the
 *   source, where the task is FAILED with the reason.
 *
 * A throw from `runTask` makes the task FAILED. The agent handles messages concurrently
 * (`static concurrency = 8`) so `status` and `wait` answer while `start` is still working.
 */
import Type from 'typebox';
import { Agent, type AgentHandle, type MobilityEvent, type MoveTarget } from '../core/agent.ts';
import { ConflictError, TimeoutError } from '../core/errors.ts';
import type { AgentRef, Message } from '../core/message.ts';
import { defineContract } from '../services/contract.ts';
import type { AgentProxy, HostClient, CreateOptions } from '../remote/client.ts';
import { Signal, describeError, errorTypeOf, isAgentHandle, normalizeHostUrl, nowSeconds } from './util.ts';

export const TASK_STATUSES = ['NEW', 'RUNNING', 'WAITING_FOR_ARRIVAL', 'COMPLETED', 'FAILED'] as const;
export type TaskStatusName = (typeof TASK_STATUSES)[number];

/** What a task agent keeps in `state.task` (it moves and persists with the agent). */
export interface TaskRecord<Req = unknown, Res = unknown> {
  status: TaskStatusName;
  request: Req | null;
  result: Res | null;
  error: string | null;
  /** Seconds since the epoch. */
  started_at: number | null;
  completed_at: number | null;
}

/** The state every task agent has; subclasses add their own fields next to `task`. */
export interface TaskAgentState<Req = unknown, Res = unknown> {
  task: TaskRecord<Req, Res>;
}

/** The reply of every task operation. */
export interface TaskStatus<Req = unknown, Res = unknown> extends TaskRecord<Req, Res> {
  /** COMPLETED or FAILED. */
  done: boolean;
  agent_id: string;
  host_name: string;
  host_url: string;
}

/** What `runTask` may return: a result, nothing (completes later), or the agent's new location. */
export type TaskOutcome<Res> = Res | undefined | AgentHandle;

const TaskStatusSchema = Type.Object({
  status: Type.Union([
    Type.Literal('NEW'),
    Type.Literal('RUNNING'),
    Type.Literal('WAITING_FOR_ARRIVAL'),
    Type.Literal('COMPLETED'),
    Type.Literal('FAILED'),
  ]),
  done: Type.Boolean(),
  request: Type.Optional(Type.Unknown()),
  result: Type.Optional(Type.Unknown()),
  error: Type.Union([Type.String(), Type.Null()]),
  started_at: Type.Union([Type.Number(), Type.Null()]),
  completed_at: Type.Union([Type.Number(), Type.Null()]),
  agent_id: Type.String(),
  host_name: Type.String(),
  host_url: Type.String(),
});

/** Longest single `wait` (seconds); clients loop for longer waits. */
export const MAX_WAIT_TIMEOUT_S = 300;
/** `wait` without `wait_timeout` waits this long (seconds). */
export const DEFAULT_WAIT_TIMEOUT_S = 0.5;

/** The `task` v1 contract (message kinds `task.start`, `task.status`, `task.wait`). */
export const TaskContract = defineContract({
  name: 'task',
  version: '1',
  operations: {
    start: { request: Type.Object({ request: Type.Optional(Type.Unknown()) }), reply: TaskStatusSchema },
    status: { reply: TaskStatusSchema },
    wait: {
      request: Type.Object({ wait_timeout: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_WAIT_TIMEOUT_S })) }),
      reply: TaskStatusSchema,
    },
  },
});

export function newTaskRecord<Req = unknown, Res = unknown>(): TaskRecord<Req, Res> {
  return { status: 'NEW', request: null, result: null, error: null, started_at: null, completed_at: null };
}

export function isTaskDone(status: TaskStatusName): boolean {
  return status === 'COMPLETED' || status === 'FAILED';
}

/**
 * Base class of task agents. Subclasses implement {@link runTask}; their state extends
 * {@link TaskAgentState} (`static defaultState = { ...TaskAgent.defaultState, mine: 1 }`; a
 * missing `task` field is created on first use). Subclasses that override `onDispatching`,
 * `onArrival` or `handleMessage` call `super` (or use {@link onTaskArrival} and
 * {@link handleFallback}, which exist for that).
 */
export abstract class TaskAgent<
  Req = unknown,
  Res = unknown,
  S extends TaskAgentState<Req, Res> = TaskAgentState<Req, Res>,
> extends Agent<S> {
  static override defaultState: unknown = { task: newTaskRecord() };
  static override concurrency = 8;

  readonly #changed = new Signal();
  /** Where this copy went when `runTask` moved it (this copy is stale from then on). */
  #movedTo: { host_url: string; host_name: string } | null = null;
  #dispatchTargetName: string | null = null;

  /** Does the work; see the module comment for what the return value means. */
  abstract runTask(request: Req): TaskOutcome<Res> | Promise<TaskOutcome<Res>>;

  /** After the task moved the agent here, before `run()`; a throw refuses the arrival. */
  onTaskArrival(_event: MobilityEvent): void | Promise<void> {}

  /** Messages that are not task operations; declined by default. */
  handleFallback(message: Message): unknown {
    return this.notHandled(message.kind);
  }

  /** The task record in the state (created when a subclass's default state lacks it). */
  get task(): TaskRecord<Req, Res> {
    const state = this.state as TaskAgentState<Req, Res>;
    if (!state.task) state.task = newTaskRecord<Req, Res>();
    return state.task;
  }

  /** Completes the task with `result`; false when it was already done. */
  completeTask(result: Res): boolean {
    const task = this.task;
    if (isTaskDone(task.status)) return false;
    task.status = 'COMPLETED';
    task.result = result === undefined ? null : result;
    task.error = null;
    task.completed_at = nowSeconds();
    this.#changed.notify();
    return true;
  }

  /** Fails the task with `error` (an Error or a message); false when it was already done. */
  failTask(error: unknown): boolean {
    const task = this.task;
    if (isTaskDone(task.status)) return false;
    task.status = 'FAILED';
    task.error = describeError(error);
    task.completed_at = nowSeconds();
    this.#changed.notify();
    return true;
  }

  /** The reply of every task operation. */
  taskStatus(): TaskStatus<Req, Res> {
    const task = this.task;
    return {
      status: task.status,
      done: isTaskDone(task.status),
      request: task.request ?? null,
      result: task.result ?? null,
      error: task.error ?? null,
      started_at: task.started_at ?? null,
      completed_at: task.completed_at ?? null,
      agent_id: this.agentId,
      host_name: this.#movedTo?.host_name ?? this.hostName,
      host_url: this.#movedTo?.host_url ?? this.hostUrl,
    };
  }

  override handleMessage(message: Message): unknown {
    return TaskContract.route(
      message,
      {
        start: ({ request }) => this.#start(request as Req),
        status: () => this.taskStatus(),
        wait: ({ wait_timeout }) => this.#wait(wait_timeout ?? DEFAULT_WAIT_TIMEOUT_S),
      },
      () => this.handleFallback(message),
    );
  }

  override async dispatch(target: MoveTarget): Promise<AgentHandle> {
    try {
      return await super.dispatch(target);
    } catch (err) {
      // The move failed and the agent stayed here: the task is still running here.
      if (this.task.status === 'WAITING_FOR_ARRIVAL') this.task.status = 'RUNNING';
      throw err;
    }
  }

  override onDispatching(event: MobilityEvent): void | Promise<void> {
    if (this.task.status === 'RUNNING') this.task.status = 'WAITING_FOR_ARRIVAL';
    this.#dispatchTargetName = event.target_host_name;
  }

  override async onArrival(event: MobilityEvent): Promise<void> {
    if (this.task.status === 'WAITING_FOR_ARRIVAL') this.task.status = 'RUNNING';
    await this.onTaskArrival(event);
  }

  async #start(request: Req): Promise<TaskStatus<Req, Res>> {
    const task = this.task;
    if (task.status !== 'NEW') throw new ConflictError(`task '${this.agentId}' was already started (status ${task.status})`);
    task.status = 'RUNNING';
    task.request = request === undefined ? null : request;
    task.started_at = nowSeconds();
    this.#changed.notify();
    let outcome: TaskOutcome<Res>;
    try {
      outcome = await this.runTask(request);
    } catch (err) {
      this.failTask(err);
      return this.taskStatus();
    }
    if (isAgentHandle(outcome)) {
      const ref: AgentRef = outcome.ref;
      if (ref.agent_id !== this.agentId) {
        // A handle on another agent (e.g. a clone) is data: its ref is the result.
        this.completeTask({ host_url: ref.host_url, agent_id: ref.agent_id } as Res);
      } else if (normalizeHostUrl(ref.host_url) !== normalizeHostUrl(this.hostUrl)) {
        this.#movedTo = { host_url: ref.host_url, host_name: this.#dispatchTargetName ?? ref.host_url };
        this.#changed.notify();
      }
      // A "move" to this host changes nothing: the task is still running (or done) here.
      return this.taskStatus();
    }
    if (outcome !== undefined) this.completeTask(outcome as Res);
    return this.taskStatus();
  }

  async #wait(timeoutS: number): Promise<TaskStatus<Req, Res>> {
    const deadline = Date.now() + Math.min(Math.max(timeoutS, 0), MAX_WAIT_TIMEOUT_S) * 1000;
    while (!isTaskDone(this.task.status) && this.#movedTo === null) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await this.#changed.wait(left);
    }
    return this.taskStatus();
  }
}

export interface TaskWaitOptions<Req, Res> {
  /** Give up (TimeoutError) after this many ms. @default 60000 */
  timeoutMs?: number;
  /** Seconds each `wait` call may block on the agent. @default 0.5 */
  waitTimeoutS?: number;
  /** Called with every status seen (progress output). */
  onStatus?: (status: TaskStatus<Req, Res>) => void;
}

/** How many moves one call follows before giving up. */
const MAX_FOLLOWS = 16;

/**
 * Talks to a task agent over HTTP (`taglets/client`): starts it, asks its status, waits for
 * it, and follows it when it moves (by the host URL in its replies, or by the `moved_to` the
 * old host reports).
 */
export class TaskClient<Req = unknown, Res = unknown> {
  #proxy: AgentProxy;

  constructor(proxy: AgentProxy) {
    this.#proxy = proxy;
  }

  /** Creates a task agent on `client`'s host and returns a client for it. */
  static async create<Req = unknown, Res = unknown>(
    client: HostClient,
    agentClass: string,
    options: CreateOptions = {},
  ): Promise<TaskClient<Req, Res>> {
    return new TaskClient<Req, Res>(await client.createAgent(agentClass, options));
  }

  /** The proxy of the agent where it was last seen. */
  get proxy(): AgentProxy {
    return this.#proxy;
  }

  get ref(): AgentRef {
    return this.#proxy.ref;
  }

  start(request: Req, options: { timeoutMs?: number } = {}): Promise<TaskStatus<Req, Res>> {
    return this.#call('start', { request }, options.timeoutMs);
  }

  status(): Promise<TaskStatus<Req, Res>> {
    return this.#call('status', {});
  }

  /** Waits up to `waitTimeoutS` seconds on the agent; the status either way. */
  wait(waitTimeoutS = DEFAULT_WAIT_TIMEOUT_S): Promise<TaskStatus<Req, Res>> {
    return this.#call('wait', { wait_timeout: Math.min(waitTimeoutS, MAX_WAIT_TIMEOUT_S) });
  }

  /** Waits until the task is COMPLETED or FAILED (TimeoutError after `timeoutMs`). */
  async waitUntilDone(options: TaskWaitOptions<Req, Res> = {}): Promise<TaskStatus<Req, Res>> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = (deadline - Date.now()) / 1000;
      const status = await this.wait(Math.max(0, Math.min(options.waitTimeoutS ?? DEFAULT_WAIT_TIMEOUT_S, left)));
      options.onStatus?.(status);
      if (status.done) return status;
      if (Date.now() >= deadline) {
        throw new TimeoutError(`task '${this.#proxy.agentId}' is still ${status.status} on ${status.host_name} after ${timeoutMs} ms`);
      }
    }
  }

  /** Starts the task and waits until it is done; the final status (COMPLETED or FAILED). */
  async startAndWait(request: Req, options: TaskWaitOptions<Req, Res> = {}): Promise<TaskStatus<Req, Res>> {
    const started = Date.now();
    const status = await this.start(request, options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {});
    options.onStatus?.(status);
    if (status.done) return status;
    const timeoutMs = options.timeoutMs ?? 60_000;
    return this.waitUntilDone({ ...options, timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) });
  }

  /** Disposes the agent wherever it is now. */
  async dispose(): Promise<void> {
    await this.#follow(() => this.#proxy.dispose());
  }

  #moveTo(hostUrl: string): void {
    if (normalizeHostUrl(hostUrl) === normalizeHostUrl(this.#proxy.hostUrl)) return;
    this.#proxy = this.#proxy.client.sibling(hostUrl).proxy(this.#proxy.agentId);
  }

  async #follow<T>(fn: () => Promise<T>): Promise<T> {
    for (let hop = 0; ; hop++) {
      try {
        return await fn();
      } catch (err) {
        const movedTo = (err as { details?: { moved_to?: AgentRef } }).details?.moved_to;
        if (hop < MAX_FOLLOWS && errorTypeOf(err) === 'AgentNotFoundError' && movedTo && typeof movedTo.host_url === 'string') {
          this.#moveTo(movedTo.host_url);
          continue;
        }
        throw err;
      }
    }
  }

  async #call(op: 'start' | 'status' | 'wait', request: Record<string, unknown>, timeoutMs?: number): Promise<TaskStatus<Req, Res>> {
    const reply = await this.#follow(() =>
      TaskContract.handle(this.#proxy).call(op, request as never, timeoutMs !== undefined ? { timeoutMs } : {}),
    );
    const status = reply as unknown as TaskStatus<Req, Res>;
    this.#moveTo(status.host_url);
    return status;
  }
}
