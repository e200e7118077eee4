import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, formatSize, parseSize } from '../../src/cli/units.ts';

describe('parseSize', () => {
  it('accepts plain bytes and B', () => {
    assert.equal(parseSize('0'), 0);
    assert.equal(parseSize('512'), 512);
    assert.equal(parseSize('512B'), 512);
    assert.equal(parseSize(' 7 '), 7);
  });

  it('accepts K/M/G, KB/MB/GB and KiB/MiB/GiB as powers of 1024, in any case', () => {
    assert.equal(parseSize('1K'), 1024);
    assert.equal(parseSize('1k'), 1024);
    assert.equal(parseSize('64M'), 64 * 1024 ** 2);
    assert.equal(parseSize('2G'), 2 * 1024 ** 3);
    assert.equal(parseSize('1KB'), 1024);
    assert.equal(parseSize('3mb'), 3 * 1024 ** 2);
    assert.equal(parseSize('1GB'), 1024 ** 3);
    assert.equal(parseSize('512KiB'), 512 * 1024);
    assert.equal(parseSize('1MiB'), 1024 ** 2);
    assert.equal(parseSize('1gib'), 1024 ** 3);
    assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
    assert.equal(parseSize('10 M'), 10 * 1024 ** 2);
  });

  it('accepts none/unlimited only when allowed', () => {
    assert.equal(parseSize('none', { allowUnlimited: true }), null);
    assert.equal(parseSize('Unlimited', { allowUnlimited: true }), null);
    assert.throws(() => parseSize('none'), /invalid size 'none'/);
  });

  it('rejects garbage with a message that lists the units', () => {
    for (const bad of ['', 'M', '-1M', '1X', '1.2.3', '1 Mo', 'abc']) {
      assert.throws(() => parseSize(bad), (err: unknown) => err instanceof Error && err.message.includes(`'${bad}'`) && err.message.includes('KiB'));
    }
    assert.throws(() => parseSize('x', { allowUnlimited: true }), /or 'none'/);
  });
});

describe('formatSize / formatDuration', () => {
  it('formats sizes with one decimal and a 1024 base', () => {
    assert.equal(formatSize(0), '0B');
    assert.equal(formatSize(1023), '1023B');
    assert.equal(formatSize(1024), '1.0K');
    assert.equal(formatSize(1536), '1.5K');
    assert.equal(formatSize(768 * 1024 ** 2), '768.0M');
    assert.equal(formatSize(2 * 1024 ** 3), '2.0G');
    assert.equal(formatSize(5 * 1024 ** 4), '5.0T');
    assert.equal(formatSize(2048 * 1024 ** 4), '2048.0T');
  });

  it('formats durations in s, m, h and d', () => {
    assert.equal(formatDuration(0), '0.0s');
    assert.equal(formatDuration(2.345), '2.3s');
    assert.equal(formatDuration(42), '42s');
    assert.equal(formatDuration(126), '2.1m');
    assert.equal(formatDuration(2 * 3600), '2.0h');
    assert.equal(formatDuration(3 * 86400), '3.0d');
  });
});
