/** Small helpers shared by the patterns (no I/O, public API only). */
import type { AgentHandle } from '../core/agent.ts';

/** Seconds since the epoch, as every timestamp on the wire. */
export function nowSeconds(): number {
  return Date.now() / 1000;
}

/** `Name: message` for errors that have a specific name, the message for plain errors. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
  return String(err);
}

/** The `error_type` of a taglets error (also across separately loaded copies of taglets). */
export function errorTypeOf(err: unknown): string | undefined {
  const t = (err as { errorType?: unknown } | null)?.errorType;
  return typeof t === 'string' ? t : undefined;
}

/** `http://host:port` without a trailing slash (a scheme is added when missing). */
export function normalizeHostUrl(url: string): string {
  const withScheme = /^https?:\/\//.test(url) ? url : `http://${url}`;
  return withScheme.replace(/\/+$/, '');
}

/** Whether a value is an agent handle (what `this.dispatch()` / `this.clone()` resolve to). */
export function isAgentHandle(value: unknown): value is AgentHandle {
  if (value === null || typeof value !== 'object') return false;
  const v = value as { send?: unknown; ref?: { host_url?: unknown; agent_id?: unknown } };
  return typeof v.send === 'function' && typeof v.ref?.host_url === 'string' && typeof v.ref.agent_id === 'string';
}

/** Resolves waiters when something changes; each waiter gives up after its own timeout. */
export class Signal {
  private readonly waiters = new Set<() => void>();
  /** Resolves true when notified, false after `timeoutMs`. */
  wait(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(value);
      };
      const wake = (): void => done(true);
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.waiters.add(wake);
    });
  }
  notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
