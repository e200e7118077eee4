import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BINARY_TAG, decode, encode, fromWire, toWire } from '../../src/core/codec.ts';
import { SerializationError } from '../../src/core/errors.ts';

/** Asserts `fn` throws a SerializationError whose message names `path`. */
function throwsAt(fn: () => unknown, path: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SerializationError, `expected SerializationError, got ${String(err)}`);
    assert.equal(err.errorType, 'SerializationError');
    assert.ok(err.message.startsWith(`${path}:`), `message '${err.message}' should start with '${path}:'`);
    return true;
  });
}

describe('codec', () => {
  it('tags binary values as {"__taglets_binary__": base64}', () => {
    assert.equal(BINARY_TAG, '__taglets_binary__');
    const wire = toWire({ data: new Uint8Array([1, 2, 3, 255]) });
    assert.deepEqual(wire, { data: { __taglets_binary__: Buffer.from([1, 2, 3, 255]).toString('base64') } });
    assert.equal(encode(Buffer.from('hi')), '{"__taglets_binary__":"aGk="}');
  });

  it('round-trips Uint8Array and Buffer nested in objects and arrays', () => {
    const bytes = new Uint8Array(300).map((_, i) => i % 256);
    const value = {
      a: bytes,
      b: [Buffer.from('xyz'), { deep: [new Uint8Array(0)] }],
      c: 'text',
      n: 42,
      nil: null,
      t: true,
    };
    const back = decode(encode(value)) as typeof value;
    assert.ok(Buffer.isBuffer(back.a));
    assert.deepEqual([...back.a], [...bytes]);
    assert.ok(Buffer.isBuffer(back.b[0]));
    assert.equal((back.b[0] as Buffer).toString(), 'xyz');
    const deep = (back.b[1] as { deep: Uint8Array[] }).deep[0]!;
    assert.ok(Buffer.isBuffer(deep));
    assert.equal(deep.length, 0);
    assert.equal(back.c, 'text');
    assert.equal(back.n, 42);
    assert.equal(back.nil, null);
    assert.equal(back.t, true);
  });

  it('encodes only the view of a sliced Uint8Array, not its whole buffer', () => {
    const whole = new Uint8Array([9, 8, 7, 6, 5]);
    const back = decode(encode(whole.subarray(1, 3))) as Buffer;
    assert.deepEqual([...back], [8, 7]);
  });

  it('leaves objects that merely contain the tag among other keys alone', () => {
    const value = { [BINARY_TAG]: 'AAAA', other: 1 };
    assert.deepEqual(fromWire(structuredClone(value)), value);
  });

  it('turns Date into its ISO string', () => {
    const d = new Date('2024-05-06T07:08:09.010Z');
    assert.equal(toWire(d), '2024-05-06T07:08:09.010Z');
    assert.deepEqual(decode(encode({ at: d })), { at: '2024-05-06T07:08:09.010Z' });
  });

  it('drops undefined properties and turns undefined array items into null', () => {
    assert.equal(encode({ a: undefined, b: [undefined, 1] }), '{"b":[null,1]}');
  });

  it('rejects bigint, function and symbol values, naming the path', () => {
    throwsAt(() => toWire({ a: { b: 10n } }), '$.a.b');
    throwsAt(() => toWire([1, () => 1]), '$[1]');
    throwsAt(() => encode({ s: Symbol('x') }), '$.s');
  });

  it('rejects cycles, naming the path where the cycle closes', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = { back: a };
    throwsAt(() => toWire(a), '$.self.back');
    const list: unknown[] = [];
    list.push(list);
    throwsAt(() => encode(list), '$[0]');
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    assert.deepEqual(toWire({ a: shared, b: shared }), { a: { x: 1 }, b: { x: 1 } });
  });

  it('rejects non-finite numbers', () => {
    throwsAt(() => toWire({ n: Number.NaN }), '$.n');
    throwsAt(() => toWire([Number.POSITIVE_INFINITY]), '$[0]');
    throwsAt(() => encode(Number.NEGATIVE_INFINITY), '$');
  });
});
