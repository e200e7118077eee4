/**
 * Client side of artifacts: streamed upload from a file (sha256 computed while reading and
 * compared with what the host stored), streamed download into a temp file verified against
 * the host's size and sha256 before an atomic rename. Used through {@link HostClient} and
 * {@link AgentProxy.sendArtifact}.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactRef } from '../core/artifact.ts';
import { ArtifactChecksumError, TagletsError, TimeoutError, TransferError, ValidationError } from '../core/errors.ts';
import type { CallOptions, HostClient } from './client.ts';

/** Called as bytes move: `total` is undefined when the size is not known up front. */
export type ProgressCallback = (bytes: number, total: number | undefined) => void;

export interface UploadArtifactOptions extends CallOptions {
  /** Display name. @default the file's base name, else 'artifact' */
  name?: string;
  /** Owner agent id (artifacts survive their owner's disposal). */
  owner?: string | null;
  /** A label stored with the artifact (e.g. 'gzip'); the bytes are sent as they are. */
  compression?: string | null;
  /** Seconds since the epoch; 0 = never. @default 0 */
  expiresAt?: number;
  /** Known sha256 of the content: the host verifies it before keeping anything. */
  sha256?: string;
  /** Delete the local file once the host has stored and verified the artifact (file sources only). */
  move?: boolean;
  onProgress?: ProgressCallback;
}

export interface DownloadArtifactOptions extends CallOptions {
  /** Delete the hosted artifact once the local copy is verified and in place. */
  move?: boolean;
  onProgress?: ProgressCallback;
}

export interface DownloadedArtifact {
  /** Where the file was written (`outPath`, or `outPath/<name>` when `outPath` is a directory). */
  path: string;
  artifact_id: string;
  size_bytes: number;
  sha256: string;
}

export type ArtifactSource = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

const toBuffer = (chunk: unknown): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);

export async function uploadArtifact(client: HostClient, source: ArtifactSource, options: UploadArtifactOptions = {}): Promise<ArtifactRef> {
  let path: string | undefined;
  let size: number | undefined;
  let input: AsyncIterable<unknown> | Iterable<unknown>;
  if (typeof source === 'string') {
    path = resolve(source);
    const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new ValidationError(`cannot upload '${source}': ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (!st.isFile()) throw new ValidationError(`cannot upload '${source}': not a regular file`);
    size = st.size;
    input = createReadStream(path, { highWaterMark: 1024 * 1024 });
  } else if (source instanceof Uint8Array) {
    size = source.length;
    input = [source];
  } else {
    input = source;
  }
  if (options.move && path === undefined) throw new ValidationError('move needs a file path as the upload source');

  const hash = createHash('sha256');
  let sent = 0;
  const onProgress = options.onProgress;
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      const buf = toBuffer(chunk);
      hash.update(buf);
      sent += buf.length;
      onProgress?.(sent, size);
      yield buf;
    }
  }

  const q = new URLSearchParams();
  q.set('name', options.name ?? (path ? basename(path) : 'artifact'));
  if (options.owner) q.set('owner_agent_id', options.owner);
  if (options.compression) q.set('compression', options.compression);
  if (options.expiresAt) q.set('expires_at', String(options.expiresAt));
  if (options.sha256) q.set('sha256', options.sha256);
  if (size !== undefined) q.set('size', String(size));

  const body = Readable.from(hashed(), { objectMode: false });
  let artifact: ArtifactRef;
  try {
    ({ artifact } = await client.raw<{ artifact: ArtifactRef }>('POST', `/artifacts?${q}`, body, 'application/octet-stream', {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(size !== undefined ? { contentLength: size } : {}),
    }));
  } finally {
    body.destroy();
    if (input instanceof Readable) input.destroy();
  }
  const local = hash.digest('hex');
  if (artifact.sha256 !== local || artifact.size_bytes !== sent) {
    await client.deleteArtifact(artifact.artifact_id).catch(() => {});
    throw new ArtifactChecksumError(
      `artifact upload corrupted: sent ${sent} bytes with sha256 ${local}, host stored ${artifact.size_bytes} bytes with sha256 ${artifact.sha256}; the hosted copy was deleted`,
    );
  }
  if (options.move && path) await unlink(path);
  return artifact;
}

/** A file name safe in any directory: the base name with unusual characters replaced. */
export function safeFileName(name: string, fallback: string): string {
  const base = basename(name.replaceAll('\\', '/'))
    .replace(/[^\p{L}\p{N}._+-]/gu, '_')
    .replace(/^\.+/, '');
  return base.length > 0 && base.length <= 255 ? base : fallback;
}

function nameFromDisposition(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? /filename\*=UTF-8''([^;]+)/i.exec(value) : null;
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

const headerValue = (h: string | string[] | undefined): string | undefined => (Array.isArray(h) ? h[0] : h);

export async function downloadArtifact(
  client: HostClient,
  artifactId: string,
  outPath: string,
  options: DownloadArtifactOptions = {},
): Promise<DownloadedArtifact> {
  const timeoutMs = options.timeoutMs;
  const res = await client.stream('GET', `/artifacts/${encodeURIComponent(artifactId)}`, timeoutMs !== undefined ? { timeoutMs } : {});
  const expectedSize = Number(headerValue(res.headers['content-length']));
  const expectedSha = headerValue(res.headers['x-taglets-artifact-sha256'])?.toLowerCase();
  let target = resolve(outPath);
  let tmp: string | undefined;
  try {
    if (!Number.isSafeInteger(expectedSize) || !expectedSha) {
      throw new TransferError(`host at ${client.url} sent artifact ${artifactId} without Content-Length or X-Taglets-Artifact-Sha256`);
    }
    if ((await stat(target).catch(() => undefined))?.isDirectory()) {
      target = join(target, safeFileName(nameFromDisposition(res.headers['content-disposition']) ?? '', artifactId));
    }
    await mkdir(dirname(target), { recursive: true });
    tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.part`);
    const hash = createHash('sha256');
    let received = 0;
    const onProgress = options.onProgress;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        hash.update(chunk);
        onProgress?.(received, expectedSize);
        callback(null, chunk);
      },
    });
    await pipeline(res.body, meter, createWriteStream(tmp, { flags: 'wx', flush: true }));
    const sha256 = hash.digest('hex');
    if (received !== expectedSize || sha256 !== expectedSha) {
      throw new ArtifactChecksumError(
        `artifact ${artifactId} arrived corrupted: expected ${expectedSize} bytes with sha256 ${expectedSha}, got ${received} bytes with sha256 ${sha256}; nothing was written to ${target}`,
      );
    }
    await rename(tmp, target);
    tmp = undefined;
  } catch (err) {
    res.body.destroy();
    if (tmp) await rm(tmp, { force: true }).catch(() => {});
    throw downloadError(err, client.url, artifactId, timeoutMs);
  }
  if (options.move) await client.deleteArtifact(artifactId);
  return { path: target, artifact_id: artifactId, size_bytes: expectedSize, sha256: expectedSha };
}

function downloadError(err: unknown, url: string, id: string, timeoutMs: number | undefined): TagletsError {
  if (err instanceof TagletsError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'UND_ERR_BODY_TIMEOUT') return new TimeoutError(`download of artifact ${id} from ${url} stalled for ${timeoutMs ?? 'the client timeout'} ms`);
  if (typeof e?.code === 'string' && e.code.startsWith('UND_ERR')) {
    return new TransferError(`download of artifact ${id} from ${url} was interrupted (${e.code}); nothing was written`);
  }
  return new TransferError(`download of artifact ${id} from ${url} failed: ${e?.message ?? String(err)}; nothing was written`);
}
