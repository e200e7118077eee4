/**
 * The closed set of messages between a host and an agent's child process. Both directions
 * go through `child_process` IPC with `serialization: 'advanced'`, so Buffers, Maps and Dates
 * travel as themselves.
 */
import type { WireError } from '../core/errors.ts';
import type { MessageInit } from '../core/message.ts';
import type { HookName, HostCallMethod, LoadSpec } from './agent-shell.ts';

export type HostToChild =
  | { t: 'load'; id: number; spec: LoadSpec }
  | { t: 'hook'; id: number; name: HookName; event: Record<string, unknown> }
  | { t: 'msg'; id: number; message: MessageInit }
  | { t: 'state'; id: number }
  | { t: 'run' }
  | { t: 'unload'; id: number }
  | { t: 'call-res'; id: number; ok: boolean; value?: unknown; error?: WireError };

export type ChildToHost =
  | { t: 'ready'; pid: number }
  | { t: 'res'; id: number; ok: boolean; value?: unknown; error?: WireError }
  | { t: 'run-end'; error?: WireError }
  | { t: 'call'; id: number; method: HostCallMethod; args: Record<string, unknown> };
