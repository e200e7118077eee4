/**
 * Registered files: files that belong to an agent and travel with it. On dispatch, clone and
 * retract each is re-hashed and shipped as an artifact to the target, which materializes it
 * in the agent's new work dir before any arrival hook runs and deletes the transit artifact.
 * `move` sources are deleted only after the target accepted the agent; clones always copy.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import type { RegisteredFile } from '../core/agent.ts';
import { TransferError, ValidationError } from '../core/errors.ts';

export type FileMode = RegisteredFile['mode'];

/** A registered file's record (the authoring API's RegisteredFile). */
export type FileRef = RegisteredFile;

/** A file in transit: its ref plus the artifact that carries it to the target. */
export interface ShippedFile extends FileRef {
  transit_artifact_id: string;
}

/** Where an uploaded transit artifact can be opened and deleted (the target host's artifact store). */
export interface TransitStore {
  open(id: string): Promise<{ stream: NodeJS.ReadableStream; record: { sha256: string; size_bytes: number } }>;
  delete(id: string): Promise<void>;
}

/** A file name safe to use inside a work dir (no separators, no dot-only names). */
export function safeFileName(name: string): string {
  const cleaned = basename(name).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  if (!cleaned || cleaned === '_') throw new ValidationError(`registered file name '${name}' is empty after sanitizing`);
  return cleaned.slice(0, 200);
}

export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Builds the ref of a newly registered file (the file must exist and be a regular file). */
export async function describeFile(
  path: string,
  options: { name?: string; mode?: FileMode },
  host: { name: string; url: string },
): Promise<FileRef> {
  const mode = options.mode ?? 'copy';
  if (mode !== 'copy' && mode !== 'move') throw new ValidationError(`registered file mode must be 'copy' or 'move', got '${String(mode)}'`);
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) throw new ValidationError(`cannot register '${path}': not a readable regular file`);
  const { sha256, size } = await hashFile(path);
  return {
    name: safeFileName(options.name ?? path),
    mode,
    source_host_name: host.name,
    source_host_url: host.url,
    source_path: path,
    source_created_at: st.birthtimeMs / 1000,
    source_modified_at: st.mtimeMs / 1000,
    size_bytes: size,
    sha256,
    current_host_name: host.name,
    current_host_url: host.url,
    current_path: path,
    status: 'registered',
    last_error: null,
  };
}

/**
 * Materializes shipped files into `workDir` on the target. All or nothing: on any failure the
 * files written so far are removed and the remaining transit artifacts deleted.
 */
export async function materializeFiles(
  files: ShippedFile[],
  workDir: string,
  store: TransitStore,
  host: { name: string; url: string },
): Promise<FileRef[]> {
  const done: FileRef[] = [];
  try {
    if (files.length) await mkdir(workDir, { recursive: true });
    for (const f of files) {
      const dest = join(workDir, safeFileName(f.name));
      const tmp = `${dest}.part`;
      const { stream, record } = await store.open(f.transit_artifact_id);
      if (record.sha256 !== f.sha256) throw new TransferError(`registered file '${f.name}' arrived with another checksum`);
      await pipeline(stream, createWriteStream(tmp));
      await rename(tmp, dest);
      await store.delete(f.transit_artifact_id);
      const { transit_artifact_id: _transit, ...ref } = f;
      done.push({ ...ref, current_host_name: host.name, current_host_url: host.url, current_path: dest, status: 'available', last_error: null });
    }
    return done;
  } catch (err) {
    for (const d of done) await rm(d.current_path, { force: true });
    for (const f of files) await store.delete(f.transit_artifact_id).catch(() => {});
    throw err instanceof TransferError ? err : new TransferError(`registered files could not be materialized: ${(err as Error).message}`);
  }
}
