/**
 * The persisted scheduler state: creation, and the internal copy-on-write draft every core call
 * works on so an input state is never mutated (a call that throws leaves it untouched, and a
 * caller may keep the previous state for comparison or rollback).
 */
import type { SchedulerCounters, SchedulerState } from './types.ts';

export interface SchedulerIdentity {
  host_name: string;
  host_url: string;
}

export function emptyCounters(): SchedulerCounters {
  return { requests: 0, run_now: 0, queued: 0, redirected: 0, rejected: 0, granted_from_queue: 0, spilled: 0, released: 0, expired: 0, extended: 0, rollbacks: 0 };
}

/** A fresh, empty state for this host. */
export function createSchedulerState(identity: SchedulerIdentity): SchedulerState {
  return {
    version: 1,
    host_name: identity.host_name,
    host_url: identity.host_url.trim().replace(/\/+$/, ''),
    next_seq: 1,
    queue: [],
    leases: [],
    last_grant_at: null,
    peers: [],
    shadows: [],
    finished: [],
    gossip_cursor: 0,
    errors: {},
    counters: emptyCounters(),
  };
}

type ListKey = 'queue' | 'leases' | 'peers' | 'shadows' | 'finished';
type ScalarKey = 'next_seq' | 'last_grant_at' | 'gossip_cursor';

/**
 * @internal A working copy of a state: containers are copied on first write, unchanged ones are
 * shared with the input. `done()` returns the input itself when nothing changed.
 */
export class Draft {
  readonly #base: SchedulerState;
  #next: SchedulerState | null = null;
  readonly #copied = new Set<string>();

  constructor(base: SchedulerState) {
    this.#base = base;
  }

  /** The current (read-only) view. */
  get s(): SchedulerState {
    return this.#next ?? this.#base;
  }

  #own(): SchedulerState {
    if (this.#next === null) this.#next = { ...this.#base };
    return this.#next;
  }

  /** A writable copy of one list. */
  list<K extends ListKey>(key: K): SchedulerState[K] {
    const own = this.#own();
    if (!this.#copied.has(key)) {
      own[key] = own[key].slice() as SchedulerState[K];
      this.#copied.add(key);
    }
    return own[key];
  }

  set<K extends ScalarKey>(key: K, value: SchedulerState[K]): void {
    if (this.s[key] === value) return;
    this.#own()[key] = value;
  }

  setError(topic: string, message: string | null): void {
    const current = this.s.errors[topic];
    if ((message === null && current === undefined) || current === message) return;
    const own = this.#own();
    if (!this.#copied.has('errors')) {
      own.errors = { ...own.errors };
      this.#copied.add('errors');
    }
    if (message === null) delete own.errors[topic];
    else own.errors[topic] = message;
  }

  count(name: keyof SchedulerCounters, n = 1): void {
    if (n === 0) return;
    const own = this.#own();
    if (!this.#copied.has('counters')) {
      own.counters = { ...own.counters };
      this.#copied.add('counters');
    }
    own.counters[name] += n;
  }

  done(): SchedulerState {
    return this.#next ?? this.#base;
  }
}
