/**
 * Per-agent resources (open files, sockets, timers) that must be released before the agent
 * leaves its process: cleaned in reverse registration order before dispatch, retract,
 * deactivation and dispose. A failure of a non-suppressed resource cancels the operation.
 */
import { ResourceCleanupError } from '../core/errors.ts';

type Cleanup = () => unknown;

export class ResourceRegistry {
  private readonly entries = new Map<string, { cleanup: Cleanup; suppress: boolean }>();

  /** Registers (or replaces) a cleanup function; `suppress` ignores its failures. */
  register(name: string, cleanup: Cleanup, options: { suppress?: boolean } = {}): void {
    this.entries.delete(name);
    this.entries.set(name, { cleanup, suppress: options.suppress ?? false });
  }

  /** Registers `obj[method]()` (default `close`) as the cleanup. */
  trackCloseable(name: string, obj: object, method = 'close', options: { suppress?: boolean } = {}): void {
    const fn = (obj as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new TypeError(`resource '${name}' has no method '${method}'`);
    this.register(name, () => (fn as () => unknown).call(obj), options);
  }

  /** Forgets a resource without running its cleanup; true if it was registered. */
  remove(name: string): boolean {
    return this.entries.delete(name);
  }

  /** `{name: suppress}` in registration order. */
  status(): Record<string, boolean> {
    return Object.fromEntries([...this.entries].map(([n, e]) => [n, e.suppress]));
  }

  /**
   * Runs every cleanup, newest first. Resources whose cleanup succeeded (or was suppressed)
   * are removed; the first non-suppressed failure is thrown after the others ran.
   */
  async cleanup(): Promise<void> {
    const failures: string[] = [];
    for (const [name, entry] of [...this.entries].reverse()) {
      try {
        await entry.cleanup();
        this.entries.delete(name);
      } catch (err) {
        if (entry.suppress) this.entries.delete(name);
        else failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failures.length) throw new ResourceCleanupError(`resource cleanup failed (${failures.join('; ')}); the operation was cancelled`);
  }
}
