/**
 * Which hosts exist and how to reach them. The mesh (`remote/mesh.ts`) implements this with
 * gossip; a standalone host knows only itself and accepts URLs as they are.
 */
import type { MeshHost } from '../core/agent.ts';
import { HostError } from '../core/errors.ts';

/** One host as the mesh knows it (`last_seen` in seconds since epoch, own clock; tags lowercase, sorted). */
export type HostRef = MeshHost;

export interface AvailableHostsOptions {
  /** Only hosts currently online. @default true */
  onlineOnly?: boolean;
  /** Include this host. @default true */
  includeSelf?: boolean;
}

export interface HostDirectory {
  /** A mesh host name or a URL → the host's URL (no trailing slash). Unknown names throw HostError. */
  resolveUrl(target: string): string;
  /** Known hosts sorted by (name, url). */
  availableHosts(options?: AvailableHostsOptions): HostRef[];
  isHostOnline(nameOrUrl: string): boolean;
  /** Waits until the host is known and online; HostError on timeout. */
  waitForHost(nameOrUrl: string, timeoutMs?: number): Promise<HostRef>;
}

export function normalizeHostUrl(url: string): string {
  const withScheme = /^https?:\/\//.test(url) ? url : `http://${url}`;
  return withScheme.replace(/\/+$/, '');
}

const looksLikeUrl = (s: string): boolean => /^https?:\/\//.test(s) || /^[^\s/]+:\d+$/.test(s);

/** The directory of a host without a mesh: itself, plus any URL taken at face value. */
export class StandaloneDirectory implements HostDirectory {
  private readonly self: () => HostRef;
  constructor(self: () => HostRef) {
    this.self = self;
  }
  resolveUrl(target: string): string {
    const me = this.self();
    if (target === me.name) return me.url;
    if (looksLikeUrl(target)) return normalizeHostUrl(target);
    throw new HostError(`unknown host '${target}': this host has no mesh; give a URL such as http://127.0.0.1:8766`);
  }
  availableHosts(options: AvailableHostsOptions = {}): HostRef[] {
    return options.includeSelf === false ? [] : [this.self()];
  }
  isHostOnline(nameOrUrl: string): boolean {
    const me = this.self();
    return nameOrUrl === me.name || normalizeHostUrl(nameOrUrl) === me.url;
  }
  async waitForHost(nameOrUrl: string): Promise<HostRef> {
    if (this.isHostOnline(nameOrUrl)) return this.self();
    throw new HostError(`host '${nameOrUrl}' is not known: this host has no mesh`);
  }
}
