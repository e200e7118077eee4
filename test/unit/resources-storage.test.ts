import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ResourceCleanupError, StorageQuotaError, ValidationError } from '../../src/core/errors.ts';
import { ClassStorage, classKey } from '../../src/runtime/class-storage.ts';
import { ResourceRegistry } from '../../src/runtime/resources.ts';

describe('ResourceRegistry', () => {
  it('cleans up newest first and forgets what it cleaned', async () => {
    const r = new ResourceRegistry();
    const order: string[] = [];
    r.register('a', () => order.push('a'));
    r.register('b', async () => order.push('b'));
    r.trackCloseable('c', { close: () => order.push('c') });
    assert.deepEqual(r.status(), { a: false, b: false, c: false });
    await r.cleanup();
    assert.deepEqual(order, ['c', 'b', 'a']);
    assert.deepEqual(r.status(), {});
  });

  it('a failing non-suppressed cleanup throws after the others ran and stays registered; suppressed failures vanish', async () => {
    const r = new ResourceRegistry();
    const ran: string[] = [];
    r.register('keep', () => ran.push('keep'));
    r.register('bad', () => {
      throw new Error('stuck');
    });
    r.register('quiet', () => {
      throw new Error('ignored');
    }, { suppress: true });
    await assert.rejects(r.cleanup(), (err: Error) => err instanceof ResourceCleanupError && /bad: stuck/.test(err.message));
    assert.deepEqual(ran, ['keep']);
    assert.deepEqual(r.status(), { bad: false });
    assert.equal(r.remove('bad'), true);
    await r.cleanup();
  });

  it('trackCloseable needs the method', () => {
    assert.throws(() => new ResourceRegistry().trackCloseable('x', {}), /no method 'close'/);
  });
});

describe('ClassStorage', () => {
  const base = mkdtempSync(join(tmpdir(), 'taglets-storage-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('derives a safe directory name from the class reference', () => {
    assert.equal(classKey('./agents/x.js#Worker'), 'agents.x.js.Worker');
    assert.equal(classKey('taglets/system#ServerInfo'), 'taglets.system.ServerInfo');
  });

  it('reads, writes, lists and deletes within the quota, counting replaced files once', async () => {
    const s = new ClassStorage(base, './a.js#A', 100);
    await s.write('x/one.txt', 'hello');
    await s.write('two.bin', new Uint8Array(50));
    assert.equal((await s.read('x/one.txt')).toString(), 'hello');
    assert.deepEqual(await s.list(), ['two.bin', 'x/one.txt']);
    assert.equal((await s.status()).used_bytes, 55);
    await s.write('two.bin', new Uint8Array(90)); // replaces 50 bytes: 95 in use
    assert.equal((await s.status()).available_bytes, 5);
    await assert.rejects(s.write('more', new Uint8Array(6)), StorageQuotaError);
    assert.equal(await s.exists('more'), false, 'nothing written on refusal');
    assert.equal(await s.delete('two.bin'), true);
    assert.equal((await s.status()).used_bytes, 5);
    // A fresh instance (as after a restart) measures the tree once.
    assert.equal((await new ClassStorage(base, './a.js#A', 100).status()).used_bytes, 5);
  });

  it('refuses paths that escape the root', async () => {
    const s = new ClassStorage(base, './b.js#B', null);
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', '', 'a\0b']) {
      await assert.rejects(async () => s.write(bad, 'x'), ValidationError, bad);
    }
    assert.equal((await s.status()).quota_bytes, null);
  });
});
