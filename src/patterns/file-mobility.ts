/**
 * The FileMobility pattern: move or copy one file between hosts by sending an agent that
 * carries it. The agent stats the source where it is created, reads the bytes into its state,
 * dispatches itself to the target and saves the file there (atomically) in its arrival hook.
 *
 * - Destination planning ({@link planDestination}): an empty destination or `.` means the
 *   source's base name; a destination ending in `/`, or naming an existing directory, means
 *   "inside it"; relative paths are relative to the home directory of the host's user
 *   (`~/…` works too).
 * - An existing destination file is refused ("destination already exists") unless `overwrite`.
 * - `dry_run` goes to the target without the bytes, plans and checks there, changes nothing.
 * - A failure on arrival (destination exists, disk full, …) refuses the arrival: the agent stays
 *   on the source, where the task is FAILED with the reason. A `move` deletes the source only
 *   after the target saved the file.
 *
 * The agent is a {@link TaskAgent}: start it with a {@link FileTransferRequest} through a
 * {@link TaskClient} (`taglets examples file push|pull` does exactly that).
 *
 * For now the bytes travel inside the agent's state (a Buffer; up to {@link MAX_CARRY_BYTES}).
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, link, lstat, mkdir, open, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { MobilityEvent } from '../core/agent.ts';
import { ValidationError } from '../core/errors.ts';
import type { Message } from '../core/message.ts';
import { TaskAgent, type TaskAgentState, type TaskOutcome, newTaskRecord } from './task.ts';
import { describeError, normalizeHostUrl } from './util.ts';

export type FileTransferMode = 'copy' | 'move';

export interface FileTransferRequest {
  /** Path on the host where the agent is created (relative: to that host's home directory). */
  source_path: string;
  /** Path on the target host; see {@link planDestination}. */
  destination_path: string;
  /** Host name (mesh) or URL of the host to save the file on. */
  target_host: string;
  mode: FileTransferMode;
  dry_run: boolean;
  overwrite: boolean;
  transfer_id: string;
  /** How to show the source to people (default `host:path`). */
  source_label: string;
  destination_label: string;
}

/** One end of a transfer. */
export interface FileEndpoint {
  host_name: string;
  host_url: string;
  path: string;
  label: string;
}

export interface FileTransferResult {
  transfer_id: string;
  mode: FileTransferMode;
  dry_run: boolean;
  source: FileEndpoint;
  destination: FileEndpoint;
  size_bytes: number;
  /** e.g. `1.5 MiB`. */
  size_human: string;
  sha256: string | null;
  /** The destination existed and was replaced (dry run: would be). */
  overwritten: boolean;
  /** `move`: the source was deleted after the target saved the file. */
  source_deleted: boolean;
  duration_s: number;
}

/** Largest file carried in the agent's state. */
export const MAX_CARRY_BYTES = 512 * 1024 * 1024;

/** The class reference hosts use for {@link SingleFileTransferAgent}. */
export const FILE_TRANSFER_AGENT_CLASS = 'taglets/patterns#SingleFileTransferAgent';

/** The message a `move` source sends to the arrived agent once it deleted (or failed to delete) the source. */
export const SOURCE_REMOVED_KIND = 'file.source_removed';

/** A complete request from a partial one (defaults: copy, no dry run, no overwrite, a new id). */
export function fileTransferRequest(init: Partial<FileTransferRequest> & { source_path: string; target_host: string }): FileTransferRequest {
  const mode = init.mode ?? 'copy';
  if (mode !== 'copy' && mode !== 'move') throw new ValidationError(`mode must be 'copy' or 'move', got '${String(mode)}'`);
  if (typeof init.source_path !== 'string' || init.source_path.trim() === '') throw new ValidationError('source_path must be a non-empty path');
  if (typeof init.target_host !== 'string' || init.target_host.trim() === '') throw new ValidationError('target_host must be a host name or URL');
  return {
    source_path: init.source_path,
    destination_path: init.destination_path ?? '',
    target_host: init.target_host,
    mode,
    dry_run: init.dry_run ?? false,
    overwrite: init.overwrite ?? false,
    transfer_id: init.transfer_id || randomUUID(),
    source_label: init.source_label ?? '',
    destination_label: init.destination_label ?? '',
  };
}

/** `512 B`, `12.0 KiB`, `1.5 MiB`, … (powers of 1024). */
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** A path on a host: `~` and `~/x` are the home directory, relative paths are relative to `baseDir`. */
export function resolveHostPath(path: string, baseDir: string = homedir()): string {
  const p = path.trim();
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? resolve(p) : resolve(baseDir, p);
}

/**
 * Where a file ends up (pure: `isDirectory` answers whether a path is an existing directory).
 * - empty or `.` → `<baseDir>/<basename of source>`;
 * - ending in `/` (or the platform separator), or an existing directory → inside it;
 * - otherwise the path itself (relative to `baseDir`).
 */
export function planDestination(
  sourcePath: string,
  destinationPath: string | null | undefined,
  options: { baseDir?: string; isDirectory?: (path: string) => boolean } = {},
): string {
  const baseDir = options.baseDir ?? homedir();
  const name = basename(sourcePath.replace(/[/\\]+$/, ''));
  if (!name) throw new ValidationError(`source path '${sourcePath}' has no file name`);
  const d = (destinationPath ?? '').trim();
  if (d === '' || d === '.') return join(resolve(baseDir), name);
  const abs = resolveHostPath(d, baseDir);
  if (d.endsWith('/') || d.endsWith(sep) || d === '~' || options.isDirectory?.(abs)) return join(abs, name);
  return abs;
}

/** {@link planDestination} against the real file system of this host. */
export async function resolveDestination(sourcePath: string, destinationPath: string | null | undefined, baseDir: string = homedir()): Promise<string> {
  const d = (destinationPath ?? '').trim();
  let isDir = false;
  if (d !== '' && d !== '.') {
    const st = await stat(resolveHostPath(d, baseDir)).catch(() => null);
    isDir = st?.isDirectory() ?? false;
  }
  return planDestination(sourcePath, destinationPath, { baseDir, isDirectory: () => isDir });
}

/** The error every refused existing destination carries (tests and callers match on the text). */
export function destinationExistsError(path: string): Error {
  return new Error(`destination already exists: ${path} (use overwrite to replace it)`);
}

async function destinationState(dest: string): Promise<'missing' | 'file'> {
  const st = await lstat(dest).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!st) return 'missing';
  if (st.isDirectory()) throw new Error(`destination is a directory: ${dest}`);
  return 'file';
}

/** Moves a finished temp file into place: replace (overwrite) or no-clobber (hard link, then unlink). */
async function publish(tmp: string, dest: string, overwrite: boolean): Promise<void> {
  if (overwrite) {
    await rename(tmp, dest);
    return;
  }
  try {
    await link(tmp, dest); // atomic and fails if dest appeared meanwhile
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw destinationExistsError(dest);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
    // No hard links here: check again, then rename (a small window remains on such file systems).
    if ((await destinationState(dest)) !== 'missing') throw destinationExistsError(dest);
    await rename(tmp, dest);
    return;
  }
  await unlink(tmp);
}

function tempPathFor(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.${randomUUID().slice(0, 8)}.taglets-part`);
}

export interface AtomicWriteOptions {
  overwrite?: boolean;
  /** Permission bits for the new file. @default 0o644 */
  mode?: number;
  /** Modification time to keep (ms since the epoch). */
  mtimeMs?: number;
}

/**
 * Writes `data` to `dest` through a temp file in the same directory (fsynced, then renamed or
 * linked into place), creating missing parent directories. An existing file is refused with
 * "destination already exists" unless `overwrite`. Resolves to whether a file was replaced.
 */
export async function atomicWriteFile(dest: string, data: Uint8Array, options: AtomicWriteOptions = {}): Promise<{ overwritten: boolean }> {
  await mkdir(dirname(dest), { recursive: true });
  const existed = (await destinationState(dest)) === 'file';
  if (existed && !options.overwrite) throw destinationExistsError(dest);
  const tmp = tempPathFor(dest);
  try {
    const fh = await open(tmp, 'wx', options.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      if (options.mode !== undefined) await fh.chmod(options.mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (options.mtimeMs !== undefined) await utimes(tmp, new Date(), new Date(options.mtimeMs));
    await publish(tmp, dest, options.overwrite ?? false);
  } finally {
    await rm(tmp, { force: true });
  }
  return { overwritten: existed };
}

/** Copies `source` to `dest` atomically (same rules as {@link atomicWriteFile}); keeps mode and mtime. */
export async function atomicCopyFile(source: string, dest: string, options: { overwrite?: boolean } = {}): Promise<{ overwritten: boolean }> {
  const st = await stat(source);
  await mkdir(dirname(dest), { recursive: true });
  const existed = (await destinationState(dest)) === 'file';
  if (existed && !options.overwrite) throw destinationExistsError(dest);
  const tmp = tempPathFor(dest);
  try {
    await copyFile(source, tmp);
    await utimes(tmp, new Date(), st.mtime);
    const fh = await open(tmp, 'r+');
    try {
      await fh.chmod(st.mode & 0o7777);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await publish(tmp, dest, options.overwrite ?? false);
  } finally {
    await rm(tmp, { force: true });
  }
  return { overwritten: existed };
}

/** What the agent knows about the file it carries. */
export interface CarriedFile {
  source_host_name: string;
  source_host_url: string;
  /** Absolute path on the source host. */
  source_path: string;
  size_bytes: number;
  sha256: string | null;
  /** Permission bits. */
  mode_bits: number;
  mtime_ms: number;
  /** The bytes while travelling (null in a dry run and after saving). */
  data: Buffer | null;
  /** Set on arrival: where it was saved (or would be). */
  destination_path: string | null;
  /** `move`: the result to report once the source says it deleted the file. */
  pending_result: FileTransferResult | null;
  started_ms: number;
}

export interface FileTransferState extends TaskAgentState<FileTransferRequest, FileTransferResult> {
  file: CarriedFile | null;
}

function endpointLabel(label: string, hostName: string, path: string): string {
  return label || `${hostName}:${path}`;
}

/**
 * Carries one file to another host (see the module comment). Create it on the source host
 * (`taglets/patterns#SingleFileTransferAgent`), then `start` it with a {@link FileTransferRequest}.
 */
export class SingleFileTransferAgent extends TaskAgent<FileTransferRequest, FileTransferResult, FileTransferState> {
  static override defaultState: FileTransferState = { task: newTaskRecord(), file: null };

  override async runTask(init: FileTransferRequest): Promise<TaskOutcome<FileTransferResult>> {
    const request = fileTransferRequest(init);
    this.task.request = request;
    const sourcePath = resolveHostPath(request.source_path);
    const st = await stat(sourcePath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new Error(`source not found: ${this.hostName}:${sourcePath}`);
      throw err;
    });
    if (!st.isFile()) throw new Error(`source is not a regular file: ${this.hostName}:${sourcePath}`);
    if (st.size > MAX_CARRY_BYTES) {
      throw new Error(`source is too large to carry (${humanSize(st.size)} > ${humanSize(MAX_CARRY_BYTES)}): ${sourcePath}`);
    }
    const file: CarriedFile = {
      source_host_name: this.hostName,
      source_host_url: this.hostUrl,
      source_path: sourcePath,
      size_bytes: st.size,
      sha256: null,
      mode_bits: st.mode & 0o7777,
      mtime_ms: st.mtimeMs,
      data: null,
      destination_path: null,
      pending_result: null,
      started_ms: Date.now(),
    };
    this.state.file = file;

    if (this.#isThisHost(request.target_host)) return this.#transferLocally(request, file);

    if (!request.dry_run) {
      const data = await readFile(sourcePath);
      file.data = data;
      file.size_bytes = data.length;
      file.sha256 = createHash('sha256').update(data).digest('hex');
    }
    // The target saves the file in onTaskArrival; a failure there refuses the arrival and
    // this dispatch throws (the task then FAILS here, and a move keeps its source).
    const moved = await this.dispatch(request.target_host);
    file.data = null;
    // The target turned out to be this host under another name: nothing moved, nothing saved.
    if (normalizeHostUrl(moved.ref.host_url) === normalizeHostUrl(this.hostUrl)) return this.#transferLocally(request, file);
    if (request.mode === 'move' && !request.dry_run) {
      let removed: { ok: boolean; error?: string };
      try {
        await unlink(sourcePath);
        removed = { ok: true };
      } catch (err) {
        removed = { ok: false, error: describeError(err) };
      }
      await moved.send(SOURCE_REMOVED_KIND, removed).catch(() => {});
    }
    return moved;
  }

  /** On the target: plan, check, save (or, in a dry run, only plan and check). */
  override async onTaskArrival(_event: MobilityEvent): Promise<void> {
    const request = this.task.request;
    const file = this.state.file;
    if (!request || !file) return;
    const dest = await resolveDestination(file.source_path, request.destination_path);
    file.destination_path = dest;
    let overwritten: boolean;
    if (request.dry_run) {
      overwritten = (await destinationState(dest)) === 'file';
      if (overwritten && !request.overwrite) throw destinationExistsError(dest);
    } else {
      const data = file.data;
      if (!data) throw new Error('the file bytes did not arrive');
      const sum = createHash('sha256').update(data).digest('hex');
      if (file.sha256 && sum !== file.sha256) throw new Error(`checksum mismatch after transfer (${sum} != ${file.sha256})`);
      ({ overwritten } = await atomicWriteFile(dest, data, { overwrite: request.overwrite, mode: file.mode_bits, mtimeMs: file.mtime_ms }));
      file.data = null;
    }
    const result = this.#result(request, file, dest, overwritten, false);
    if (request.mode === 'move' && !request.dry_run) file.pending_result = result;
    else this.completeTask(result);
  }

  override handleFallback(message: Message): unknown {
    if (message.kind !== SOURCE_REMOVED_KIND) return super.handleFallback(message);
    const file = this.state.file;
    const pending = file?.pending_result;
    if (!file || !pending) return { ok: false };
    file.pending_result = null;
    if (message.args.ok === true) {
      this.completeTask({ ...pending, source_deleted: true, duration_s: (Date.now() - file.started_ms) / 1000 });
    } else {
      this.failTask(
        new Error(`copied to ${pending.destination.label} but could not delete the source ${pending.source.label}: ${String(message.args.error ?? 'unknown error')}`),
      );
    }
    return { ok: true };
  }

  #isThisHost(target: string): boolean {
    if (target === this.hostName) return true;
    const looksLikeUrl = /^https?:\/\//.test(target) || /^[^\s/]+:\d+$/.test(target);
    return looksLikeUrl && normalizeHostUrl(target) === normalizeHostUrl(this.hostUrl);
  }

  async #transferLocally(request: FileTransferRequest, file: CarriedFile): Promise<FileTransferResult> {
    const dest = await resolveDestination(file.source_path, request.destination_path);
    file.destination_path = dest;
    if (resolve(dest) === resolve(file.source_path)) throw new Error(`source and destination are the same file: ${dest}`);
    let overwritten: boolean;
    if (request.dry_run) {
      overwritten = (await destinationState(dest)) === 'file';
      if (overwritten && !request.overwrite) throw destinationExistsError(dest);
      return this.#result(request, file, dest, overwritten, false);
    }
    ({ overwritten } = await atomicCopyFile(file.source_path, dest, { overwrite: request.overwrite }));
    let deleted = false;
    if (request.mode === 'move') {
      await unlink(file.source_path);
      deleted = true;
    }
    return this.#result(request, file, dest, overwritten, deleted);
  }

  #result(request: FileTransferRequest, file: CarriedFile, dest: string, overwritten: boolean, sourceDeleted: boolean): FileTransferResult {
    return {
      transfer_id: request.transfer_id,
      mode: request.mode,
      dry_run: request.dry_run,
      source: {
        host_name: file.source_host_name,
        host_url: file.source_host_url,
        path: file.source_path,
        label: endpointLabel(request.source_label, file.source_host_name, file.source_path),
      },
      destination: {
        host_name: this.hostName,
        host_url: this.hostUrl,
        path: dest,
        label: endpointLabel(request.destination_label, this.hostName, dest),
      },
      size_bytes: file.size_bytes,
      size_human: humanSize(file.size_bytes),
      sha256: file.sha256,
      overwritten,
      source_deleted: sourceDeleted,
      duration_s: (Date.now() - file.started_ms) / 1000,
    };
  }
}
