/** Runs agents on the host's own event loop: no isolation, near-zero cost. */
import type { RunnerKind } from '../core/agent.ts';
import type { WireError } from '../core/errors.ts';
import { errorToWire } from '../core/errors.ts';
import { Message, type MessageInit } from '../core/message.ts';
import { AgentShell, type HookName, type HostBridge, type LoadSpec } from './agent-shell.ts';
import type { ExitInfo, Runner, RunnerHandle, RunnerStatus, StartResult } from './runner.ts';

class InlineHandle implements RunnerHandle {
  readonly kind = 'inline' as const;
  readonly pid = process.pid;
  private readonly shell: AgentShell;
  private readonly onStop: () => void;
  constructor(shell: AgentShell, onStop: () => void) {
    this.shell = shell;
    this.onStop = onStop;
  }
  get concurrency(): number {
    return this.shell.concurrency;
  }
  get declaredRunner(): RunnerKind {
    return this.shell.loadResult().runner;
  }
  lifecycle(name: HookName, event: Record<string, unknown>): Promise<unknown> {
    return this.shell.hook(name, event);
  }
  deliver(message: MessageInit): Promise<unknown> {
    return this.shell.handle(new Message(message));
  }
  async state(): Promise<unknown> {
    return this.shell.agent.state;
  }
  startRun(onRunEnd: (error?: WireError) => void): void {
    this.shell.run().then(
      () => onRunEnd(),
      (err: unknown) => onRunEnd(errorToWire(err)),
    );
  }
  async stop(): Promise<void> {
    this.onStop();
  }
  kill(): void {
    this.onStop();
  }
  onExit(_listener: (info: ExitInfo) => void): void {}
}

export class InlineRunner implements Runner {
  readonly kind = 'inline' as const;
  private active = 0;
  async start(spec: LoadSpec, bridge: HostBridge): Promise<StartResult> {
    const shell = await AgentShell.load(spec, bridge);
    this.active++;
    let stopped = false;
    const handle = new InlineHandle(shell, () => {
      if (!stopped) this.active--;
      stopped = true;
    });
    return { handle };
  }
  status(): RunnerStatus {
    return { kind: 'inline', idle: 0, busy: this.active, spawned: 0, reused: 0, target_idle: 0 };
  }
  async close(): Promise<void> {}
  kill(): void {}
}
