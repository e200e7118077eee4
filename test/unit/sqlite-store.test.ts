import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SqliteStore } from '../../src/persistence/sqlite-store.ts';
import { MIGRATIONS } from '../../src/persistence/sqlite-migrations.ts';

const dir = mkdtempSync(join(tmpdir(), 'taglets-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const record = (id: string, activateAt: number | null = null) => ({
  agent_id: id,
  agent_class: './a.js#A',
  state: { n: 1, blob: Buffer.from([1, 2, 3]), when: new Date(0) },
  policy: { activate_on_message: true, queue_messages_when_inactive: true, activate_on_startup: false, activate_at: activateAt },
  request: { reason: 'deactivate', source: 'external' },
  deactivated_at: 1,
  created_at: 0,
});

test('migrations run once and the schema version survives reopening', async () => {
  const path = join(dir, 'v.db');
  const a = new SqliteStore(path);
  assert.equal(await a.schemaVersion(), MIGRATIONS.length);
  await a.close();
  const b = new SqliteStore(path);
  assert.equal(await b.schemaVersion(), MIGRATIONS.length);
  await b.close();
});

test('inactive records round-trip binary state and are durable across reopen', async () => {
  const path = join(dir, 'r.db');
  const s = new SqliteStore(path);
  await s.putInactive(record('a1', 100));
  await s.putInactive(record('a2'));
  await s.enqueueMessage('a1', 'm1', { kind: 'x', args: { i: 1 } });
  await s.enqueueMessage('a1', 'm2', { kind: 'x', args: { i: 2 } });
  await s.close();

  const t = new SqliteStore(path);
  const got = await t.getInactive('a1');
  assert.ok(got);
  assert.deepEqual((got.state as { blob: Buffer }).blob, Buffer.from([1, 2, 3]));
  assert.equal(((got.state as { when: Date }).when).getTime(), 0);
  assert.deepEqual((await t.listInactive()).map((r) => r.agent_id).sort(), ['a1', 'a2']);
  assert.deepEqual(await t.dueForActivation(99), []);
  assert.deepEqual(await t.dueForActivation(100), ['a1']);
  assert.equal(await t.nextActivationAt(), 100);
  const queued = await t.queuedMessages('a1');
  assert.deepEqual(queued.map((q) => q.message_id), ['m1', 'm2']);
  assert.equal(await t.queuedCount('a1'), 2);
  await t.deleteQueued([queued[0]!.seq]);
  assert.equal(await t.queuedCount('a1'), 1);
  assert.equal(await t.deleteInactive('a1'), true);
  assert.equal(await t.queuedCount('a1'), 0, 'deleting a record drops its queued messages');
  assert.equal(await t.deleteInactive('a1'), false);
  await t.close();
});

test('artifact metadata: list by owner, total bytes, expiry', async () => {
  const s = new SqliteStore(':memory:');
  const base = { name: 'f', sha256: 'ab', compression: null, created_at: 1 };
  await s.putArtifact({ ...base, artifact_id: 'x', size_bytes: 10, expires_at: 0, owner_agent_id: 'o1' });
  await s.putArtifact({ ...base, artifact_id: 'y', size_bytes: 5, expires_at: 50, owner_agent_id: null });
  assert.equal(await s.artifactBytes(), 15);
  assert.deepEqual((await s.listArtifacts('o1')).map((a) => a.artifact_id), ['x']);
  assert.deepEqual(await s.expiredArtifacts(49), []);
  assert.deepEqual(await s.expiredArtifacts(50), ['y']);
  assert.equal(await s.deleteArtifact('y'), true);
  assert.equal((await s.getArtifact('y')), undefined);
  await s.close();
});
