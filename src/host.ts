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
import { ArtifactStore } from './persistence/artifact-store.ts';
import { SqliteStore } from './persistence/sqlite-store.ts';
import { Mesh, multicastFromEnv, parseMulticastAddress } from './remote/mesh.ts';
import { HttpRemoteAgents } from './remote/remote-agents.ts';
import { buildServer, type ServerOptions } from './remote/server.ts';
import { Host, type HostOptions } from './runtime/host.ts';
import { readLaunchConfig, syncLaunchConfig, type LaunchConfig, type SyncOutcome } from './services/launch-config.ts';
import { VERSION } from './version.ts';

export interface StartHostOptions extends Omit<HostOptions, 'remote' | 'store'>, ServerOptions {
  /** Address to bind. @default '127.0.0.1' */
  bind?: string;
  /** Port to listen on; 0 picks a free one. @default 8765 */
  port?: number;
  /** Mesh seed URLs (`--peer`). */
  peers?: string[];
  /** Multicast beacons (with `meshEnabled`). @default true */
  meshMulticast?: boolean;
  /** Multicast `group:port`. @default TAGLETS_MESH_MULTICAST, else 239.42.74.53:48765 */
  meshMulticastAddress?: string;
  /** @default 1000 */
  meshGossipIntervalMs?: number;
  /** Mesh problems worth telling an operator (multicast unavailable, peer with another version). */
  onMeshWarning?: (message: string) => void;
  /** Largest artifact in bytes; `null` = unlimited. @default 1 GiB */
  artifactMaxSize?: number | null;
  /** Total bytes of all artifacts; `null` = unlimited. @default 10 GiB */
  artifactStorageQuota?: number | null;
  /** Seconds after which an unfinished upload's part file is swept. @default 86400 */
  artifactSpoolTtl?: number;
  /** launch.toml path; `null` runs without one. @default `<persistenceDir>/launch.toml` (created from the bundled default) */
  launchConfig?: string | null;
  /** Sync the launch config with the bundled default. @default true */
  syncLaunchConfig?: boolean;
  /** Replace an outdated launch config without asking (a backup is kept). */
  launchYes?: boolean;
  /** Asks the operator whether to update an outdated launch config (interactive terminals). */
  confirmLaunchUpdate?: (question: string) => Promise<boolean>;
  /** Launch config problems worth telling an operator. */
  onLaunchWarning?: (message: string) => void;
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
  // Checked before anything starts: a bad TAGLETS_MESH_MULTICAST must not leave a half-started host.
  const multicast =
    options.meshEnabled === false || options.meshMulticast === false
      ? false
      : options.meshMulticastAddress
        ? parseMulticastAddress(options.meshMulticastAddress)
        : multicastFromEnv();
  const persistenceDir = resolve(options.persistenceDir ?? defaultPersistenceDir(options.name));
  // Read (and sync) the launch config first: a broken file must stop the start cleanly.
  const launchPath = options.launchConfig === null ? null : resolve(options.launchConfig ?? join(persistenceDir, 'launch.toml'));
  let launch: LaunchConfig | undefined;
  let launchSync: SyncOutcome | undefined;
  if (launchPath) {
    launchSync = await syncLaunchConfig(launchPath, {
      enabled: options.syncLaunchConfig !== false,
      ...(options.launchYes ? { yes: true } : {}),
      ...(options.confirmLaunchUpdate ? { confirm: options.confirmLaunchUpdate } : {}),
    });
    if (launchSync.action === 'keep') options.onLaunchWarning?.(launchSync.warning);
    launch = readLaunchConfig(launchPath);
  }
  const store = new SqliteStore(join(persistenceDir, 'taglets.db'));
  const host = new Host({ ...options, persistenceDir, store, meshVersion: resolveMeshVersion(options.meshVersion) });
  const artifacts = new ArtifactStore({
    dir: join(persistenceDir, 'artifacts'),
    store,
    ...(options.artifactMaxSize !== undefined ? { maxSizeBytes: options.artifactMaxSize } : {}),
    ...(options.artifactStorageQuota !== undefined ? { quotaBytes: options.artifactStorageQuota } : {}),
    ...(options.artifactSpoolTtl !== undefined ? { spoolTtlSeconds: options.artifactSpoolTtl } : {}),
    onSweepError: (err) => host.emit({ kind: 'artifact-sweep-failed', error: err instanceof Error ? err.message : String(err) }),
  });
  await artifacts.start().catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  host.artifacts = artifacts;
  const server = await buildServer(host, options);
  const bind = options.bind ?? '127.0.0.1';
  try {
    await server.listen({ host: bind, port: options.port ?? 8765 });
  } catch (err) {
    host.kill();
    await artifacts.close();
    await store.close();
    throw err;
  }
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const shownHost = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
  const url = `http://${shownHost}:${port}`;
  let mesh: Mesh | undefined;
  if (options.meshEnabled !== false) {
    mesh = new Mesh({
      self: () => host.selfRef(),
      peers: options.peers ?? [],
      multicast,
      bind,
      ...(options.meshGossipIntervalMs !== undefined ? { gossipIntervalMs: options.meshGossipIntervalMs } : {}),
      ...(options.apiKey ? { apiKey: options.apiKey } : {}),
      ...(options.onMeshWarning ? { onWarning: options.onMeshWarning } : {}),
    });
    host.directory = mesh;
  }
  if (launchSync && launchPath) {
    const kind = launchSync.action === 'copy' ? 'launch-config-copy' : launchSync.action === 'update' ? 'launch-config-update' : 'launch-config-skip';
    host.emit({ kind, data: { path: launchPath, ...launchSync } });
  }
  await host.started(url, new HttpRemoteAgents(options.apiKey ? { apiKey: options.apiKey } : {}), launch ?? {});
  mesh?.start();
  let closing: Promise<void> | undefined;
  return {
    host,
    server,
    url,
    close() {
      closing ??= (async () => {
        mesh?.stop();
        await artifacts.close();
        await host.shutdown();
        await server.close();
      })();
      return closing;
    },
    kill() {
      mesh?.stop();
      void artifacts.close();
      host.kill();
      server.server.closeAllConnections();
      void server.close();
    },
  };
}

export { Host };
export type { HostOptions };
