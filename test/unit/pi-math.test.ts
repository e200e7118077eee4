/** The Chudnovsky batch math of the pi example: pure BigInt functions, no hosts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DIGITS_PER_TERM,
  GUARD_DIGITS,
  PiDigitStream,
  computeTerms,
  isqrt,
  mergePQT,
  piString,
  planBatches,
  pqtFromHex,
  pqtToHex,
  termsNeeded,
} from '../../examples/compute/pi-math.ts';

/** pi to 200 decimal places (checked against a Machin-formula computation). */
const PI_200 =
  '3.' +
  '14159265358979323846264338327950288419716939937510' +
  '58209749445923078164062862089986280348253421170679' +
  '82148086513282306647093844609550582231725359408128' +
  '48111745028410270193852110555964462294895493038196';

/** A deterministic shuffle (mulberry32), so failures reproduce. */
function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const r = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs a stream with batches arriving in `order`; returns the text and the chunk sizes. */
function run(stream: PiDigitStream, order: number[]): { text: string; chunks: number[] } {
  let text = '';
  const chunks: number[] = [];
  for (const i of order) {
    const b = stream.batches[i]!;
    const t = stream.add(i, computeTerms(b.term_start, b.term_end));
    if (t) chunks.push(t.length);
    text += t;
  }
  return { text, chunks };
}

describe('pi math: plan', () => {
  it('14 digits per term and 10 guard digits decide the number of terms', () => {
    assert.equal(DIGITS_PER_TERM, 14);
    assert.equal(GUARD_DIGITS, 10);
    assert.equal(termsNeeded(60), 5); // ceil(70 / 14)
    assert.equal(termsNeeded(4), 1);
    assert.equal(termsNeeded(0), 1);
    assert.equal(termsNeeded(200), 15);
    assert.throws(() => termsNeeded(-1), RangeError);
  });

  it('batches cover [0, terms) contiguously; the last may be shorter', () => {
    assert.deepEqual(planBatches(5, 2), [
      { index: 0, term_start: 0, term_end: 2 },
      { index: 1, term_start: 2, term_end: 4 },
      { index: 2, term_start: 4, term_end: 5 },
    ]);
    assert.equal(planBatches(7, 1).length, 7);
    assert.deepEqual(planBatches(3, 10), [{ index: 0, term_start: 0, term_end: 3 }]);
    assert.throws(() => planBatches(3, 0), RangeError);
  });
});

describe('pi math: binary splitting', () => {
  it('the first terms have the known P, Q, T', () => {
    assert.deepEqual(computeTerms(0, 1), { p: 1n, q: 1n, t: 13591409n });
    // term 1: P = (6-5)(2-1)(6-1) = 5, Q = 640320^3 / 24, T = -P (13591409 + 545140134)
    assert.deepEqual(computeTerms(1, 2), { p: 5n, q: 640320n ** 3n / 24n, t: -5n * 558731543n });
  });

  it('merging adjacent ranges equals splitting the whole range', () => {
    const whole = computeTerms(0, 9);
    assert.deepEqual(mergePQT(computeTerms(0, 4), computeTerms(4, 9)), whole);
    assert.deepEqual(mergePQT(mergePQT(computeTerms(0, 1), computeTerms(1, 5)), computeTerms(5, 9)), whole);
    assert.deepEqual(computeTerms(3, 7), mergePQT(computeTerms(3, 5), computeTerms(5, 7)));
    assert.throws(() => computeTerms(3, 3), RangeError);
  });

  it('hex wire form round-trips, negatives included', () => {
    const v = computeTerms(1, 4);
    assert.ok(v.t < 0n);
    const hex = pqtToHex(v);
    assert.match(hex.t, /^-[0-9a-f]+$/);
    assert.deepEqual(pqtFromHex(hex), v);
    assert.throws(() => pqtFromHex({ p: 'xyz', q: '1', t: '1' }), TypeError);
  });

  it('isqrt is the floor square root', () => {
    for (const n of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, 10n ** 40n, 10n ** 41n + 12345n]) {
      const r = isqrt(n);
      assert.ok(r * r <= n && (r + 1n) * (r + 1n) > n, `isqrt(${n}) = ${r}`);
    }
  });

  it('computes the first 200 digits of pi', () => {
    assert.equal(piString(200), PI_200);
    assert.equal(piString(60), PI_200.slice(0, 62));
    assert.equal(piString(1), '3.1');
  });
});

describe('pi math: digit stream', () => {
  it('batches in order release the digits progressively, ending with exactly the requested text', () => {
    const s = new PiDigitStream({ digits: 200, batchSize: 1 });
    assert.equal(s.batches.length, 15);
    const { text, chunks } = run(s, s.batches.map((b) => b.index));
    assert.equal(text, PI_200);
    assert.ok(chunks.length >= 10, `digits flow out as batches merge: ${chunks}`);
    assert.ok(s.done);
    assert.equal(s.releasedDigits, 200);
  });

  it('any arrival order and batch size gives the same text; nothing leaks before batch 0', () => {
    for (const [batchSize, seed] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [7, 4],
      [20, 5],
    ] as const) {
      const s = new PiDigitStream({ digits: 200, batchSize });
      const order = shuffled(s.batches.map((b) => b.index), seed);
      const first = order.indexOf(0);
      let text = '';
      order.forEach((i, k) => {
        const b = s.batches[i]!;
        const t = s.add(i, computeTerms(b.term_start, b.term_end));
        if (k < first) assert.equal(t, '', 'no digits before the first batch');
        text += t;
      });
      assert.equal(text, PI_200, `batch size ${batchSize}`);
    }
  });

  it('--start skips the leading digits (no "3.")', () => {
    const s = new PiDigitStream({ start: 100, digits: 50, batchSize: 2 });
    assert.equal(run(s, s.batches.map((b) => b.index).reverse()).text, PI_200.slice(102, 152));
    const one = new PiDigitStream({ start: 0, digits: 1 });
    assert.equal(run(one, [0]).text, '3.1');
  });

  it('a batch given twice is ignored; an unknown batch is an error', () => {
    const s = new PiDigitStream({ digits: 30 });
    const b0 = computeTerms(0, 1);
    const first = s.add(0, b0);
    assert.ok(first.startsWith('3.14159'));
    assert.equal(s.add(0, b0), '');
    assert.throws(() => s.add(99, b0), RangeError);
  });

  it('released digits are always a prefix of the truth, batch by batch', () => {
    const s = new PiDigitStream({ digits: 190, batchSize: 1 });
    let text = '';
    for (const b of s.batches) {
      text += s.add(b.index, computeTerms(b.term_start, b.term_end));
      assert.ok(PI_200.startsWith(text), `after batch ${b.index}: ${text}`);
    }
    assert.equal(text, PI_200.slice(0, 192));
  });
});
