/**
 * Wire codec: JSON with binary values tagged as `{"__taglets_binary__": "<base64>"}`.
 * `Uint8Array` and `Buffer` (and any ArrayBuffer view) round-trip; they come back as `Buffer`,
 * which is a `Uint8Array`. Values JSON cannot carry (functions, symbols, bigints, cycles)
 * fail with a {@link SerializationError} naming the path, instead of vanishing silently.
 */
import { SerializationError } from './errors.ts';

export const BINARY_TAG = '__taglets_binary__';

/** Converts a value into plain JSON-compatible data, tagging binary values. */
export function toWire(value: unknown, path = '$', seen: Set<object> = new Set()): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SerializationError(`${path}: ${value} is not a finite number`);
    return value;
  }
  if (value === undefined) return undefined;
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    throw new SerializationError(`${path}: a ${typeof value} cannot be serialized; use JSON values or Uint8Array`);
  }
  if (ArrayBuffer.isView(value)) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { [BINARY_TAG]: bytes.toString('base64') };
  }
  if (value instanceof ArrayBuffer) return { [BINARY_TAG]: Buffer.from(value).toString('base64') };
  if (value instanceof Date) return value.toISOString();
  const obj = value as object;
  if (seen.has(obj)) throw new SerializationError(`${path}: circular reference`);
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return obj.map((item, i) => toWire(item, `${path}[${i}]`, seen) ?? null);
    if (obj instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of obj) out[String(k)] = toWire(v, `${path}.${String(k)}`, seen);
      return out;
    }
    if (obj instanceof Set) return [...obj].map((item, i) => toWire(item, `${path}[${i}]`, seen) ?? null);
    const toJSON = (obj as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === 'function') return toWire(toJSON.call(obj), path, seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const encoded = toWire(v, `${path}.${k}`, seen);
      if (encoded !== undefined) out[k] = encoded;
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

/** Restores tagged binary values (as Buffer) in data parsed from JSON. Mutates arrays/objects in place. */
export function fromWire(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromWire(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  const tagged = record[BINARY_TAG];
  if (typeof tagged === 'string') {
    let keys = 0;
    for (const _ in record) if (++keys > 1) break;
    if (keys === 1) return Buffer.from(tagged, 'base64');
  }
  for (const k in record) record[k] = fromWire(record[k]);
  return record;
}

/** JSON text of a value with binary tagging. */
export function encode(value: unknown): string {
  return JSON.stringify(toWire(value) ?? null);
}

/** Parses JSON text and restores binary values. */
export function decode(text: string): unknown {
  return fromWire(JSON.parse(text));
}
