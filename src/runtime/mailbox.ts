/**
 * A per-agent mailbox: higher priority first, FIFO within a priority, with the counters
 * hosts report. It only orders and counts; the host decides when to take the next entry.
 */
import { Priority } from '../core/message.ts';
import type { MailboxCounters } from '../core/agent.ts';

export class Mailbox<T> {
  /** One FIFO per priority; index = priority. Heads advance instead of shifting arrays. */
  private readonly lanes: { items: T[]; head: number }[] = [];
  private size = 0;
  inFlight = 0;
  delivered = 0;
  failed = 0;

  constructor() {
    for (let p = 0; p <= Priority.MAX; p++) this.lanes.push({ items: [], head: 0 });
  }

  get queued(): number {
    return this.size;
  }

  /** Adds an entry; `priority` must already be clamped to 1..10. */
  push(item: T, priority: number): void {
    this.lanes[priority]!.items.push(item);
    this.size++;
  }

  /** Removes and returns the oldest entry of the highest non-empty priority. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    for (let p = Priority.MAX; p >= Priority.MIN; p--) {
      const lane = this.lanes[p]!;
      if (lane.head < lane.items.length) {
        const item = lane.items[lane.head]!;
        lane.items[lane.head] = undefined as T;
        lane.head++;
        if (lane.head === lane.items.length) {
          lane.items.length = 0;
          lane.head = 0;
        }
        this.size--;
        return item;
      }
    }
    return undefined;
  }

  /** Removes every queued entry (e.g. to fail them when the agent goes away). */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  counters(): MailboxCounters {
    return {
      queued_count: this.size,
      in_flight_count: this.inFlight,
      delivered_count: this.delivered,
      failed_count: this.failed,
    };
  }
}
