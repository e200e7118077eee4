/** File mobility helpers: destination planning, atomic writes and copies, request defaults. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  atomicCopyFile,
  atomicWriteFile,
  fileTransferRequest,
  humanSize,
  planDestination,
  resolveDestination,
  resolveHostPath,
} from '../../src/patterns/index.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'taglets-file-'));
  dirs.push(d);
  return d;
}

describe('planDestination', () => {
  const base = '/home/u';
  const plan = (dest: string | null, isDir: string[] = []) =>
    planDestination('/src/dir/report.pdf', dest, { baseDir: base, isDirectory: (p) => isDir.includes(p) });

  it('empty or "." keeps the source name in the base directory', () => {
    assert.equal(plan(''), '/home/u/report.pdf');
    assert.equal(plan('.'), '/home/u/report.pdf');
    assert.equal(plan(null), '/home/u/report.pdf');
    assert.equal(plan('  '), '/home/u/report.pdf');
  });

  it('a trailing slash or an existing directory means inside it', () => {
    assert.equal(plan('/srv/inbox/'), '/srv/inbox/report.pdf');
    assert.equal(plan('inbox/'), '/home/u/inbox/report.pdf');
    assert.equal(plan('/srv/inbox', ['/srv/inbox']), '/srv/inbox/report.pdf');
    assert.equal(plan('box', ['/home/u/box']), '/home/u/box/report.pdf');
  });

  it('otherwise the path itself, relative to the base directory', () => {
    assert.equal(plan('/srv/new-name.pdf'), '/srv/new-name.pdf');
    assert.equal(plan('copy.pdf'), '/home/u/copy.pdf');
    assert.equal(plan('a/../b.pdf'), '/home/u/b.pdf');
  });

  it('~ is the home directory of the host user', () => {
    assert.equal(resolveHostPath('~'), homedir());
    assert.equal(resolveHostPath('~/x'), join(homedir(), 'x'));
    assert.equal(planDestination('/s/f.txt', '~'), join(homedir(), 'f.txt'));
    assert.equal(planDestination('/s/f.txt', '~/in/'), join(homedir(), 'in', 'f.txt'));
  });

  it('resolveDestination asks the real file system whether the destination is a directory', async () => {
    const d = tmp();
    mkdirSync(join(d, 'sub'));
    assert.equal(await resolveDestination('/x/f.txt', join(d, 'sub')), join(d, 'sub', 'f.txt'));
    assert.equal(await resolveDestination('/x/f.txt', join(d, 'other')), join(d, 'other'));
    assert.equal(await resolveDestination('/x/f.txt', 'sub', d), join(d, 'sub', 'f.txt'));
  });
});

describe('atomic writes and copies', () => {
  it('writes through a temp file, creates parents, keeps mode and mtime, leaves no temp behind', async () => {
    const d = tmp();
    const dest = join(d, 'a', 'b', 'out.bin');
    const mtime = Date.UTC(2020, 0, 2) ;
    const r = await atomicWriteFile(dest, Buffer.from('data'), { mode: 0o600, mtimeMs: mtime });
    assert.deepEqual(r, { overwritten: false });
    assert.equal(readFileSync(dest, 'utf8'), 'data');
    assert.equal(statSync(dest).mode & 0o777, 0o600);
    assert.equal(Math.round(statSync(dest).mtimeMs), mtime);
    assert.deepEqual(readdirSync(join(d, 'a', 'b')), ['out.bin']);
  });

  it('refuses an existing file unless overwrite, and never writes into a directory', async () => {
    const d = tmp();
    const dest = join(d, 'f.txt');
    writeFileSync(dest, 'old');
    await assert.rejects(atomicWriteFile(dest, Buffer.from('new')), /destination already exists/);
    assert.equal(readFileSync(dest, 'utf8'), 'old');
    assert.deepEqual(await atomicWriteFile(dest, Buffer.from('new'), { overwrite: true }), { overwritten: true });
    assert.equal(readFileSync(dest, 'utf8'), 'new');
    await assert.rejects(atomicWriteFile(d, Buffer.from('x'), { overwrite: true }), /destination is a directory/);
    assert.deepEqual(readdirSync(d), ['f.txt'], 'no temp files left after failures');
  });

  it('copies atomically with the same rules, keeping mode and mtime', async () => {
    const d = tmp();
    const src = join(d, 'src.txt');
    writeFileSync(src, 'payload', { mode: 0o640 });
    utimesSync(src, new Date(), new Date(Date.UTC(2021, 5, 6)));
    const dest = join(d, 'copy', 'dst.txt');
    assert.deepEqual(await atomicCopyFile(src, dest), { overwritten: false });
    assert.equal(readFileSync(dest, 'utf8'), 'payload');
    assert.equal(statSync(dest).mode & 0o777, 0o640);
    assert.equal(Math.round(statSync(dest).mtimeMs), Date.UTC(2021, 5, 6));
    await assert.rejects(atomicCopyFile(src, dest), /destination already exists/);
    writeFileSync(src, 'v2');
    assert.deepEqual(await atomicCopyFile(src, dest, { overwrite: true }), { overwritten: true });
    assert.equal(readFileSync(dest, 'utf8'), 'v2');
    assert.deepEqual(readdirSync(join(d, 'copy')), ['dst.txt']);
  });
});

describe('requests and sizes', () => {
  it('fileTransferRequest fills defaults and validates', () => {
    const r = fileTransferRequest({ source_path: '/a', target_host: 'beta' });
    assert.equal(r.mode, 'copy');
    assert.equal(r.dry_run, false);
    assert.equal(r.overwrite, false);
    assert.equal(r.destination_path, '');
    assert.match(r.transfer_id, /^[0-9a-f-]{36}$/);
    assert.equal(fileTransferRequest({ source_path: '/a', target_host: 'b', transfer_id: 't1' }).transfer_id, 't1');
    assert.throws(() => fileTransferRequest({ source_path: '/a', target_host: 'b', mode: 'zip' as never }), /mode must be/);
    assert.throws(() => fileTransferRequest({ source_path: '', target_host: 'b' }), /source_path/);
    assert.throws(() => fileTransferRequest({ source_path: '/a', target_host: '' }), /target_host/);
  });

  it('humanSize uses powers of 1024', () => {
    assert.equal(humanSize(0), '0 B');
    assert.equal(humanSize(1023), '1023 B');
    assert.equal(humanSize(1024), '1.0 KiB');
    assert.equal(humanSize(1.5 * 1024 * 1024), '1.5 MiB');
    assert.equal(humanSize(3 * 1024 ** 3), '3.0 GiB');
  });
});
