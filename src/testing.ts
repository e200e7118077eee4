/**
 * `taglets/testing`: start real hosts as child processes for tests, on 127.0.0.1 with a free
 * port and a temp persistence dir, and stop them (and only them) afterwards.
 *
 * ```ts
 * import { spawnHost } from 'taglets/testing';
 * const host = await spawnHost({ name: 'alpha', root: './test/agents' });
 * t.after(() => host.stop());
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('./cli/main.js', import.meta.url));

export interface SpawnHostOptions {
  name?: string;
  /** Directory relative class references resolve against. */
  root?: string;
  /** Extra CLI flags for `taglets host`. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Milliseconds to wait for the ready line (a bound for loaded CI machines, not a target). @default 60000 */
  readyTimeoutMs?: number;
  /** Keep this persistence dir instead of a fresh temp dir. */
  persistenceDir?: string;
  /**
   * Launch config: `false` (default) starts the host without one, so tests see only their
   * own agents; `true` uses the bundled default (system services); a string is a path.
   */
  launch?: boolean | string;
}

export interface SpawnedHost {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly process: ChildProcess;
  readonly persistenceDir: string;
  /** Everything the host printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code once the host process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful), then SIGKILL after `graceMs`; removes a temp persistence dir. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const READY = /^taglets host '(.+)' listening at (\S+) \(mesh (on|off), version (.+)\)$/m;

let counter = 0;

/**
 * The mesh multicast `group:port` of the hosts this process spawns: one random port per test
 * process (unless `TAGLETS_MESH_MULTICAST` is set), so hosts of one test file find each other by
 * multicast but never hosts of other test files or real hosts on the default port.
 */
export const TEST_MESH_MULTICAST =
  process.env.TAGLETS_MESH_MULTICAST || `239.42.74.53:${20_000 + Math.floor(Math.random() * 40_000)}`;

export async function spawnHost(options: SpawnHostOptions = {}): Promise<SpawnedHost> {
  const name = options.name ?? `test-${process.pid}-${++counter}`;
  const ownDir = options.persistenceDir === undefined;
  const persistenceDir = options.persistenceDir ?? mkdtempSync(join(tmpdir(), 'taglets-host-'));
  const args = [CLI_PATH, 'host', '--name', name, '--port', '0', '--persistence-dir', persistenceDir];
  if (options.root) args.push('--root', options.root);
  if (options.launch !== true) args.push('--launch-config', typeof options.launch === 'string' ? options.launch : 'none');
  args.push(...(options.args ?? []));
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TAGLETS_MESH_MULTICAST: TEST_MESH_MULTICAST, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`host '${name}' did not print its ready line in time; stderr: ${stderr}`));
    }, options.readyTimeoutMs ?? 60_000);
    const onData = (): void => {
      const m = READY.exec(stdout);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[2]!);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`host '${name}' exited with code ${code} before it was ready; stderr: ${stderr}`));
    });
  }).catch(async (err: unknown) => {
    // The caller gets no handle to stop, so clean up here: no stray process or temp dir.
    await exited;
    if (ownDir) rmSync(persistenceDir, { recursive: true, force: true });
    throw err;
  });
  return {
    name,
    url,
    pid: child.pid!,
    process: child,
    persistenceDir,
    exited,
    output: () => ({ stdout, stderr }),
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        if (ownDir) rmSync(persistenceDir, { recursive: true, force: true });
        return result;
      }
      if (ownDir) rmSync(persistenceDir, { recursive: true, force: true });
      return exited;
    },
  };
}

/** Runs the `taglets` CLI to completion and returns its exit code and output. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`taglets ${args.join(' ')} did not finish in time`));
    }, options.timeoutMs ?? 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (bounded, no fixed sleeps). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Whether a process with this pid is alive (a zombie, dead but not yet reaped, is not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // kill(pid, 0) succeeds for zombies too. Orphaned children (e.g. of a SIGKILLed host) are
  // reaped by init, which in some containers does that only every few seconds.
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Format: "pid (comm) S ...": the state follows the last ')' since comm may contain one.
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }
  return true;
}
