/**
 * The host's artifact store: blobs as files under `<persistence-dir>/artifacts/blobs/<id>`,
 * metadata in the host's {@link Store}. Uploads stream into `artifacts/tmp/<id>.part` (never
 * buffered whole) while the size is counted and the sha256 computed; then the declared size
 * and sha256 are verified, the quota is checked, the part file is renamed into `blobs/` and
 * the metadata is written. Any failure on the way (too large, checksum mismatch, quota, the
 * client going away, shutdown) removes the part file and leaves no blob and no metadata.
 *
 * A sweeper runs at start and every min(spool TTL, 300 s): it removes part files older than
 * the spool TTL (uploads that were cut off while the host was down), expired artifacts,
 * blobs without metadata and metadata without a blob.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isValidArtifactId } from '../core/artifact.ts';
import {
  ArtifactChecksumError,
  ArtifactNotFoundError,
  HostShuttingDownError,
  PayloadTooLargeError,
  StorageQuotaError,
  TagletsError,
  TransferError,
  ValidationError,
} from '../core/errors.ts';
import { isValidAgentId, newId } from '../core/ids.ts';
import type { ArtifactRecord, Store } from './store.ts';

/** 1 GiB. */
export const DEFAULT_ARTIFACT_MAX_SIZE = 1024 ** 3;
/** 10 GiB. */
export const DEFAULT_ARTIFACT_QUOTA = 10 * 1024 ** 3;
/** 24 h. */
export const DEFAULT_ARTIFACT_SPOOL_TTL_S = 86_400;
/** The sweeper runs at least this often (seconds). */
export const MAX_SWEEP_INTERVAL_S = 300;

export interface ArtifactStoreOptions {
  /** Root of the store; `blobs/` and `tmp/` are created inside. */
  dir: string;
  /** Where metadata lives (the host's store). */
  store: Store;
  /** Largest artifact in bytes; `null` = unlimited. @default 1 GiB */
  maxSizeBytes?: number | null;
  /** Total bytes of all artifacts; `null` = unlimited. @default 10 GiB */
  quotaBytes?: number | null;
  /** Part files older than this many seconds are removed by the sweeper. @default 86400 */
  spoolTtlSeconds?: number;
  /** Sweep period in ms. @default min(spoolTtlSeconds, 300) s */
  sweepIntervalMs?: number;
  /** Clock in ms since the epoch (tests inject one). @default Date.now */
  now?: () => number;
  /** Called when a periodic sweep fails (the sweeper keeps running). */
  onSweepError?: (err: unknown) => void;
}

export interface UploadOptions {
  /** @default 'artifact' */
  name?: string;
  owner_agent_id?: string | null;
  /** A label stored with the artifact (e.g. `gzip`); the bytes are kept as sent. */
  compression?: string | null;
  /** Seconds since the epoch; 0 = never. @default 0 */
  expires_at?: number;
  /** Expected sha256 (hex); a mismatch fails the upload with ArtifactChecksumError. */
  sha256?: string;
  /** Expected size in bytes; a mismatch fails the upload with ArtifactChecksumError. */
  size?: number;
  /** Size the transport announced (Content-Length): checked against the limits before any byte is read. */
  lengthHint?: number;
  /** Aborts the upload (the part file is removed). */
  signal?: AbortSignal;
}

export interface OpenedArtifact {
  record: ArtifactRecord;
  /** The blob's bytes; the caller must consume or destroy it. */
  stream: Readable;
}

export interface SweepResult {
  /** Stale part files removed. */
  parts: number;
  /** Expired artifacts removed. */
  expired: number;
  /** Blobs without metadata and metadata without a blob removed. */
  orphans: number;
}

const NAME_MAX = 255;
const COMPRESSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}$/;
const SHA256 = /^[0-9a-f]{64}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const mib = (n: number): string => `${(n / 1024 ** 2).toFixed(1)} MiB`;

export class ArtifactStore {
  readonly dir: string;
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly maxSizeBytes: number | null;
  readonly quotaBytes: number | null;
  readonly spoolTtlSeconds: number;
  readonly sweepIntervalMs: number;
  private readonly store: Store;
  private readonly now: () => number;
  private readonly onSweepError: ((err: unknown) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private started: Promise<void> | undefined;
  /** Serializes quota check + rename + metadata, and the orphan pass of the sweeper. */
  private lock: Promise<unknown> = Promise.resolve();
  private readonly uploads = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  private sweeping: Promise<SweepResult> | undefined;

  constructor(options: ArtifactStoreOptions) {
    this.dir = options.dir;
    this.blobsDir = join(options.dir, 'blobs');
    this.tmpDir = join(options.dir, 'tmp');
    this.store = options.store;
    this.maxSizeBytes = options.maxSizeBytes === undefined ? DEFAULT_ARTIFACT_MAX_SIZE : options.maxSizeBytes;
    this.quotaBytes = options.quotaBytes === undefined ? DEFAULT_ARTIFACT_QUOTA : options.quotaBytes;
    this.spoolTtlSeconds = options.spoolTtlSeconds ?? DEFAULT_ARTIFACT_SPOOL_TTL_S;
    for (const [flag, v] of [
      ['maxSizeBytes', this.maxSizeBytes],
      ['quotaBytes', this.quotaBytes],
    ] as const) {
      if (v !== null && (!Number.isSafeInteger(v) || v < 0)) throw new ValidationError(`artifact ${flag} must be a whole number of bytes or null, got ${v}`);
    }
    if (!(this.spoolTtlSeconds > 0)) throw new ValidationError(`artifact spool TTL must be > 0 seconds, got ${this.spoolTtlSeconds}`);
    this.sweepIntervalMs = options.sweepIntervalMs ?? Math.min(this.spoolTtlSeconds, MAX_SWEEP_INTERVAL_S) * 1000;
    this.now = options.now ?? Date.now;
    this.onSweepError = options.onSweepError;
  }

  /** Creates the directories, sweeps once and starts the periodic sweeper (unref'd). */
  start(): Promise<void> {
    this.started ??= (async () => {
      await mkdir(this.blobsDir, { recursive: true });
      await mkdir(this.tmpDir, { recursive: true });
      await this.sweep();
      if (this.closed) return;
      this.timer = setInterval(() => {
        this.sweep().catch((err: unknown) => this.onSweepError?.(err));
      }, this.sweepIntervalMs);
      this.timer.unref();
    })();
    return this.started;
  }

  /** Stops the sweeper and aborts uploads in progress (their part files are removed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.uploads.values()) u.controller.abort(new HostShuttingDownError('the host is shutting down; upload aborted'));
    await Promise.allSettled([...this.uploads.values()].map((u) => u.done));
    await this.started?.catch(() => {});
    await this.sweeping?.catch(() => {});
    await this.lock.catch(() => {});
  }

  blobPath(id: string): string {
    return join(this.blobsDir, checkId(id));
  }

  // ---- upload ----------------------------------------------------------------------------

  /**
   * Streams `source` into a new artifact. Resolves with its metadata once the blob and the
   * metadata are both stored; on any failure neither is, and no part file remains.
   */
  async upload(source: Readable | AsyncIterable<Uint8Array>, options: UploadOptions = {}): Promise<ArtifactRecord> {
    this.assertOpen();
    const meta = validateUpload(options);
    const max = this.maxSizeBytes;
    const known = options.size ?? options.lengthHint;
    if (known !== undefined) {
      if (max !== null && known > max) throw tooLarge(known, max);
      await this.checkQuota(known);
    }

    const id = newId();
    const tmp = join(this.tmpDir, `${id}.part`);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    let settle!: () => void;
    this.uploads.set(id, { controller, done: new Promise<void>((r) => (settle = r)) });
    try {
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (max !== null && size > max) return callback(tooLarge(size, max, true));
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      // The file exists before any byte is read, so cleanup never races its creation.
      const fh = await open(tmp, 'wx');
      const out = fh.createWriteStream({ flush: true });
      // On abort, do not wait for the source to finish tearing down (a stalled generator
      // cannot): the streams are destroyed and the part file is removed right away.
      const copying = pipeline(source, meter, out, { signal: controller.signal });
      copying.catch(() => {});
      const aborted = new Promise<never>((_resolve, reject) => {
        if (controller.signal.aborted) reject(controller.signal.reason);
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      });
      aborted.catch(() => {});
      try {
        await Promise.race([copying, aborted]);
      } finally {
        // Wait for the fd to be flushed (fsync) and closed, except after an abort.
        if (!out.closed && !controller.signal.aborted) await once(out, 'close').catch(() => {});
      }
      const sha256 = hash.digest('hex');
      if (options.size !== undefined && size !== options.size) {
        throw new ArtifactChecksumError(`artifact size mismatch: declared ${options.size} bytes, received ${size}; nothing was stored`);
      }
      if (meta.sha256 !== undefined && sha256 !== meta.sha256) {
        throw new ArtifactChecksumError(`artifact sha256 mismatch: declared ${meta.sha256}, received ${sha256}; nothing was stored`);
      }
      return await this.locked(async () => {
        this.assertOpen();
        await this.checkQuota(size);
        const blob = this.blobPath(id);
        await rename(tmp, blob);
        const record: ArtifactRecord = {
          artifact_id: id,
          name: meta.name,
          size_bytes: size,
          sha256,
          compression: meta.compression,
          created_at: this.now() / 1000,
          expires_at: meta.expires_at,
          owner_agent_id: meta.owner_agent_id,
        };
        try {
          await this.store.putArtifact(record);
        } catch (err) {
          await rm(blob, { force: true });
          throw err;
        }
        return record;
      });
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw uploadError(err, controller.signal);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.uploads.delete(id);
      settle();
    }
  }

  private async checkQuota(adding: number): Promise<void> {
    if (this.quotaBytes === null) return;
    const used = await this.store.artifactBytes();
    if (used + adding > this.quotaBytes) {
      throw new StorageQuotaError(
        `artifact storage quota exceeded: ${mib(used)} used + ${mib(adding)} new > quota ${mib(this.quotaBytes)}; nothing was stored`,
        { used_bytes: used, size_bytes: adding, quota_bytes: this.quotaBytes },
      );
    }
  }

  // ---- read, list, delete ----------------------------------------------------------------

  /** Metadata of a live (not expired) artifact; ArtifactNotFoundError otherwise. */
  async get(id: string): Promise<ArtifactRecord> {
    checkId(id);
    const record = await this.store.getArtifact(id);
    if (!record || this.isExpired(record)) throw notFound(id);
    return { ...record };
  }

  /** Opens an artifact for reading. The blob stays readable even if it is deleted meanwhile. */
  async open(id: string): Promise<OpenedArtifact> {
    const record = await this.get(id);
    let fh;
    try {
      fh = await open(this.blobPath(id), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(id, 'its blob is missing');
      throw err;
    }
    return { record, stream: fh.createReadStream() };
  }

  /** Live artifacts, oldest first, optionally of one owner. */
  async list(ownerAgentId?: string): Promise<ArtifactRecord[]> {
    return (await this.store.listArtifacts(ownerAgentId)).filter((r) => !this.isExpired(r)).map((r) => ({ ...r }));
  }

  /** Deletes metadata, then the blob. ArtifactNotFoundError if there was no such artifact. */
  async delete(id: string): Promise<void> {
    checkId(id);
    const existed = await this.store.deleteArtifact(id);
    await rm(this.blobPath(id), { force: true });
    if (!existed) throw notFound(id);
  }

  /** Bytes of all stored artifacts (what the quota counts). */
  usedBytes(): Promise<number> {
    return this.store.artifactBytes();
  }

  private isExpired(r: ArtifactRecord): boolean {
    return r.expires_at > 0 && r.expires_at <= this.now() / 1000;
  }

  // ---- sweeper ---------------------------------------------------------------------------

  /** One sweep; concurrent calls share the sweep in progress. */
  sweep(): Promise<SweepResult> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<SweepResult> {
    const result: SweepResult = { parts: 0, expired: 0, orphans: 0 };
    const now = this.now();
    for (const file of await readdir(this.tmpDir).catch(() => [] as string[])) {
      if (this.uploads.has(file.replace(/\.part$/, ''))) continue;
      const path = join(this.tmpDir, file);
      const st = await stat(path).catch(() => undefined);
      if (st?.isFile() && now - st.mtimeMs >= this.spoolTtlSeconds * 1000) {
        await rm(path, { force: true });
        result.parts++;
      }
    }
    for (const id of await this.store.expiredArtifacts(now / 1000)) {
      if (!isValidArtifactId(id)) continue;
      await this.store.deleteArtifact(id);
      await rm(this.blobPath(id), { force: true });
      result.expired++;
    }
    await this.locked(async () => {
      const known = new Set((await this.store.listArtifacts()).map((r) => r.artifact_id));
      const blobs = new Set((await readdir(this.blobsDir).catch(() => [] as string[])).filter(isValidArtifactId));
      for (const id of blobs) {
        if (!known.has(id)) {
          await rm(this.blobPath(id), { force: true });
          result.orphans++;
        }
      }
      for (const id of known) {
        if (isValidArtifactId(id) && !blobs.has(id)) {
          await this.store.deleteArtifact(id);
          result.orphans++;
        }
      }
    });
    return result;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new HostShuttingDownError('the artifact store is closed (the host is shutting down)');
  }
}

function checkId(id: string): string {
  if (!isValidArtifactId(id)) {
    throw new ArtifactNotFoundError(`artifact id '${String(id).slice(0, 80)}' is invalid: artifact ids are 32 lowercase hex characters`);
  }
  return id;
}

function notFound(id: string, why?: string): ArtifactNotFoundError {
  return new ArtifactNotFoundError(`no artifact '${id}' on this host${why ? ` (${why})` : ''}`);
}

function tooLarge(size: number, max: number, streaming = false): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `artifact too large: ${streaming ? 'more than ' : ''}${size} bytes (${mib(size)}) > artifact max size ${max} bytes (${mib(max)}); nothing was stored`,
    { size_bytes: size, max_size_bytes: max },
  );
}

/** Maps a failed upload to a taglets error (client gone, abort, disk full, …). */
function uploadError(err: unknown, signal: AbortSignal): TagletsError {
  if (signal.aborted && signal.reason instanceof TagletsError) return signal.reason;
  if (err instanceof TagletsError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return new StorageQuotaError(`no space left for the artifact (${e.code}); nothing was stored`);
  }
  if (signal.aborted || e?.name === 'AbortError') return new TransferError('artifact upload aborted; nothing was stored');
  if (e?.code === 'ECONNRESET' || e?.message === 'aborted' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new TransferError('artifact upload interrupted: the sender went away before the end of the body; nothing was stored');
  }
  return new TransferError(`artifact upload failed: ${e?.message ?? String(err)}; nothing was stored`);
}

interface ValidUpload {
  name: string;
  owner_agent_id: string | null;
  compression: string | null;
  expires_at: number;
  sha256: string | undefined;
}

function validateUpload(o: UploadOptions): ValidUpload {
  const name = o.name ?? 'artifact';
  if (typeof name !== 'string' || name.length === 0 || name.length > NAME_MAX || CONTROL.test(name)) {
    throw new ValidationError(`artifact name must be 1-${NAME_MAX} characters without control characters`);
  }
  const owner = o.owner_agent_id ?? null;
  if (owner !== null && !isValidAgentId(owner)) throw new ValidationError(`owner_agent_id '${owner}' is not a valid agent id`);
  const compression = o.compression === '' || o.compression === undefined ? null : o.compression;
  if (compression !== null && !COMPRESSION.test(compression)) {
    throw new ValidationError(`compression must be a short label like 'gzip' or 'zstd' (letters, digits, . _ + -), got '${compression}'`);
  }
  const expires = o.expires_at ?? 0;
  if (typeof expires !== 'number' || !Number.isFinite(expires) || expires < 0) {
    throw new ValidationError(`expires_at must be seconds since the epoch (0 = never), got ${expires}`);
  }
  for (const [k, v] of [
    ['size', o.size],
    ['length', o.lengthHint],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new ValidationError(`${k} must be a whole number of bytes, got ${v}`);
  }
  const sha256 = o.sha256 === undefined || o.sha256 === '' ? undefined : o.sha256.toLowerCase();
  if (sha256 !== undefined && !SHA256.test(sha256)) throw new ValidationError('sha256 must be 64 hex characters');
  return { name, owner_agent_id: owner, compression, expires_at: expires, sha256 };
}
