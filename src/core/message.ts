/**
 * Messages between agents and from clients. Priority runs from 1 (lowest) to 10 (highest);
 * the mailbox serves higher priorities first and FIFO within a priority.
 */
import { newId } from './ids.ts';

export const Priority = {
  MIN: 1,
  NORMAL: 5,
  MAX: 10,
} as const;

/** How the sender waits: `sync` blocks for the reply, `future` returns a handle, `oneway` expects none. */
export type MessageType = 'sync' | 'future' | 'oneway';
export const MESSAGE_TYPES: readonly MessageType[] = ['sync', 'future', 'oneway'];

/** A reference to an agent somewhere in the mesh, as it travels on the wire. */
export interface AgentRef {
  host_url: string;
  agent_id: string;
}

export interface MessageInit {
  kind: string;
  args?: Record<string, unknown>;
  arg?: unknown;
  sender?: AgentRef | null;
  reply_to?: AgentRef | null;
  priority?: number;
  message_type?: MessageType | 0 | 1 | 2;
  timestamp?: number;
  message_id?: string;
}

/** Clamps any number to the valid priority range 1..10 (non-numbers become NORMAL). */
export function clampPriority(priority: number | undefined): number {
  if (priority === undefined || !Number.isFinite(priority)) return Priority.NORMAL;
  return Math.min(Priority.MAX, Math.max(Priority.MIN, Math.round(priority)));
}

function normalizeType(type: MessageInit['message_type']): MessageType {
  if (type === undefined) return 'sync';
  if (typeof type === 'number') return MESSAGE_TYPES[type] ?? 'sync';
  return type;
}

export class Message {
  readonly kind: string;
  readonly args: Record<string, unknown>;
  readonly arg: unknown;
  readonly sender: AgentRef | null;
  readonly reply_to: AgentRef | null;
  priority: number;
  message_type: MessageType;
  readonly timestamp: number;
  readonly message_id: string;

  constructor(init: MessageInit | string, args?: Record<string, unknown>) {
    const m: MessageInit = typeof init === 'string' ? { kind: init, args: args ?? {} } : init;
    this.kind = m.kind;
    this.args = m.args ?? {};
    this.arg = m.arg ?? null;
    this.sender = m.sender ?? null;
    this.reply_to = m.reply_to ?? null;
    this.priority = clampPriority(m.priority);
    this.message_type = normalizeType(m.message_type);
    this.timestamp = m.timestamp ?? Date.now() / 1000;
    this.message_id = m.message_id ?? newId();
  }

  /** Raises the priority by `by` steps, clamped to 10. */
  increasePriority(by = 1): this {
    this.priority = clampPriority(this.priority + by);
    return this;
  }

  /** Lowers the priority by `by` steps, clamped to 1. */
  decreasePriority(by = 1): this {
    this.priority = clampPriority(this.priority - by);
    return this;
  }

  /** The plain form sent over HTTP and IPC. */
  toJSON(): Required<Omit<MessageInit, 'message_type'>> & { message_type: MessageType } {
    return {
      kind: this.kind,
      args: this.args,
      arg: this.arg,
      sender: this.sender,
      reply_to: this.reply_to,
      priority: this.priority,
      message_type: this.message_type,
      timestamp: this.timestamp,
      message_id: this.message_id,
    };
  }
}
