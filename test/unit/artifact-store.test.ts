/**
 * ArtifactStore against a real directory and an in-memory SQLite store: round trip, limits
 * (max size, quota), checksum verification, interrupted and aborted uploads, invalid ids and
 * the sweeper with an injected clock. Every failure must leave no part file, no blob and no
 * metadata.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, describe, it } from 'node:test';
import {
  ArtifactChecksumError,
  ArtifactNotFoundError,
  HostShuttingDownError,
  PayloadTooLargeError,
  StorageQuotaError,
  TransferError,
  ValidationError,
} from '../../src/core/errors.ts';
import { ArtifactStore, type ArtifactStoreOptions } from '../../src/persistence/artifact-store.ts';
import { SqliteStore } from '../../src/persistence/sqlite-store.ts';

const root = mkdtempSync(join(tmpdir(), 'taglets-artifacts-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
async function makeStore(options: Partial<ArtifactStoreOptions> = {}): Promise<{ artifacts: ArtifactStore; meta: SqliteStore; dir: string }> {
  const dir = join(root, `s${++n}`);
  const meta = new SqliteStore(':memory:');
  const artifacts = new ArtifactStore({ dir, store: meta, ...options });
  await artifacts.start();
  return { artifacts, meta, dir };
}

async function closeAll(s: { artifacts: ArtifactStore; meta: SqliteStore }): Promise<void> {
  await s.artifacts.close();
  await s.meta.close();
}

/** Polls until `check` holds (bounded). */
async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Yields `total` bytes in `chunk`-sized pieces (lazily, never one big buffer). */
async function* bytes(total: number, chunk = 64 * 1024, fill = 7): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += chunk) yield Buffer.alloc(Math.min(chunk, total - sent), fill);
}

async function assertNothingLeft(s: { artifacts: ArtifactStore; meta: SqliteStore }): Promise<void> {
  assert.deepEqual(readdirSync(s.artifacts.tmpDir), [], 'no part file');
  assert.deepEqual(readdirSync(s.artifacts.blobsDir), [], 'no blob');
  assert.deepEqual(await s.meta.listArtifacts(), [], 'no metadata');
  assert.equal(await s.meta.artifactBytes(), 0);
}

describe('upload and read', () => {
  it('stores a streamed upload with its size and sha256, and reads it back', async () => {
    const s = await makeStore();
    const body = Buffer.from('hello artifacts\n'.repeat(10_000));
    const rec = await s.artifacts.upload(Readable.from([body.subarray(0, 1000), body.subarray(1000)]), {
      name: 'hello.txt',
      owner_agent_id: 'agent-1',
      compression: 'gzip',
      expires_at: 0,
    });
    assert.match(rec.artifact_id, /^[0-9a-f]{32}$/);
    assert.equal(rec.size_bytes, body.length);
    assert.equal(rec.sha256, sha(body));
    assert.equal(rec.name, 'hello.txt');
    assert.equal(rec.compression, 'gzip');
    assert.equal(rec.owner_agent_id, 'agent-1');
    assert.equal(rec.expires_at, 0);
    assert.deepEqual(readdirSync(s.artifacts.blobsDir), [rec.artifact_id]);
    assert.deepEqual(readdirSync(s.artifacts.tmpDir), []);

    const { record, stream } = await s.artifacts.open(rec.artifact_id);
    assert.deepEqual(record, rec);
    assert.equal(await text(stream), body.toString());
    assert.deepEqual(await s.artifacts.get(rec.artifact_id), rec);
    assert.deepEqual((await s.artifacts.list('agent-1')).map((r) => r.artifact_id), [rec.artifact_id]);
    assert.deepEqual(await s.artifacts.list('someone-else'), []);
    assert.equal(await s.artifacts.usedBytes(), body.length);

    await s.artifacts.delete(rec.artifact_id);
    await assert.rejects(s.artifacts.get(rec.artifact_id), ArtifactNotFoundError);
    await assert.rejects(s.artifacts.delete(rec.artifact_id), ArtifactNotFoundError);
    await assertNothingLeft(s);
    await closeAll(s);
  });

  it('accepts an empty body and verifies a declared sha256 and size', async () => {
    const s = await makeStore();
    const empty = await s.artifacts.upload(Readable.from([]), { size: 0, sha256: sha('') });
    assert.equal(empty.size_bytes, 0);
    assert.equal(empty.name, 'artifact');
    const data = Buffer.from('abc');
    const ok = await s.artifacts.upload(Readable.from([data]), { sha256: sha(data).toUpperCase(), size: 3 });
    assert.equal(ok.sha256, sha(data));
    await closeAll(s);
  });

  it('an artifact that expired is gone for get/open/list even before the sweeper runs', async () => {
    let now = 1_000_000_000_000;
    const s = await makeStore({ now: () => now });
    const rec = await s.artifacts.upload(Readable.from([Buffer.from('x')]), { expires_at: now / 1000 + 10 });
    assert.equal((await s.artifacts.list()).length, 1);
    now += 10_000;
    await assert.rejects(s.artifacts.get(rec.artifact_id), ArtifactNotFoundError);
    await assert.rejects(s.artifacts.open(rec.artifact_id), ArtifactNotFoundError);
    assert.deepEqual(await s.artifacts.list(), []);
    await closeAll(s);
  });

  it('refuses bad metadata with ValidationError before reading anything', async () => {
    const s = await makeStore();
    const cases: Parameters<ArtifactStore['upload']>[1][] = [
      { name: '' },
      { name: 'a\nb' },
      { owner_agent_id: '../x' },
      { compression: 'g zip' },
      { expires_at: -1 },
      { sha256: 'abc' },
      { size: -1 },
    ];
    for (const c of cases) await assert.rejects(s.artifacts.upload(Readable.from([Buffer.from('x')]), c), ValidationError, JSON.stringify(c));
    await assertNothingLeft(s);
    await closeAll(s);
  });

  it('invalid ids are ArtifactNotFoundError and never touch paths outside the store', async () => {
    const s = await makeStore();
    writeFileSync(join(s.dir, 'secret'), 'do not read');
    for (const id of ['../secret', '..%2fsecret', 'ABCDEF0123456789ABCDEF0123456789', '', 'x'.repeat(32), `${'a'.repeat(31)}/`]) {
      await assert.rejects(s.artifacts.open(id), (err: unknown) => err instanceof ArtifactNotFoundError && /invalid/.test(err.message));
      await assert.rejects(s.artifacts.delete(id), ArtifactNotFoundError);
    }
    assert.ok(existsSync(join(s.dir, 'secret')));
    await assert.rejects(s.artifacts.open('0'.repeat(32)), (err: unknown) => err instanceof ArtifactNotFoundError && /no artifact/.test(err.message));
    await closeAll(s);
  });
});

describe('limits and verification leave nothing behind', () => {
  it('max size: refused early from the declared length, and while streaming otherwise', async () => {
    const s = await makeStore({ maxSizeBytes: 100_000 });
    await assert.rejects(s.artifacts.upload(bytes(200_000), { lengthHint: 200_000 }), (err: unknown) => {
      assert.ok(err instanceof PayloadTooLargeError);
      assert.equal(err.status, 413);
      return true;
    });
    await assert.rejects(s.artifacts.upload(bytes(200_000), { size: 200_000 }), PayloadTooLargeError);
    await assert.rejects(s.artifacts.upload(bytes(200_000)), (err: unknown) => err instanceof PayloadTooLargeError && /more than/.test(err.message));
    await assertNothingLeft(s);
    const exact = await s.artifacts.upload(bytes(100_000));
    assert.equal(exact.size_bytes, 100_000);
    await closeAll(s);
  });

  it('max size null means unlimited', async () => {
    const s = await makeStore({ maxSizeBytes: null, quotaBytes: null });
    const rec = await s.artifacts.upload(bytes(3 * 1024 * 1024, 256 * 1024));
    assert.equal(rec.size_bytes, 3 * 1024 * 1024);
    await closeAll(s);
  });

  it('checksum or size mismatch: ArtifactChecksumError, no blob, no metadata, no part file', async () => {
    const s = await makeStore();
    const body = Buffer.from('the real content');
    await assert.rejects(s.artifacts.upload(Readable.from([body]), { sha256: sha('something else') }), (err: unknown) => {
      assert.ok(err instanceof ArtifactChecksumError);
      assert.equal(err.status, 422);
      assert.match(err.message, /sha256 mismatch/);
      return true;
    });
    await assert.rejects(s.artifacts.upload(Readable.from([body]), { size: body.length + 1 }), /size mismatch/);
    await assert.rejects(s.artifacts.upload(Readable.from([body]), { size: body.length - 1 }), ArtifactChecksumError);
    await assertNothingLeft(s);
    await closeAll(s);
  });

  it('quota: the upload that would exceed it is refused; space freed by delete is reusable', async () => {
    const s = await makeStore({ quotaBytes: 250_000 });
    const a = await s.artifacts.upload(bytes(100_000));
    await s.artifacts.upload(bytes(100_000));
    const before = readdirSync(s.artifacts.blobsDir).sort();
    // Unknown length: streamed in full, refused at the quota check.
    await assert.rejects(s.artifacts.upload(bytes(100_000)), (err: unknown) => {
      assert.ok(err instanceof StorageQuotaError);
      assert.equal(err.status, 507);
      return true;
    });
    // Known length: refused before reading.
    await assert.rejects(s.artifacts.upload(bytes(100_000), { lengthHint: 100_000 }), StorageQuotaError);
    assert.deepEqual(readdirSync(s.artifacts.blobsDir).sort(), before);
    assert.deepEqual(readdirSync(s.artifacts.tmpDir), []);
    assert.equal(await s.artifacts.usedBytes(), 200_000);
    await s.artifacts.delete(a.artifact_id);
    await s.artifacts.upload(bytes(100_000));
    assert.equal(await s.artifacts.usedBytes(), 200_000);
    await closeAll(s);
  });

  it('quota holds under concurrent uploads', async () => {
    const s = await makeStore({ quotaBytes: 150_000 });
    const results = await Promise.allSettled([s.artifacts.upload(bytes(100_000)), s.artifacts.upload(bytes(100_000)), s.artifacts.upload(bytes(100_000))]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof StorageQuotaError);
    assert.equal(readdirSync(s.artifacts.blobsDir).length, 1);
    assert.deepEqual(readdirSync(s.artifacts.tmpDir), []);
    await closeAll(s);
  });

  it('a source that fails mid-stream (sender went away) leaves nothing', async () => {
    const s = await makeStore();
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(200_000, 1);
      yield Buffer.alloc(200_000, 2);
      throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    }
    await assert.rejects(s.artifacts.upload(broken()), (err: unknown) => err instanceof TransferError && /interrupted/.test(err.message));
    await assertNothingLeft(s);
    await closeAll(s);
  });

  it('an aborted upload (signal) leaves nothing', async () => {
    const s = await makeStore();
    const controller = new AbortController();
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(100_000, 1);
      controller.abort();
      await new Promise((r) => setTimeout(r, 50));
      yield Buffer.alloc(100_000, 2);
    }
    await assert.rejects(s.artifacts.upload(slow(), { signal: controller.signal }), TransferError);
    await assertNothingLeft(s);
    await closeAll(s);
  });

  it('close() aborts uploads in progress and refuses new ones', async () => {
    const s = await makeStore();
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    async function* stalled(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(10_000, 1);
      await blocked;
      yield Buffer.alloc(10_000, 2);
    }
    const upload = s.artifacts.upload(stalled());
    await until(() => readdirSync(s.artifacts.tmpDir).length === 1); // the part file exists while streaming
    const closing = s.artifacts.close();
    await assert.rejects(upload, HostShuttingDownError);
    await closing;
    release();
    assert.deepEqual(readdirSync(s.artifacts.tmpDir), []);
    await assert.rejects(s.artifacts.upload(Readable.from([Buffer.from('x')])), HostShuttingDownError);
    await s.meta.close();
  });
});

describe('sweeper', () => {
  it('removes part files older than the spool TTL, expired artifacts and orphans; keeps the rest', async () => {
    let now = Date.now();
    const s = await makeStore({ now: () => now, spoolTtlSeconds: 3600 });
    const keep = await s.artifacts.upload(Readable.from([Buffer.from('keep')]));
    const expiring = await s.artifacts.upload(Readable.from([Buffer.from('expiring')]), { expires_at: now / 1000 + 60 });
    const stalePart = join(s.artifacts.tmpDir, `${'a'.repeat(32)}.part`);
    writeFileSync(stalePart, 'half an upload');
    const orphanBlob = join(s.artifacts.blobsDir, 'b'.repeat(32));
    writeFileSync(orphanBlob, 'no metadata');
    await s.meta.putArtifact({ ...keep, artifact_id: 'c'.repeat(32) }); // metadata without a blob

    // 1 minute later: the artifact has expired, but the part file is still fresh.
    now += 61_000;
    assert.deepEqual(await s.artifacts.sweep(), { parts: 0, expired: 1, orphans: 2 });
    assert.ok(existsSync(stalePart));
    assert.ok(!existsSync(s.artifacts.blobPath(expiring.artifact_id)));
    assert.ok(!existsSync(orphanBlob));
    assert.equal(await s.meta.getArtifact(expiring.artifact_id), undefined);
    assert.equal(await s.meta.getArtifact('c'.repeat(32)), undefined);

    // Past the TTL: the part file goes; the live artifact stays.
    now += 3600_000;
    assert.deepEqual(await s.artifacts.sweep(), { parts: 1, expired: 0, orphans: 0 });
    assert.ok(!existsSync(stalePart));
    assert.deepEqual((await s.artifacts.list()).map((r) => r.artifact_id), [keep.artifact_id]);
    assert.ok(existsSync(s.artifacts.blobPath(keep.artifact_id)));
    await closeAll(s);
  });

  it('sweeps at start and then every interval (default min(TTL, 300 s)) until closed', async () => {
    const dir = join(root, 'periodic');
    const meta = new SqliteStore(':memory:');
    const first = new ArtifactStore({ dir, store: meta, spoolTtlSeconds: 100_000 });
    assert.equal(first.sweepIntervalMs, 300_000);
    assert.equal(new ArtifactStore({ dir, store: meta, spoolTtlSeconds: 2 }).sweepIntervalMs, 2000);
    await first.start();
    await first.close();

    const stale = join(dir, 'tmp', `${'d'.repeat(32)}.part`);
    writeFileSync(stale, 'x');
    let now = Date.now() + 10_000;
    const s = new ArtifactStore({ dir, store: meta, spoolTtlSeconds: 5, now: () => now, sweepIntervalMs: 20 });
    await s.start();
    assert.ok(!existsSync(stale), 'swept at start');

    const later = join(dir, 'tmp', `${'e'.repeat(32)}.part`);
    writeFileSync(later, 'y');
    now = Date.now(); // fresh again
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(existsSync(later), 'fresh part files survive periodic sweeps');
    now = Date.now() + 10_000;
    const deadline = Date.now() + 5000;
    while (existsSync(later) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(!existsSync(later), 'swept by the timer');

    await s.close();
    const afterClose = join(dir, 'tmp', `${'f'.repeat(32)}.part`);
    writeFileSync(afterClose, 'z');
    await new Promise((r) => setTimeout(r, 80));
    assert.ok(existsSync(afterClose), 'no sweeps after close');
    await meta.close();
  });

  it('never sweeps the part file of an upload in progress', async () => {
    let now = Date.now();
    const s = await makeStore({ now: () => now, spoolTtlSeconds: 1 });
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    async function* stalled(): AsyncGenerator<Buffer> {
      yield Buffer.from('part one ');
      await blocked;
      yield Buffer.from('part two');
    }
    const upload = s.artifacts.upload(stalled());
    await until(() => readdirSync(s.artifacts.tmpDir).length === 1);
    now += 60_000;
    assert.equal((await s.artifacts.sweep()).parts, 0);
    release();
    const rec = await upload;
    assert.equal(rec.size_bytes, 'part one part two'.length);
    await closeAll(s);
  });
});
