/**
 * Persistent storage shared by every agent of one class on one host, surviving restarts:
 * `<persistence>/storage/<class key>/…`. Writes are atomic (temp file + rename) and bounded
 * by a per-class quota; paths must stay inside the class's root.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { StorageQuotaError, ValidationError } from '../core/errors.ts';

export interface StorageStatus {
  root: string;
  used_bytes: number;
  quota_bytes: number | null;
  available_bytes: number | null;
}

/** A directory-safe key for a class reference (`./agents/x.js#X` → `agents.x.js.X`). */
export function classKey(agentClass: string): string {
  return agentClass.replace(/^[./]+/, '').replace(/[^A-Za-z0-9._-]+/g, '.').replace(/^\.+|\.+$/g, '') || 'default';
}

async function walkSize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await walkSize(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

export class ClassStorage {
  readonly root: string;
  readonly quotaBytes: number | null;
  /** Bytes in use; computed once, then kept up to date by writes and deletes. */
  private used: number | undefined;
  /** Serializes writes so quota checks and accounting never race. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(baseDir: string, agentClass: string, quotaBytes: number | null) {
    this.root = join(baseDir, classKey(agentClass));
    this.quotaBytes = quotaBytes;
  }

  /** Resolves a relative path inside the root; anything that escapes it is refused. */
  resolve(path: string): string {
    if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new ValidationError('storage path must be a non-empty string');
    const full = resolve(this.root, path);
    const rel = relative(this.root, full);
    if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..') || resolve(this.root, rel) !== full) {
      throw new ValidationError(`storage path '${path}' escapes the class storage root`);
    }
    return full;
  }

  private async usedBytes(): Promise<number> {
    this.used ??= await walkSize(this.root);
    return this.used;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  async read(path: string): Promise<Buffer> {
    return readFile(this.resolve(path));
  }

  async exists(path: string): Promise<boolean> {
    return stat(this.resolve(path)).then(
      () => true,
      () => false,
    );
  }

  write(path: string, data: Uint8Array | string): Promise<void> {
    const full = this.resolve(path);
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.serial(async () => {
      const old = await stat(full).then((s) => s.size, () => 0);
      const used = await this.usedBytes();
      const after = used - old + bytes.length;
      if (this.quotaBytes !== null && after > this.quotaBytes) {
        throw new StorageQuotaError(
          `class storage quota exceeded: writing ${bytes.length} bytes to '${path}' would use ${after} of ${this.quotaBytes} bytes (raise --persistent-storage-quota or delete files)`,
        );
      }
      await mkdir(dirname(full), { recursive: true });
      const tmp = `${full}.tmp-${process.pid}-${Date.now()}`;
      await writeFile(tmp, bytes);
      await rename(tmp, full);
      this.used = after;
    });
  }

  delete(path: string): Promise<boolean> {
    const full = this.resolve(path);
    return this.serial(async () => {
      const size = await stat(full).then((s) => (s.isDirectory() ? walkSize(full) : s.size), () => -1);
      if (size < 0) return false;
      await rm(full, { recursive: true, force: true });
      if (this.used !== undefined) this.used -= size;
      return true;
    });
  }

  clear(): Promise<void> {
    return this.serial(async () => {
      await rm(this.root, { recursive: true, force: true });
      this.used = 0;
    });
  }

  async list(prefix = ''): Promise<string[]> {
    const base = prefix ? this.resolve(prefix) : this.root;
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && !e.name.includes('.tmp-')) out.push(relative(this.root, p));
      }
    };
    await walk(base);
    return out.sort();
  }

  async status(): Promise<StorageStatus> {
    const used = await this.usedBytes();
    return {
      root: this.root,
      used_bytes: used,
      quota_bytes: this.quotaBytes,
      available_bytes: this.quotaBytes === null ? null : Math.max(0, this.quotaBytes - used),
    };
  }
}
