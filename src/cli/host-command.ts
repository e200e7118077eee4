/** `taglets host`: run a host in the foreground until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { HostEvent } from '../runtime/events.ts';
import { CliError } from './output.ts';
import { parseSize } from './units.ts';
import { resolveApiKey } from './api-key.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function parseProperties(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--property must be KEY=VALUE, got '${pair}'`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function sizeFlag(flag: string, text: string, allowUnlimited = false): number | null {
  try {
    return parseSize(text, { allowUnlimited });
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message}`);
  }
}

/** Asks on the terminal; only "y"/"yes" count as yes. */
async function askYesNo(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--port must be 0..65535 (0 picks a free port), got '${text}'`);
  return n;
}

/** Failure-type events are echoed to stderr so an operator sees them without polling /events. */
const ECHOED = new Set(['agent-crashed', 'message-failed', 'event-listener-failed', 'artifact-sweep-failed']);
function echoEvent(event: HostEvent): void {
  if (!ECHOED.has(event.kind)) return;
  const parts = [
    event.agent_id && `agent=${event.agent_id}`,
    event.agent_class && `class=${event.agent_class}`,
    event.message_id && `message=${event.message_id}`,
  ].filter(Boolean);
  process.stderr.write(`taglets host ${event.kind}${parts.length ? ` (${parts.join(', ')})` : ''}: ${event.error ?? ''}\n`);
}

function parseArtifactFlags(flags: HostFlags): { artifactMaxSize: number | null; artifactStorageQuota: number | null; artifactSpoolTtl: number } {
  const size = (flag: string, text: string): number | null => {
    try {
      return parseSize(text, { allowUnlimited: true });
    } catch (err) {
      throw new CliError(`${flag}: ${(err as Error).message}`);
    }
  };
  const ttl = Number(flags.artifactSpoolTtl);
  if (!Number.isFinite(ttl) || ttl <= 0) throw new CliError(`--artifact-spool-ttl must be a positive number of seconds, got '${flags.artifactSpoolTtl}'`);
  return {
    artifactMaxSize: size('--artifact-max-size', flags.artifactMaxSize),
    artifactStorageQuota: size('--artifact-storage-quota', flags.artifactStorageQuota),
    artifactSpoolTtl: ttl,
  };
}

interface HostFlags {
  name: string;
  host: string;
  port: number;
  peer?: string[];
  tag?: string[];
  property?: string[];
  persistenceDir?: string;
  launchConfig?: string;
  syncLaunchConfig: boolean;
  yes?: boolean;
  meshVersion?: string;
  mesh: boolean;
  meshMulticast: boolean;
  meshMulticastAddress?: string;
  root?: string;
  warmPool: string;
  maxBodySize: string;
  persistentStorageQuota: string;
  artifactMaxSize: string;
  artifactStorageQuota: string;
  artifactSpoolTtl: string;
  apiKeyEnv?: string;
}

export function registerHostCommand(program: Command): void {
  program
    .command('host')
    .description('run a host that serves agents over HTTP until SIGTERM/SIGINT')
    .requiredOption('-n, --name <name>', 'host name, unique in the mesh')
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on (0 picks a free port)', parsePort, 8765)
    .option('--peer <url>', 'mesh peer to join (repeatable)', collect)
    .option('--tag <tag>', 'host tag for placement (repeatable)', collect)
    .option('--property <key=value>', 'host property (repeatable)', collect)
    .option('--persistence-dir <dir>', 'where the host keeps its data (default ~/.taglets/hosts/<name>)')
    .option('--launch-config <file>', "launch.toml with startup agents and resident services ('none' = without; default <persistence-dir>/launch.toml, created from the bundled default)")
    .option('--no-sync-launch-config', 'do not compare the launch config with the bundled default')
    .option('-y, --yes', 'replace an outdated launch config without asking (a backup is kept)')
    .option('--mesh-version <version>', 'mesh version; peers with another version are not listed')
    .option('--no-mesh', 'run standalone, without mesh membership')
    .option('--no-mesh-multicast', 'do not send or listen for multicast beacons (gossip with --peer only)')
    .option(
      '--mesh-multicast-address <group:port>',
      'multicast group and port for beacons (default TAGLETS_MESH_MULTICAST, else 239.42.74.53:48765)',
    )
    .option('--root <dir>', 'directory relative agent class references resolve against (default: cwd)')
    .option('--warm-pool <n>', 'idle agent processes kept ready', '2')
    .option('--max-body-size <size>', 'largest request body (e.g. 64M, 1GB)', '64M')
    .option('--persistent-storage-quota <size>', "per-class persistent storage quota ('none' = unlimited)", '10M')
    .option('--artifact-max-size <size|none>', 'largest artifact upload (e.g. 1G, 500M, none)', '1G')
    .option('--artifact-storage-quota <size|none>', 'total size of all hosted artifacts (e.g. 10G, none)', '10G')
    .option('--artifact-spool-ttl <seconds>', 'unfinished uploads older than this are swept', '86400')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets host --name alpha                       # http://127.0.0.1:8765
  $ taglets host --name beta --port 0 --tag gpu     # free port, tagged
  $ taglets host --name gamma --port 8767 --peer http://127.0.0.1:8765   # join alpha's mesh
  $ taglets host --name solo --port 8768 --no-mesh  # standalone, no gossip, no beacons
  $ TAGLETS_API_KEY=secret taglets host --name alpha --host 0.0.0.0

Prints one line once ready:
  taglets host 'alpha' listening at http://127.0.0.1:8765 (mesh on, version V)`,
    )
    .action(async (flags: HostFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ apiKeyEnv?: string }>();
      const apiKey = resolveApiKey(globals.apiKeyEnv);
      const warm = Number(flags.warmPool);
      if (!Number.isInteger(warm) || warm < 0 || warm > 64) throw new CliError(`--warm-pool must be 0..64, got '${flags.warmPool}'`);
      let bodyLimit: number;
      try {
        bodyLimit = parseSize(flags.maxBodySize)!;
      } catch (err) {
        throw new CliError(`--max-body-size: ${(err as Error).message}`);
      }
      const artifactLimits = parseArtifactFlags(flags);
      // Loaded here, not at the top: the host runtime (fastify, SQLite, …) doubles the start-up
      // time of every other CLI command, which never needs it.
      const { defaultPersistenceDir, startHost } = await import('../host.ts');
      const persistenceDir = resolve(flags.persistenceDir ?? defaultPersistenceDir(flags.name));
      let running;
      try {
        running = await startHost({
          name: flags.name,
          persistenceDir,
          launchConfig: flags.launchConfig === 'none' ? null : flags.launchConfig ? resolve(flags.launchConfig) : undefined,
          syncLaunchConfig: flags.syncLaunchConfig,
          launchYes: flags.yes === true,
          ...(process.stdin.isTTY && process.stderr.isTTY ? { confirmLaunchUpdate: askYesNo } : {}),
          onLaunchWarning: (message: string) => process.stderr.write(`taglets host: warning: ${message}\n`),
          bind: flags.host,
          port: flags.port,
          root: resolve(flags.root ?? process.cwd()),
          ...(flags.meshVersion ? { meshVersion: flags.meshVersion } : {}),
          meshEnabled: flags.mesh,
          peers: flags.peer ?? [],
          meshMulticast: flags.meshMulticast,
          ...(flags.meshMulticastAddress ? { meshMulticastAddress: flags.meshMulticastAddress } : {}),
          onMeshWarning: (message: string) => process.stderr.write(`taglets host: warning: ${message}\n`),
          tags: flags.tag ?? [],
          properties: parseProperties(flags.property ?? []),
          processRunner: { minIdle: warm, maxIdle: Math.max(8, warm) },
          bodyLimit,
          storageQuotaBytes: sizeFlag('--persistent-storage-quota', flags.persistentStorageQuota, true),
          ...artifactLimits,
          ...(apiKey ? { apiKey } : {}),
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE') {
          throw new CliError(`cannot listen on ${flags.host}:${flags.port}: address already in use (pick another --port, or --port 0)`);
        }
        if (code === 'EADDRNOTAVAIL' || code === 'EACCES') {
          throw new CliError(`cannot listen on ${flags.host}:${flags.port}: ${code}`);
        }
        throw err;
      }
      running.host.events.on(echoEvent);
      if (!flags.mesh && flags.peer?.length) {
        process.stderr.write(`taglets host: warning: --no-mesh given; --peer ${flags.peer.join(', ')} is not contacted\n`);
      }
      process.stdout.write(
        `taglets host '${flags.name}' listening at ${running.url} (mesh ${flags.mesh ? 'on' : 'off'}, version ${running.host.meshVersion})\n`,
      );
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          // A second signal means "now": kill everything.
          running.kill();
          process.exit(1);
        }
        stopping = true;
        process.stderr.write(`taglets host '${flags.name}': ${signal}, shutting down\n`);
        running.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`taglets host: shutdown failed: ${(err as Error).message}\n`);
            running.kill();
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
