/**
 * Runners decide where an agent's code executes. The host talks to every agent through a
 * {@link RunnerHandle} and never special-cases a runner elsewhere.
 */
import type { RunnerKind } from '../core/agent.ts';
import type { WireError } from '../core/errors.ts';
import type { MessageInit } from '../core/message.ts';
import type { HookName, HostBridge, LoadSpec } from './agent-shell.ts';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface RunnerHandle {
  readonly kind: RunnerKind;
  /** OS process id of the agent's process (the host's own for inline agents). */
  readonly pid: number | null;
  /** How many messages the agent's class allows in flight. */
  readonly concurrency: number;
  /** The runner the agent's class declares (`static runner`). */
  readonly declaredRunner: RunnerKind;
  /** Calls a lifecycle hook; resolves to the state after it (only for hooks whose callers need it). */
  lifecycle(name: HookName, event: Record<string, unknown>): Promise<unknown>;
  /** Hands one message to the agent; resolves to its reply. */
  deliver(message: MessageInit): Promise<unknown>;
  /** The agent's current state. */
  state(): Promise<unknown>;
  /** Starts `run()` in the background; `onRunEnd` reports how it ended. */
  startRun(onRunEnd: (error?: WireError) => void): void;
  /** Ends the agent normally; `reusable` says whether its process may serve another agent. */
  stop(reusable: boolean): Promise<void>;
  /** Ends the agent at once. */
  kill(): void;
  /** Registers the callback for an unexpected end of the agent's process. */
  onExit(listener: (info: ExitInfo) => void): void;
}

export interface RunnerStatus {
  kind: RunnerKind;
  idle: number;
  busy: number;
  spawned: number;
  reused: number;
  target_idle: number;
}

export interface StartResult {
  handle: RunnerHandle;
}

export interface Runner {
  readonly kind: RunnerKind;
  /** Loads the agent class with its state; fails with ClassNotFoundError for a bad reference. */
  start(spec: LoadSpec, bridge: HostBridge): Promise<StartResult>;
  status(): RunnerStatus;
  /** Stops idle resources gracefully (after agents are gone). */
  close(): Promise<void>;
  /** Kills everything at once. */
  kill(): void;
}
