/**
 * The Itinerary pattern: a plan of destinations an agent visits in turn, kept as plain data in
 * its state (`state.itinerary`) so it travels with it, and changed only by pure functions that
 * return a new plan.
 *
 * ```ts
 * let plan = createItinerary(['beta', 'gamma']);
 * plan = addDestination(plan, 'delta', { after: 'beta' });      // beta, delta, gamma
 * const { plan: next, destination } = nextDestination(plan);    // 'beta', current_index 0
 * await dispatchNext(this);                                     // inside an agent: advance, then dispatch
 * ```
 *
 * A {@link TaskItineraryPlan} adds tasks per destination and phase (`arrival`, `dispatch`,
 * `reverting`) and default tasks; an {@link ItineraryAgent} walks such a plan by itself:
 * arrival tasks where it lands, dispatch tasks before it leaves, then on to the next stop.
 */
import { Agent, type AgentHandle, type MobilityEvent, type MoveTarget } from '../core/agent.ts';
import { ValidationError } from '../core/errors.ts';
import type { Message } from '../core/message.ts';
import { describeError, normalizeHostUrl, nowSeconds } from './util.ts';

export interface ItineraryPlan {
  /** Host names or URLs, in visiting order (duplicates allowed unless added with `unique`). */
  destinations: string[];
  /** Index of the destination visited last; -1 before the first. */
  current_index: number;
  /** The destination visited last (null before the first). */
  current_location: string | null;
  /** Every destination visited, in order (a circular plan repeats them). */
  visited_destinations: string[];
  /** False after {@link makeImmutable}: adding and removing throw. */
  mutable: boolean;
  /** After the last destination, start again at the first. */
  circular: boolean;
  /** How many times a circular plan wrapped around. */
  loop_count: number;
  /** Set when `next` found no destination left. */
  completed: boolean;
}

export function createItinerary(
  destinations: readonly string[] = [],
  options: { circular?: boolean; mutable?: boolean } = {},
): ItineraryPlan {
  return {
    destinations: [...destinations],
    current_index: -1,
    current_location: null,
    visited_destinations: [],
    mutable: options.mutable ?? true,
    circular: options.circular ?? false,
    loop_count: 0,
    completed: false,
  };
}

function requireMutable(plan: ItineraryPlan, what: string): void {
  if (!plan.mutable) throw new ValidationError(`cannot ${what}: the itinerary is immutable`);
}

/**
 * A plan with `destination` added: appended, at `index` (0..length), or right after the first
 * occurrence of `after`. With `unique` an already planned destination is not added again.
 */
export function addDestination<P extends ItineraryPlan>(
  plan: P,
  destination: string,
  options: { index?: number; after?: string; unique?: boolean } = {},
): P {
  requireMutable(plan, `add '${destination}'`);
  if (!destination) throw new ValidationError('a destination must be a non-empty host name or URL');
  if (options.unique && plan.destinations.includes(destination)) return plan;
  let index = plan.destinations.length;
  if (options.after !== undefined) {
    const at = plan.destinations.indexOf(options.after);
    if (at < 0) throw new ValidationError(`cannot add '${destination}' after '${options.after}': not in the itinerary`);
    index = at + 1;
  } else if (options.index !== undefined) {
    if (!Number.isInteger(options.index) || options.index < 0 || options.index > plan.destinations.length) {
      throw new ValidationError(`index ${options.index} is out of range 0..${plan.destinations.length}`);
    }
    index = options.index;
  }
  const destinations = [...plan.destinations];
  destinations.splice(index, 0, destination);
  // Inserting at or before the current stop shifts it, so the next stop stays the same.
  const current_index = index <= plan.current_index ? plan.current_index + 1 : plan.current_index;
  return { ...plan, destinations, current_index, completed: false };
}

/** A plan without the destination at `index` (a number) or the first occurrence of a name/URL. */
export function removeDestination<P extends ItineraryPlan>(plan: P, which: string | number | { value: string } | { index: number }): P {
  requireMutable(plan, 'remove a destination');
  let index: number;
  if (typeof which === 'number' || (typeof which === 'object' && 'index' in which)) {
    index = typeof which === 'number' ? which : which.index;
    if (!Number.isInteger(index) || index < 0 || index >= plan.destinations.length) {
      throw new ValidationError(`index ${index} is out of range 0..${plan.destinations.length - 1}`);
    }
  } else {
    const value = typeof which === 'string' ? which : which.value;
    index = plan.destinations.indexOf(value);
    if (index < 0) throw new ValidationError(`cannot remove '${value}': not in the itinerary`);
  }
  const destinations = plan.destinations.filter((_, i) => i !== index);
  // Removing the current stop or one before it: the next stop stays the one after it.
  const current_index = index <= plan.current_index ? plan.current_index - 1 : plan.current_index;
  return { ...plan, destinations, current_index };
}

/** A plan that can no longer be changed by add/remove. */
export function makeImmutable<P extends ItineraryPlan>(plan: P): P {
  return { ...plan, mutable: false };
}

/** Index of the destination `next` would return, or -1 when exhausted. */
function nextIndex(plan: ItineraryPlan): { index: number; wrapped: boolean } {
  const n = plan.destinations.length;
  if (n === 0) return { index: -1, wrapped: false };
  const i = plan.current_index + 1;
  if (i < n) return { index: i, wrapped: false };
  return plan.circular ? { index: 0, wrapped: true } : { index: -1, wrapped: false };
}

/** The next destination without advancing, or null when exhausted. */
export function peekNext(plan: ItineraryPlan): string | null {
  const { index } = nextIndex(plan);
  return index < 0 ? null : plan.destinations[index]!;
}

export function hasNext(plan: ItineraryPlan): boolean {
  return nextIndex(plan).index >= 0;
}

/**
 * Advances to the next destination (wrapping round a circular plan): the new plan has it as
 * current location and in `visited_destinations`. Exhausted: destination null, plan completed.
 */
export function nextDestination<P extends ItineraryPlan>(plan: P): { plan: P; destination: string | null } {
  const { index, wrapped } = nextIndex(plan);
  if (index < 0) return { plan: { ...plan, completed: true }, destination: null };
  const destination = plan.destinations[index]!;
  return {
    plan: {
      ...plan,
      current_index: index,
      current_location: destination,
      visited_destinations: [...plan.visited_destinations, destination],
      loop_count: wrapped ? plan.loop_count + 1 : plan.loop_count,
      completed: false,
    },
    destination,
  };
}

/** Skips the next `count` destinations without visiting them (wrapping if circular). */
export function skipNext<P extends ItineraryPlan>(plan: P, count = 1): P {
  let p = plan;
  for (let i = 0; i < count; i++) {
    const { index, wrapped } = nextIndex(p);
    if (index < 0) return { ...p, completed: true };
    p = { ...p, current_index: index, loop_count: wrapped ? p.loop_count + 1 : p.loop_count };
  }
  return p;
}

export interface ItineraryCounts {
  total: number;
  visited: number;
  /** Destinations left in this round (a circular plan starts a new round after them). */
  remaining: number;
}

export function itineraryCounts(plan: ItineraryPlan): ItineraryCounts {
  const total = plan.destinations.length;
  return {
    total,
    visited: plan.visited_destinations.length,
    remaining: plan.completed ? 0 : Math.max(0, total - (plan.current_index + 1)),
  };
}

export function firstDestination(plan: ItineraryPlan): string | null {
  return plan.destinations[0] ?? null;
}

export function lastDestination(plan: ItineraryPlan): string | null {
  return plan.destinations.at(-1) ?? null;
}

/** What `dispatchNext` needs of an agent. */
export interface ItineraryTraveller<P extends ItineraryPlan = ItineraryPlan> {
  state: { itinerary: P };
  dispatch(target: MoveTarget): Promise<AgentHandle>;
}

/**
 * Advances `agent.state.itinerary` and **then** dispatches the agent to the new current
 * destination, so the plan that travels already points at it. Resolves to the agent's new
 * location, or null (plan marked completed) when no destination is left. If the move fails
 * the plan is restored and the error thrown: the agent is still here, nothing was visited.
 */
export async function dispatchNext<P extends ItineraryPlan>(agent: ItineraryTraveller<P>): Promise<AgentHandle | null> {
  const before = agent.state.itinerary;
  const { plan, destination } = nextDestination(before);
  agent.state.itinerary = plan;
  if (destination === null) return null;
  try {
    return await agent.dispatch(destination);
  } catch (err) {
    agent.state.itinerary = before;
    throw err;
  }
}

// ---- task itineraries --------------------------------------------------------------------

export type TaskPhase = 'arrival' | 'dispatch' | 'reverting';
export type TaskExecution = TaskPhase | 'default';

export interface ItineraryTask {
  name: string;
  /** When it runs; `default` follows the plan's default flags. */
  execution: TaskExecution;
  args: Record<string, unknown>;
}

export interface TaskItineraryPlan extends ItineraryPlan {
  /** destination → its tasks. */
  tasks: Record<string, ItineraryTask[]>;
  /** Tasks for every destination (execution `default`). */
  default_tasks: ItineraryTask[];
  /** Phases the default tasks (and destination tasks marked `default`) run in. */
  default_on_arrival: boolean;
  default_on_dispatch: boolean;
  default_on_reverting: boolean;
}

export function createTaskItinerary(
  destinations: readonly string[] = [],
  options: {
    circular?: boolean;
    mutable?: boolean;
    defaultOnArrival?: boolean;
    defaultOnDispatch?: boolean;
    defaultOnReverting?: boolean;
  } = {},
): TaskItineraryPlan {
  return {
    ...createItinerary(destinations, options),
    tasks: {},
    default_tasks: [],
    default_on_arrival: options.defaultOnArrival ?? true,
    default_on_dispatch: options.defaultOnDispatch ?? false,
    default_on_reverting: options.defaultOnReverting ?? false,
  };
}

const EXECUTIONS: readonly TaskExecution[] = ['arrival', 'dispatch', 'reverting', 'default'];

export function itineraryTask(name: string, execution: TaskExecution = 'arrival', args: Record<string, unknown> = {}): ItineraryTask {
  if (!name) throw new ValidationError('an itinerary task needs a name');
  if (!EXECUTIONS.includes(execution)) {
    throw new ValidationError(`task '${name}': execution must be one of ${EXECUTIONS.join(', ')}, got '${String(execution)}'`);
  }
  return { name, execution, args: { ...args } };
}

/** A plan with `task` added to `destination` (which need not be planned yet). */
export function addTask<P extends TaskItineraryPlan>(plan: P, destination: string, task: ItineraryTask): P {
  const t = itineraryTask(task.name, task.execution, task.args);
  return { ...plan, tasks: { ...plan.tasks, [destination]: [...(plan.tasks[destination] ?? []), t] } };
}

/** A plan with a default task (execution must be `default`). */
export function addDefaultTask<P extends TaskItineraryPlan>(plan: P, task: ItineraryTask): P {
  if (task.execution !== 'default') {
    throw new ValidationError(`default task '${task.name}' must have execution 'default', got '${task.execution}'`);
  }
  return { ...plan, default_tasks: [...plan.default_tasks, itineraryTask(task.name, 'default', task.args)] };
}

/** A plan with the default flags changed. */
export function setDefaultPhases<P extends TaskItineraryPlan>(plan: P, flags: Partial<Record<TaskPhase, boolean>>): P {
  return {
    ...plan,
    default_on_arrival: flags.arrival ?? plan.default_on_arrival,
    default_on_dispatch: flags.dispatch ?? plan.default_on_dispatch,
    default_on_reverting: flags.reverting ?? plan.default_on_reverting,
  };
}

function defaultsEnabled(plan: TaskItineraryPlan, phase: TaskPhase): boolean {
  return phase === 'arrival' ? plan.default_on_arrival : phase === 'dispatch' ? plan.default_on_dispatch : plan.default_on_reverting;
}

/**
 * The tasks to run at `destination` in `phase`: the default tasks when the phase's default
 * flag is on, then the destination's tasks whose execution is the phase (or `default`, when
 * the flag is on), in the order they were added.
 */
export function tasksForPhase(plan: TaskItineraryPlan, destination: string | null, phase: TaskPhase): ItineraryTask[] {
  const defaults = defaultsEnabled(plan, phase);
  const own = destination === null ? [] : (plan.tasks[destination] ?? []);
  return [
    ...(defaults ? plan.default_tasks : []),
    ...own.filter((t) => t.execution === phase || (defaults && t.execution === 'default')),
  ];
}

// ---- the walking agent -------------------------------------------------------------------

/** One line of an itinerary agent's log. */
export interface ItineraryLogEntry {
  destination: string | null;
  host_name: string;
  phase: TaskPhase | 'move';
  task: string | null;
  ok: boolean;
  result?: unknown;
  error?: string;
  at: number;
}

export interface ItineraryAgentState {
  itinerary: TaskItineraryPlan;
  /** What ran where, in order. */
  itinerary_log: ItineraryLogEntry[];
  /** How many visits have had their arrival tasks run (so a restart does not repeat them). */
  itinerary_arrivals_done: number;
}

/** A task handler: gets the task's args, returns a result to log (or throws). */
export type ItineraryTaskHandler = (args: Record<string, unknown>, info: { destination: string | null; phase: TaskPhase; task: ItineraryTask }) => unknown;

/**
 * An agent that walks its {@link TaskItineraryPlan}: `run()` (after creation, arrival and
 * activation) runs the arrival tasks of the current destination, then the dispatch tasks,
 * then {@link dispatchNext}. An unreachable destination is logged and skipped; a destination
 * that is this host is visited without moving. When no destination is left it calls
 * {@link onItineraryCompleted}. Task failures are logged and do not stop the walk.
 *
 * Provide the tasks by name in {@link taskHandlers} (or override {@link performTask}). Set
 * `static itineraryAutoStart = false` to start walking only on an `itinerary.start` message.
 * Messages: `itinerary.status` → `{itinerary, log, counts}`, `itinerary.start`.
 */
export abstract class ItineraryAgent<S extends ItineraryAgentState = ItineraryAgentState> extends Agent<S> {
  static override defaultState: unknown = { itinerary: createTaskItinerary(), itinerary_log: [], itinerary_arrivals_done: 0 };
  static itineraryAutoStart = true;

  #walking = false;

  /** Task handlers by task name. */
  taskHandlers(): Record<string, ItineraryTaskHandler> {
    return {};
  }

  /** Runs one task; by default the handler of its name from {@link taskHandlers}. */
  performTask(task: ItineraryTask, phase: TaskPhase, destination: string | null): unknown {
    const handler = this.taskHandlers()[task.name];
    if (!handler) throw new ValidationError(`no handler for itinerary task '${task.name}'`);
    return handler.call(this, task.args, { destination, phase, task });
  }

  /** Called once the plan has no destination left (on the host of the last visit). */
  onItineraryCompleted(): void | Promise<void> {}

  /** Messages other than `itinerary.*`; declined by default. */
  handleFallback(message: Message): unknown {
    return this.notHandled(message.kind);
  }

  override async run(): Promise<void> {
    if ((this.constructor as typeof ItineraryAgent).itineraryAutoStart) await this.walkItinerary();
  }

  override async onReverting(_event: MobilityEvent): Promise<void> {
    await this.runPhase('reverting', this.state.itinerary.current_location);
  }

  override async handleMessage(message: Message): Promise<unknown> {
    switch (message.kind) {
      case 'itinerary.status':
        return { itinerary: this.state.itinerary, log: this.state.itinerary_log, counts: itineraryCounts(this.state.itinerary) };
      case 'itinerary.start':
        // Walk in the background: the walk may move the agent away from this handler.
        setImmediate(() => void this.walkItinerary());
        return { started: true };
      default:
        return this.handleFallback(message);
    }
  }

  /** Runs the tasks of one phase, logging each; resolves to whether all succeeded. */
  async runPhase(phase: TaskPhase, destination: string | null): Promise<boolean> {
    let ok = true;
    for (const task of tasksForPhase(this.state.itinerary, destination, phase)) {
      const base = { destination, host_name: this.hostName, phase, task: task.name, at: nowSeconds() };
      try {
        const result = await this.performTask(task, phase, destination);
        this.state.itinerary_log.push({ ...base, ok: true, result: result === undefined ? null : result });
      } catch (err) {
        ok = false;
        this.state.itinerary_log.push({ ...base, ok: false, error: describeError(err) });
      }
    }
    return ok;
  }

  /**
   * Takes the next steps: arrival tasks here (once per visit), dispatch tasks, the move.
   * Returns after the agent left this host, or when the plan is done. Never throws.
   */
  async walkItinerary(): Promise<void> {
    if (this.#walking) return;
    this.#walking = true;
    let dispatchTasksRan = false;
    try {
      for (;;) {
        const plan = this.state.itinerary;
        const here = plan.current_index >= 0 ? plan.current_location : null;
        if (here !== null && this.state.itinerary_arrivals_done < plan.visited_destinations.length) {
          this.state.itinerary_arrivals_done = plan.visited_destinations.length;
          dispatchTasksRan = false;
          await this.runPhase('arrival', here);
        }
        if (!hasNext(this.state.itinerary)) {
          this.state.itinerary = { ...this.state.itinerary, completed: true };
          await this.onItineraryCompleted();
          return;
        }
        if (here !== null && !dispatchTasksRan) {
          dispatchTasksRan = true;
          await this.runPhase('dispatch', here);
        }
        let moved: AgentHandle | null;
        const target = peekNext(this.state.itinerary);
        try {
          moved = await dispatchNext(this);
        } catch (err) {
          this.state.itinerary_log.push({
            destination: target,
            host_name: this.hostName,
            phase: 'move',
            task: null,
            ok: false,
            error: describeError(err),
            at: nowSeconds(),
          });
          this.state.itinerary = skipNext(this.state.itinerary);
          continue;
        }
        if (moved === null) continue; // exhausted: completes above
        if (normalizeHostUrl(moved.ref.host_url) !== normalizeHostUrl(this.hostUrl)) return; // left: run() continues there
        // The destination is this host: the visit happens here, without a move.
      }
    } catch (err) {
      this.state.itinerary_log.push({ destination: null, host_name: this.hostName, phase: 'move', task: null, ok: false, error: describeError(err), at: nowSeconds() });
    } finally {
      this.#walking = false;
    }
  }
}
