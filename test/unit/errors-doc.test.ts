import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorFromWire, errorTypes } from '../../src/core/errors.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `(\w+)` \| (\d+) \| (yes|no) \|/gm)].map((m) => [m[1]!, { status: Number(m[2]), retryable: m[3] === 'yes' }]),
);

test('docs/errors.md lists every error type with its status and retryability', () => {
  for (const type of errorTypes) {
    const row = rows.get(type);
    assert.ok(row, `docs/errors.md has no row for ${type}`);
    const err = errorFromWire({ error_type: type, error: 'x' });
    assert.equal(row.status, err.status, `status of ${type}`);
    assert.equal(row.retryable, err.retryable, `retryable of ${type}`);
  }
  for (const type of rows.keys()) assert.ok(errorTypes.includes(type), `docs/errors.md lists unknown type ${type}`);
});
