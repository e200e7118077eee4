/**
 * `taglets/host`: start a host in this process. Wires the runtime {@link Host} to its HTTP
 * server and a client for remote agents.
 *
 * ```ts
 * import { startHost } from 'taglets/host';
 * const running = await startHost({ name: 'alpha', port: 0 });
 * console.log(running.url);
 * await running.close();
 * ```
 */
import type { FastifyInstance } from 'fastify';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteStore } from './persistence/sqlite-store.ts';
import { HttpRemoteAgents } from './remote/remote-agents.ts';
import { buildServer, type ServerOptions } from './remote/server.ts';
import { Host, type HostOptions } from './runtime/host.ts';
import { VERSION } from './version.ts';

export interface StartHostOptions extends Omit<HostOptions, 'remote' | 'store'>, ServerOptions {
  /** Address to bind. @default '127.0.0.1' */
  bind?: string;
  /** Port to listen on; 0 picks a free one. @default 8765 */
  port?: number;
}

export interface RunningHost {
  readonly host: Host;
  readonly server: FastifyInstance;
  readonly url: string;
  /** Graceful stop: stops agents, closes the server. */
  close(): Promise<void>;
  /** Immediate stop: kills every agent process. */
  kill(): void;
}

/** The mesh version a host announces: explicit > TAGLETS_MESH_VERSION > `taglets-<version>`. */
export function resolveMeshVersion(explicit?: string): string {
  return explicit || process.env.TAGLETS_MESH_VERSION || `taglets-${VERSION}`;
}

/** `~/.taglets/hosts/<name>`. */
export function defaultPersistenceDir(name: string): string {
  return join(homedir(), '.taglets', 'hosts', name);
}

export async function startHost(options: StartHostOptions): Promise<RunningHost> {
  const persistenceDir = resolve(options.persistenceDir ?? defaultPersistenceDir(options.name));
  const store = new SqliteStore(join(persistenceDir, 'taglets.db'));
  const host = new Host({ ...options, persistenceDir, store, meshVersion: resolveMeshVersion(options.meshVersion) });
  const server = await buildServer(host, options);
  const bind = options.bind ?? '127.0.0.1';
  try {
    await server.listen({ host: bind, port: options.port ?? 8765 });
  } catch (err) {
    host.kill();
    await store.close();
    throw err;
  }
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const shownHost = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
  const url = `http://${shownHost}:${port}`;
  host.started(url, new HttpRemoteAgents(options.apiKey ? { apiKey: options.apiKey } : {}));
  let closing: Promise<void> | undefined;
  return {
    host,
    server,
    url,
    close() {
      closing ??= (async () => {
        await host.shutdown();
        await server.close();
      })();
      return closing;
    },
    kill() {
      host.kill();
      server.server.closeAllConnections();
      void server.close();
    },
  };
}

export { Host };
export type { HostOptions };
