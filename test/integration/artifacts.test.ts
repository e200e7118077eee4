/**
 * Artifacts against real host processes: streamed upload/download round trips with sha256
 * checks, refused uploads (checksum, size, max size) and interrupted uploads that leave no
 * part file, no blob and no metadata, the HTTP routes, the `taglets artifacts` CLI,
 * `AgentProxy.sendArtifact`, bearer auth and durability across a restart.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArtifactChecksumError, ArtifactNotFoundError, AuthenticationError, PayloadTooLargeError, TagletsError } from 'taglets';
import { HostClient, type ArtifactRef } from 'taglets/client';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES, raw } from './helpers.ts';

const READER = './artifact-agents.js#ArtifactReader';
const MiB = 1024 * 1024;

let alpha: SpawnedHost;
let beta: SpawnedHost;
let client: HostClient;
let work: string;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fileSha = (path: string): string => sha(readFileSync(path));

let fileCount = 0;
/** A file of random bytes in the test's work dir. */
function randomFile(size: number): { path: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const path = join(work, `input-${++fileCount}.bin`);
  writeFileSync(path, bytes);
  return { path, bytes };
}

const artifactsDir = (h: SpawnedHost) => join(h.persistenceDir, 'artifacts');
const tmpFiles = (h: SpawnedHost) => readdirSync(join(artifactsDir(h), 'tmp'));
const blobFiles = (h: SpawnedHost) => readdirSync(join(artifactsDir(h), 'blobs')).sort();
const listedIds = async (c: HostClient = client) => (await c.listArtifacts()).map((a) => a.artifact_id).sort();

/** Snapshot of what the host stores, to prove a failed upload changed nothing. */
async function snapshot(h: SpawnedHost, c: HostClient) {
  return { blobs: blobFiles(h), listed: await listedIds(c) };
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'taglets-artifacts-it-'));
  // A tiny JSON body limit proves artifact uploads are bounded by --artifact-max-size only.
  [alpha, beta] = await Promise.all([
    spawnHost({ name: 'alpha', root: FIXTURES, args: ['--no-mesh', '--max-body-size', '1M', '--artifact-max-size', '16M'] }),
    spawnHost({ name: 'beta', root: FIXTURES, args: ['--no-mesh'] }),
  ]);
  client = new HostClient(alpha.url);
});

after(async () => {
  await Promise.all([alpha?.stop(), beta?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('HTTP routes', () => {
  it('health lists the artifacts capabilities', async () => {
    const health = await client.health();
    assert.deepEqual(health.capabilities.artifacts, ['upload', 'download', 'list', 'delete']);
  });

  it('round trip of a several-MiB file: streamed up, stored, streamed down, same sha256', async () => {
    const { path, bytes } = randomFile(6 * MiB + 123);
    const ref = await client.uploadArtifact(path, { name: 'data.bin', owner: 'owner-1', compression: 'none' });
    assert.equal(ref.host_url, alpha.url);
    assert.match(ref.artifact_id, /^[0-9a-f]{32}$/);
    assert.equal(ref.name, 'data.bin');
    assert.equal(ref.size_bytes, bytes.length);
    assert.equal(ref.sha256, sha(bytes));
    assert.equal(ref.compression, 'none');
    assert.equal(ref.owner_agent_id, 'owner-1');
    assert.equal(ref.expires_at, 0);
    assert.ok(Math.abs(ref.created_at - Date.now() / 1000) < 60);
    assert.deepEqual(Object.keys(ref).sort(), [
      'artifact_id', 'compression', 'created_at', 'expires_at', 'host_url', 'name', 'owner_agent_id', 'sha256', 'size_bytes',
    ]);
    assert.ok(existsSync(join(artifactsDir(alpha), 'blobs', ref.artifact_id)));
    assert.deepEqual(tmpFiles(alpha), []);
    assert.ok(existsSync(path), 'upload without move keeps the local file');

    const out = join(work, 'down', 'copy.bin');
    const got = await client.downloadArtifact(ref.artifact_id, out);
    assert.deepEqual(got, { path: out, artifact_id: ref.artifact_id, size_bytes: bytes.length, sha256: ref.sha256 });
    assert.equal(fileSha(out), ref.sha256);
    assert.deepEqual(readdirSync(join(work, 'down')), ['copy.bin'], 'no temp file left next to the output');

    // Raw GET: bytes with Content-Length and the sha256 header.
    const res = await fetch(`${alpha.url}/artifacts/${ref.artifact_id}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    assert.equal(res.headers.get('x-taglets-artifact-sha256'), ref.sha256);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(sha(Buffer.from(await res.arrayBuffer())), ref.sha256);

    // Download into a directory keeps the artifact's name.
    const intoDir = await client.downloadArtifact(ref.artifact_id, work);
    assert.equal(intoDir.path, join(work, 'data.bin'));
    assert.equal(fileSha(intoDir.path), ref.sha256);

    assert.deepEqual(await client.artifactInfo(ref.artifact_id), ref);
    const meta = await raw(`${alpha.url}/artifacts/${ref.artifact_id}/metadata`, 'GET');
    assert.deepEqual(meta.json, { artifact: ref });
    assert.ok((await listedIds()).includes(ref.artifact_id));
    assert.deepEqual(await client.listArtifacts({ owner: 'owner-1' }), [ref]);
    const listed = await raw(`${alpha.url}/artifacts?owner_agent_id=owner-1`, 'GET');
    assert.deepEqual(listed.json, { artifacts: [ref] });

    const del = await raw(`${alpha.url}/artifacts/${ref.artifact_id}`, 'DELETE');
    assert.equal(del.status, 200);
    assert.deepEqual(del.json, { ok: true });
    assert.ok(!existsSync(join(artifactsDir(alpha), 'blobs', ref.artifact_id)));
    await assert.rejects(client.artifactInfo(ref.artifact_id), ArtifactNotFoundError);
    const again = await raw(`${alpha.url}/artifacts/${ref.artifact_id}`, 'DELETE');
    assert.equal(again.status, 404);
    assert.equal(again.json.error_type, 'ArtifactNotFoundError');
  });

  it('accepts a chunked body of unknown length and any content type', async () => {
    const bytes = randomBytes(3 * MiB);
    const body = new ReadableStream({
      start(c) {
        for (let i = 0; i < bytes.length; i += 256 * 1024) c.enqueue(bytes.subarray(i, i + 256 * 1024));
        c.close();
      },
    });
    const res = await fetch(`${alpha.url}/artifacts?name=chunked.bin&expires_at=4102444800`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 200);
    const { artifact } = (await res.json()) as { artifact: ArtifactRef };
    assert.equal(artifact.size_bytes, bytes.length);
    assert.equal(artifact.sha256, sha(bytes));
    assert.equal(artifact.expires_at, 4102444800);
    await client.deleteArtifact(artifact.artifact_id);
  });

  it('checksum or size mismatch: 422 ArtifactChecksumError, and no blob, metadata or part file', async () => {
    const before = await snapshot(alpha, client);
    const bytes = randomBytes(2 * MiB);
    const wrongSha = await raw(`${alpha.url}/artifacts?name=bad&sha256=${sha(Buffer.from('other'))}`, 'POST', bytes, {
      'content-type': 'application/octet-stream',
    });
    assert.equal(wrongSha.status, 422);
    assert.equal(wrongSha.json.error_type, 'ArtifactChecksumError');
    assert.match(wrongSha.json.error, /sha256 mismatch/);
    const wrongSize = await raw(`${alpha.url}/artifacts?name=bad&size=${bytes.length + 1}`, 'POST', bytes, {
      'content-type': 'application/octet-stream',
    });
    assert.equal(wrongSize.status, 422);
    assert.equal(wrongSize.json.error_type, 'ArtifactChecksumError');
    // The client with a declared sha256 gets the same class back.
    await assert.rejects(client.uploadArtifact(bytes, { sha256: 'f'.repeat(64) }), ArtifactChecksumError);
    assert.deepEqual(await snapshot(alpha, client), before);
    assert.deepEqual(tmpFiles(alpha), []);
  });

  it('an upload cut off mid-stream leaves nothing behind', async () => {
    const before = await snapshot(alpha, client);
    const total = 12 * MiB;
    const url = new URL(`${alpha.url}/artifacts?name=interrupted`);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) },
    });
    req.on('error', () => {});
    const chunk = Buffer.alloc(256 * 1024, 9);
    for (let i = 0; i < 12; i++) req.write(chunk); // 3 MiB of the announced 12
    // The host is streaming into a part file...
    await waitFor(() => tmpFiles(alpha).length === 1);
    // ...when the sender goes away.
    req.destroy();
    await waitFor(() => tmpFiles(alpha).length === 0);
    assert.deepEqual(await snapshot(alpha, client), before);
  });

  it('an upload over --artifact-max-size is refused with 413, with or without a length, and leaves nothing', async () => {
    const before = await snapshot(alpha, client);
    const { path } = randomFile(20 * MiB);
    await assert.rejects(client.uploadArtifact(path), (err: unknown) => {
      assert.ok(err instanceof PayloadTooLargeError, String(err));
      assert.equal(err.status, 413);
      assert.match(err.message, /artifact max size/);
      return true;
    });
    const big = readFileSync(path);
    const chunked = await fetch(`${alpha.url}/artifacts?name=too-big`, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < big.length; i += MiB) c.enqueue(big.subarray(i, i + MiB));
          c.close();
        },
      }),
      headers: { 'content-type': 'application/octet-stream' },
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(((await chunked.json()) as { error_type: string }).error_type, 'PayloadTooLargeError');
    await waitFor(() => tmpFiles(alpha).length === 0);
    assert.deepEqual(await snapshot(alpha, client), before);
    // The host still serves after refusing.
    const ok = await client.uploadArtifact(Buffer.from('small'));
    await client.deleteArtifact(ok.artifact_id);
  });

  it('unknown and malformed ids are 404 ArtifactNotFoundError (never a path)', async () => {
    for (const id of ['0'.repeat(32), '..%2F..%2Fetc%2Fpasswd', 'not-hex', 'A'.repeat(32)]) {
      for (const [method, suffix] of [['GET', ''], ['GET', '/metadata'], ['DELETE', '']] as const) {
        const res = await raw(`${alpha.url}/artifacts/${id}${suffix}`, method);
        assert.equal(res.status, 404, `${method} ${id}${suffix}`);
        assert.equal(res.json.error_type, 'ArtifactNotFoundError');
      }
    }
    await assert.rejects(client.downloadArtifact('0'.repeat(32), join(work, 'never.bin')), ArtifactNotFoundError);
    assert.ok(!existsSync(join(work, 'never.bin')));
  });

  it('refuses bad upload parameters with 422 before reading the body', async () => {
    for (const q of ['owner_agent_id=../x', 'expires_at=-1', 'sha256=xyz', 'size=big']) {
      const res = await raw(`${alpha.url}/artifacts?${q}`, 'POST', 'abc', { 'content-type': 'application/octet-stream' });
      assert.equal(res.status, 422, q);
      assert.equal(res.json.error_type, 'ValidationError', q);
    }
    assert.deepEqual(tmpFiles(alpha), []);
  });

  it('upload with move deletes the local file; download with move deletes the hosted artifact', async () => {
    const { path, bytes } = randomFile(MiB);
    const ref = await client.uploadArtifact(path, { move: true });
    assert.equal(ref.name, 'input-' + fileCount + '.bin');
    assert.ok(!existsSync(path));
    const out = join(work, 'moved.bin');
    await client.downloadArtifact(ref.artifact_id, out, { move: true });
    assert.equal(fileSha(out), sha(bytes));
    await assert.rejects(client.artifactInfo(ref.artifact_id), ArtifactNotFoundError);
  });
});

describe('AgentProxy.sendArtifact', () => {
  it('uploads to the agent’s host (owned by the agent), passes the ref in args and the agent reads it', async () => {
    const reader = await client.createAgent(READER);
    const { path, bytes } = randomFile(4 * MiB);
    const reply = await reader.sendArtifact<Record<string, unknown>>('take', path, { name: 'input.bin', args: { note: 'hi' } });
    assert.equal(reply.matches, true);
    assert.equal(reply.sha256, sha(bytes));
    assert.equal(reply.size_bytes, bytes.length);
    assert.equal(reply.name, 'input.bin');
    assert.equal(reply.owner_agent_id, reader.agentId);
    assert.equal(reply.host_url, alpha.url);
    assert.equal(reply.note, 'hi');
    assert.ok(existsSync(path), 'without move the local file stays');
    const owned = await client.listArtifacts({ owner: reader.agentId });
    assert.deepEqual(owned.map((a) => a.artifact_id), [reply.artifact_id]);

    // Custom arg name, and move: the local file goes once the agent handled the message.
    const moved = await reader.sendArtifact<Record<string, unknown>>('take', path, { argName: 'input', move: true, args: { arg_name: 'input' } });
    assert.equal(moved.matches, true);
    assert.ok(!existsSync(path));

    // Artifacts survive their owner's disposal.
    await reader.dispose();
    assert.equal((await client.listArtifacts({ owner: reader.agentId })).length, 2);
    for (const a of await client.listArtifacts({ owner: reader.agentId })) await client.deleteArtifact(a.artifact_id);
  });

  it('a failed delivery deletes the uploaded artifact and keeps the local file even with move', async () => {
    const reader = await client.createAgent(READER);
    const { path } = randomFile(MiB);
    const before = await snapshot(alpha, client);
    await assert.rejects(reader.sendArtifact('refuse', path, { move: true }), (err: unknown) => err instanceof TagletsError && /not today/.test(err.message));
    assert.deepEqual(await snapshot(alpha, client), before);
    assert.ok(existsSync(path));
    // An unknown agent: the message fails, the artifact is gone again.
    await assert.rejects(client.proxy('no-such-agent').sendArtifact('take', path), /no-such-agent/);
    assert.deepEqual(await snapshot(alpha, client), before);
    await reader.dispose();
  });

  it('an agent on another host reads an artifact by its ref', async () => {
    const { path, bytes } = randomFile(2 * MiB);
    const ref = await client.uploadArtifact(path);
    const remoteReader = await new HostClient(beta.url).createAgent(READER);
    const reply = await remoteReader.send<Record<string, unknown>>('take', { artifact: ref });
    assert.equal(reply.matches, true);
    assert.equal(reply.sha256, sha(bytes));
    assert.equal(reply.host_url, alpha.url);
    await remoteReader.dispose();
    await client.deleteArtifact(ref.artifact_id);
  });
});

describe('taglets artifacts', () => {
  const cli = (...args: string[]) => runCli(['--entry', alpha.url, ...args]);

  it('put, list, info, get, rm, with --json and exit codes', async () => {
    const { path, bytes } = randomFile(3 * MiB);
    const put = await cli('artifacts', 'put', path, '--name', 'cli.bin', '--owner', 'cli-owner');
    assert.equal(put.code, 0, put.stderr);
    const id = put.stdout.trim();
    assert.match(id, /^[0-9a-f]{32}$/);

    const [listJson, table, info, infoJson, empty] = await Promise.all([
      cli('artifacts', 'list', '--owner', 'cli-owner', '--json'),
      cli('artifacts', 'list'),
      cli('artifacts', 'info', id),
      cli('artifacts', 'info', id, '--json'),
      cli('artifacts', 'list', '--owner', 'nobody'),
    ]);
    assert.equal(listJson.code, 0, listJson.stderr);
    const listed = JSON.parse(listJson.stdout).artifacts as ArtifactRef[];
    assert.deepEqual(listed.map((a) => [a.artifact_id, a.name, a.size_bytes, a.sha256, a.owner_agent_id]), [
      [id, 'cli.bin', bytes.length, sha(bytes), 'cli-owner'],
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /ARTIFACT\s+NAME\s+SIZE/);
    assert.match(table.stdout, new RegExp(`${id}\\s+cli\\.bin\\s+3\\.0M`));
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`sha256\\s+${sha(bytes)}`));
    assert.match(info.stdout, /owner\s+cli-owner/);
    assert.deepEqual(JSON.parse(infoJson.stdout).artifact, listed[0]);
    assert.equal(empty.code, 1);
    assert.match(empty.stdout, /no artifacts/);

    const out = join(work, 'cli-out.bin');
    const get = await cli('artifacts', 'get', id, out, '--json');
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout), { path: out, artifact_id: id, size_bytes: bytes.length, sha256: sha(bytes), moved: false });
    assert.equal(fileSha(out), sha(bytes));

    const moved = join(work, 'cli-moved.bin');
    const getMove = await cli('artifacts', 'get', id, moved, '--move');
    assert.equal(getMove.code, 0, getMove.stderr);
    assert.equal(fileSha(moved), sha(bytes));
    const gone = await cli('artifacts', 'info', id);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /ArtifactNotFoundError/);

    const [rmMissing, rmForced, rmBadId] = await Promise.all([
      cli('artifacts', 'rm', id),
      cli('artifacts', 'rm', id, '-f', '-q'),
      cli('artifacts', 'get', '../../etc/passwd', join(work, 'x')),
    ]);
    assert.equal(rmMissing.code, 2);
    assert.match(rmMissing.stderr, /-f/);
    assert.equal(rmForced.code, 0, rmForced.stderr);
    assert.equal(rmForced.stdout, '');
    assert.equal(rmBadId.code, 2);
    assert.match(rmBadId.stderr, /invalid/);

    const second = await cli('artifacts', 'put', path, '--json');
    const secondId = JSON.parse(second.stdout).artifact.artifact_id as string;
    const rm = await cli('artifacts', 'rm', secondId);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, new RegExp(`deleted ${secondId}`));
  });

  it('--help shows examples', async () => {
    const help = await cli('artifacts', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:/);
    assert.match(help.stdout, /taglets artifacts get/);
  });
});

describe('auth and durability', () => {
  it('artifact routes require the bearer key', async () => {
    const secured = await spawnHost({ name: 'secured-artifacts', root: FIXTURES, args: ['--no-mesh'], env: { TAGLETS_API_KEY: 'secret' } });
    try {
      const denied = await raw(`${secured.url}/artifacts?name=x`, 'POST', 'abc', { 'content-type': 'application/octet-stream' });
      assert.equal(denied.status, 401);
      assert.equal(denied.json.error_type, 'AuthenticationError');
      assert.equal((await raw(`${secured.url}/artifacts`, 'GET')).status, 401);
      await assert.rejects(new HostClient(secured.url, { apiKey: 'wrong' }).uploadArtifact(Buffer.from('x')), AuthenticationError);
      const keyed = new HostClient(secured.url, { apiKey: 'secret' });
      const ref = await keyed.uploadArtifact(Buffer.from('secret bytes'));
      const out = join(work, 'secured.bin');
      await keyed.downloadArtifact(ref.artifact_id, out);
      assert.equal(readFileSync(out, 'utf8'), 'secret bytes');
      assert.deepEqual(tmpFiles(secured), []);
    } finally {
      await secured.stop();
    }
  });

  it('artifacts survive a host restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taglets-artifacts-durable-'));
    try {
      const first = await spawnHost({ name: 'durable', root: FIXTURES, args: ['--no-mesh'], persistenceDir: dir });
      const ref = await new HostClient(first.url).uploadArtifact(Buffer.from('kept across restarts'), { name: 'kept.txt' });
      await first.stop();
      const second = await spawnHost({ name: 'durable', root: FIXTURES, args: ['--no-mesh'], persistenceDir: dir });
      try {
        const c = new HostClient(second.url);
        const info = await c.artifactInfo(ref.artifact_id);
        assert.equal(info.sha256, ref.sha256);
        assert.equal(info.host_url, second.url);
        const out = join(work, 'kept.txt');
        await c.downloadArtifact(ref.artifact_id, out);
        assert.equal(readFileSync(out, 'utf8'), 'kept across restarts');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
