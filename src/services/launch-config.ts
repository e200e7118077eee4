/**
 * `launch.toml`: startup agents and resident services of a host.
 *
 * ```toml
 * [launch]
 * config_id = "taglets-default-launch"
 * config_version = "1"
 * sync = true
 *
 * [[resident_services]]
 * class = "taglets/system#ServerInfoAgent"
 * service = "server-info"
 * lifecycle = "lazy"      # or "eager"
 * scope = "mesh"          # or "local"
 * idle_timeout = 30
 *
 * [[startup_agents]]
 * class = "./agents/worker.js#Worker"
 * agent_id = "worker-1"
 * init = { greeting = "hi" }
 * ```
 *
 * Sync with the bundled default: a missing file is created from it; a file with the same id
 * and version is left alone; an older version is replaced (backup `launch.toml.old`) only
 * with `--yes` or an interactive "yes"; `sync = false` or `--no-sync-launch-config` skips.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { HostError } from '../core/errors.ts';
import type { StartupAgentSpec } from '../runtime/host.ts';
import type { ResidentSpec } from '../runtime/resident.ts';

export const BUNDLED_LAUNCH_CONFIG = new URL('../../launch/default-launch.toml', import.meta.url);

const Resident = Type.Object(
  {
    class: Type.String({ minLength: 3 }),
    service: Type.String({ minLength: 1 }),
    enabled: Type.Optional(Type.Boolean()),
    agent_id: Type.Optional(Type.String({ minLength: 1 })),
    singleton: Type.Optional(Type.Boolean()),
    lifecycle: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    idle_timeout: Type.Optional(Type.Number({ minimum: 0 })),
    capabilities: Type.Optional(Type.Array(Type.String())),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    state: Type.Optional(Type.Unknown()),
    init: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

const Startup = Type.Object(
  {
    class: Type.String({ minLength: 3 }),
    enabled: Type.Optional(Type.Boolean()),
    agent_id: Type.Optional(Type.String({ minLength: 1 })),
    singleton: Type.Optional(Type.Boolean()),
    state: Type.Optional(Type.Unknown()),
    init: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

const LaunchFile = Type.Object(
  {
    launch: Type.Optional(
      Type.Object(
        {
          config_id: Type.Optional(Type.String()),
          config_version: Type.Optional(Type.Union([Type.String(), Type.Number()])),
          sync: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    startup_agents: Type.Optional(Type.Array(Startup)),
    resident_services: Type.Optional(Type.Array(Resident)),
  },
  { additionalProperties: false },
);
type LaunchFile = Static<typeof LaunchFile>;
const checkLaunchFile = Compile(LaunchFile);

export interface LaunchConfig {
  path: string;
  configId: string | null;
  configVersion: string | null;
  sync: boolean;
  residents: ResidentSpec[];
  startupAgents: StartupAgentSpec[];
}

/** Parses and validates launch.toml text; errors name the file, line and field. */
export function parseLaunchConfig(text: string, path: string): LaunchConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    const e = err as TomlError;
    throw new HostError(`launch config ${path}: ${e.message.split('\n')[0]}${e.line ? ` (line ${e.line}, column ${e.column})` : ''}`);
  }
  if (!checkLaunchFile.Check(raw)) {
    const first = [...checkLaunchFile.Errors(raw)][0];
    throw new HostError(`launch config ${path}: ${first?.instancePath || '(root)'} ${first?.message ?? 'is invalid'}`);
  }
  const file = raw as LaunchFile;
  const residents: ResidentSpec[] = [];
  for (const [i, r] of (file.resident_services ?? []).entries()) {
    if (r.enabled === false) continue;
    const lifecycle = r.lifecycle ?? 'lazy';
    if (lifecycle !== 'eager' && lifecycle !== 'lazy') {
      throw new HostError(`launch config ${path}: resident service lifecycle '${lifecycle}' (resident_services[${i}]) must be 'eager' or 'lazy'`);
    }
    const scope = r.scope ?? 'local';
    if (scope !== 'local' && scope !== 'mesh') {
      throw new HostError(`launch config ${path}: resident service scope '${scope}' (resident_services[${i}]) must be 'local' or 'mesh'`);
    }
    residents.push({
      agent_class: r.class,
      service: r.service,
      agent_id: r.agent_id ?? `service.${r.service}`,
      lifecycle,
      scope,
      idle_timeout: r.idle_timeout ?? (lifecycle === 'lazy' ? 30 : 0),
      capabilities: r.capabilities ?? [],
      metadata: r.metadata ?? {},
      ...(r.state !== undefined ? { state: r.state } : {}),
      ...(r.init !== undefined ? { init: r.init } : {}),
    });
  }
  const startupAgents: StartupAgentSpec[] = (file.startup_agents ?? [])
    .filter((a) => a.enabled !== false)
    .map((a) => ({
      agent_class: a.class,
      singleton: a.singleton ?? true,
      ...(a.agent_id !== undefined ? { agent_id: a.agent_id } : {}),
      ...(a.state !== undefined ? { state: a.state } : {}),
      ...(a.init !== undefined ? { init: a.init } : {}),
    }));
  return {
    path,
    configId: file.launch?.config_id ?? null,
    configVersion: file.launch?.config_version !== undefined ? String(file.launch.config_version) : null,
    sync: file.launch?.sync ?? true,
    residents,
    startupAgents,
  };
}

export function readLaunchConfig(path: string | URL): LaunchConfig {
  const p = typeof path === 'string' ? path : path.pathname;
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (err) {
    throw new HostError(`launch config ${p} cannot be read: ${(err as Error).message}`);
  }
  return parseLaunchConfig(text, p);
}

export type SyncOutcome =
  | { action: 'copy' }
  | { action: 'skip'; reason: 'disabled' | 'custom' | 'current' }
  | { action: 'update'; backup: string }
  | { action: 'keep'; warning: string };

export interface SyncOptions {
  /** Sync with the bundled default at all. @default true */
  enabled?: boolean;
  /** Replace an outdated file without asking. */
  yes?: boolean;
  /** Asks the user; resolves true for yes. Absent = non-interactive. */
  confirm?: (question: string) => Promise<boolean>;
  bundled?: string;
}

/** Brings `path` in line with the bundled default (see the module comment for the rules). */
export async function syncLaunchConfig(path: string, options: SyncOptions = {}): Promise<SyncOutcome> {
  const bundledPath = options.bundled ?? BUNDLED_LAUNCH_CONFIG.pathname;
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    copyFileSync(bundledPath, path);
    return { action: 'copy' };
  }
  const current = readLaunchConfig(path);
  if (options.enabled === false || !current.sync) return { action: 'skip', reason: 'disabled' };
  const bundled = readLaunchConfig(bundledPath);
  if (current.configId !== bundled.configId) return { action: 'skip', reason: 'custom' };
  if (current.configVersion === bundled.configVersion) return { action: 'skip', reason: 'current' };
  const question = `launch config ${path} is version ${current.configVersion}; replace it with the bundled version ${bundled.configVersion}?`;
  const replace = options.yes === true || (options.confirm ? await options.confirm(question) : false);
  if (!replace) {
    return { action: 'keep', warning: `${path} is version ${current.configVersion}, the bundled default is ${bundled.configVersion}; run with --yes to update (a backup is kept)` };
  }
  let backup = `${path}.old`;
  if (existsSync(backup)) backup = `${path}.old-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, backup);
  copyFileSync(bundledPath, path);
  return { action: 'update', backup };
}
