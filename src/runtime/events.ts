/**
 * The host's event log: a bounded ring of recent events with ids from 1, read with
 * `since`/`limit`, plus synchronous listeners. A throwing listener never breaks the
 * emitter; it produces an `event-listener-failed` event instead.
 */
export type EventKind =
  | 'context-start'
  | 'context-shutdown'
  | 'create'
  | 'dispose'
  | 'dispatch'
  | 'retract'
  | 'clone'
  | 'arrival'
  | 'clone-arrival'
  | 'transfer-failed'
  | 'message-failed'
  | 'message-queued'
  | 'message-delivered'
  | 'deactivate'
  | 'deactivate-failed'
  | 'activate'
  | 'activate-failed'
  | 'service-advertise'
  | 'service-remove'
  | 'service-lease-acquire'
  | 'service-lease-release'
  | 'service-lease-expire'
  | 'resident-service-declare'
  | 'resident-service-create'
  | 'resident-service-idle-deactivate'
  | 'resident-service-failed'
  | 'startup-agent-create'
  | 'startup-agent-activate'
  | 'startup-agent-skip'
  | 'startup-agent-failed'
  | 'launch-config-copy'
  | 'launch-config-update'
  | 'launch-config-skip'
  | 'agent-crashed'
  | 'agent-event'
  | 'run-failed'
  | 'event-listener-failed'
  | 'artifact-sweep-failed';

export interface HostEvent {
  event_id: number;
  kind: EventKind;
  host_name: string;
  host_address: string;
  timestamp: number;
  agent_id: string | null;
  agent_class: string | null;
  message_id: string | null;
  data: unknown;
  error: string | null;
}

export type EventInput = Pick<HostEvent, 'kind'> & Partial<Omit<HostEvent, 'event_id' | 'kind' | 'timestamp'>>;

export class EventLog {
  private readonly ring: HostEvent[] = [];
  private nextId = 1;
  private readonly listeners = new Set<(event: HostEvent) => void>();
  readonly capacity: number;
  private readonly origin: () => { host_name: string; host_address: string };

  constructor(origin: () => { host_name: string; host_address: string }, capacity = 1000) {
    this.origin = origin;
    this.capacity = capacity;
  }

  emit(input: EventInput): HostEvent {
    const { kind, ...rest } = input;
    const event: HostEvent = {
      event_id: this.nextId++,
      kind,
      timestamp: Date.now() / 1000,
      agent_id: null,
      agent_class: null,
      message_id: null,
      data: null,
      error: null,
      ...this.origin(),
      ...rest,
    };
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        if (event.kind !== 'event-listener-failed') {
          this.emit({ kind: 'event-listener-failed', error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return event;
  }

  /** Events with `event_id > since`, oldest first, at most `limit`. */
  list(since = 0, limit = 100): HostEvent[] {
    const first = this.ring[0];
    if (!first) return [];
    const start = Math.max(0, since + 1 - first.event_id);
    return this.ring.slice(start, start + limit);
  }

  on(listener: (event: HostEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
