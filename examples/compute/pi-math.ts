// Chudnovsky series for pi, split into term batches (pure BigInt arithmetic, no I/O).
//
//   1/pi = 12 * sum_k (-1)^k (6k)! (13591409 + 545140134 k) / ((3k)! (k!)^3 640320^(3k + 3/2))
//
// Binary splitting gives every range of terms [a, b) three integers P, Q, T; ranges merge with
//   P = P1 P2,  Q = Q1 Q2,  T = T1 Q2 + P1 T2
// and pi = 426880 sqrt(10005) Q(0, n) / T(0, n). Each term adds ~14.18 digits, so batches of
// terms can be computed anywhere (a compute job each) and merged in order by whoever collects
// them; `PiDigitStream` turns the merged prefix into the digits that are already certain.
//
// Used by `taglets examples pi` (the CLI merges) and by `PiBatchJob` in ./pi.ts (computes).

/** Digits each term adds (14.18 in fact; the plan uses the safe integer). */
export const DIGITS_PER_TERM = 14;
/** Extra digits computed beyond the last requested one. */
export const GUARD_DIGITS = 10;

const C3_OVER_24 = 640320n ** 3n / 24n;

/** P, Q, T of a range of terms. */
export interface PQT {
  p: bigint;
  q: bigint;
  t: bigint;
}

/** A batch: terms [term_start, term_end). */
export interface TermBatch {
  index: number;
  term_start: number;
  term_end: number;
}

/** The wire form of a PQT: hex strings (`-` prefix for negatives). */
export interface PQTHex {
  p: string;
  q: string;
  t: string;
}

/** Terms needed for correct digits up to decimal place `lastPlace` (places after the point). */
export function termsNeeded(lastPlace: number, guard = GUARD_DIGITS): number {
  if (!Number.isInteger(lastPlace) || lastPlace < 0) throw new RangeError(`lastPlace must be an integer >= 0, got ${lastPlace}`);
  return Math.max(1, Math.ceil((lastPlace + guard) / DIGITS_PER_TERM));
}

/** Terms [0, totalTerms) cut into batches of `batchSize` terms (the last may be shorter). */
export function planBatches(totalTerms: number, batchSize: number): TermBatch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be an integer >= 1, got ${batchSize}`);
  const out: TermBatch[] = [];
  for (let a = 0, i = 0; a < totalTerms; a += batchSize, i++) out.push({ index: i, term_start: a, term_end: Math.min(totalTerms, a + batchSize) });
  return out;
}

/** P, Q, T of the single term `a`. */
function leaf(a: number): PQT {
  if (a === 0) return { p: 1n, q: 1n, t: 13591409n };
  const k = BigInt(a);
  const p = (6n * k - 5n) * (2n * k - 1n) * (6n * k - 1n);
  const q = k * k * k * C3_OVER_24;
  const t = p * (13591409n + 545140134n * k);
  return { p, q, t: a % 2 === 1 ? -t : t };
}

/** Merges adjacent ranges [a, m) and [m, b) into [a, b). */
export function mergePQT(left: PQT, right: PQT): PQT {
  return { p: left.p * right.p, q: left.q * right.q, t: left.t * right.q + left.p * right.t };
}

/** P, Q, T of terms [a, b) by binary splitting. */
export function computeTerms(a: number, b: number): PQT {
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b <= a) throw new RangeError(`need integers 0 <= a < b, got [${a}, ${b})`);
  if (b - a === 1) return leaf(a);
  const m = (a + b) >>> 1;
  return mergePQT(computeTerms(a, m), computeTerms(m, b));
}

const toHex = (n: bigint): string => (n < 0n ? `-${(-n).toString(16)}` : n.toString(16));
function fromHex(s: string): bigint {
  if (typeof s !== 'string' || !/^-?[0-9a-f]+$/i.test(s)) throw new TypeError(`not a hex integer: ${JSON.stringify(s)}`);
  return s.startsWith('-') ? -BigInt(`0x${s.slice(1)}`) : BigInt(`0x${s}`);
}

export function pqtToHex(v: PQT): PQTHex {
  return { p: toHex(v.p), q: toHex(v.q), t: toHex(v.t) };
}
export function pqtFromHex(v: PQTHex): PQT {
  return { p: fromHex(v.p), q: fromHex(v.q), t: fromHex(v.t) };
}

/** floor(sqrt(n)) for n >= 0 (Newton's method). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('square root of a negative number');
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** floor(pi_n * 10^places) for the merged prefix `v` = PQT(0, n) (sqrt given or computed). */
export function scaledPi(v: PQT, places: number, sqrt10005 = isqrt(10005n * 10n ** (2n * BigInt(places)))): bigint {
  return (v.q * 426880n * sqrt10005) / v.t;
}

/** "3.1415…" with `places` decimals, computed in one go (for small checks and tests). */
export function piString(places: number): string {
  const digits = scaledPi(computeTerms(0, termsNeeded(places)), places + GUARD_DIGITS).toString();
  return places === 0 ? '3' : `3.${digits.slice(1, 1 + places)}`;
}

/**
 * Turns batches, arriving in any order, into the digits [start, start + digits) of pi, as
 * soon as they are certain: only the contiguous prefix of batches is merged, and digits are
 * released only where the prefix's error bound cannot change them. With `start` 0 the text
 * begins with "3.".
 */
export class PiDigitStream {
  readonly start: number;
  readonly digits: number;
  readonly guard: number;
  readonly totalTerms: number;
  readonly batches: TermBatch[];
  /** Working precision: decimal places of the scaled integer. */
  readonly precision: number;
  #pending = new Map<number, PQT>();
  #merged: PQT | null = null;
  #mergedBatches = 0;
  #mergedTerms = 0;
  /** Decimal places released so far (absolute, so start..released). */
  #released: number;
  #sqrt: bigint | null = null;

  constructor(options: { start?: number; digits: number; batchSize?: number; guard?: number }) {
    const start = options.start ?? 0;
    if (!Number.isInteger(start) || start < 0) throw new RangeError(`start must be an integer >= 0, got ${start}`);
    if (!Number.isInteger(options.digits) || options.digits < 1) throw new RangeError(`digits must be an integer >= 1, got ${options.digits}`);
    this.start = start;
    this.digits = options.digits;
    this.guard = options.guard ?? GUARD_DIGITS;
    this.totalTerms = termsNeeded(start + options.digits, this.guard);
    this.batches = planBatches(this.totalTerms, options.batchSize ?? 1);
    this.precision = start + options.digits + this.guard;
    this.#released = start;
  }

  /** Decimal places after the last requested digit. */
  get end(): number {
    return this.start + this.digits;
  }
  get mergedBatches(): number {
    return this.#mergedBatches;
  }
  get releasedDigits(): number {
    return this.#released - this.start;
  }
  get done(): boolean {
    return this.#released >= this.end;
  }

  /**
   * Adds batch `index`; returns the text that became certain (possibly empty). A batch given
   * twice is ignored.
   */
  add(index: number, value: PQT): string {
    const batch = this.batches[index];
    if (!batch) throw new RangeError(`no batch ${index} (there are ${this.batches.length})`);
    if (index < this.#mergedBatches || this.#pending.has(index)) return '';
    this.#pending.set(index, value);
    let advanced = false;
    while (this.#pending.has(this.#mergedBatches)) {
      const next = this.#pending.get(this.#mergedBatches)!;
      this.#pending.delete(this.#mergedBatches);
      this.#merged = this.#merged ? mergePQT(this.#merged, next) : next;
      this.#mergedTerms = this.batches[this.#mergedBatches]!.term_end;
      this.#mergedBatches++;
      advanced = true;
    }
    return advanced ? this.#release() : '';
  }

  #release(): string {
    const sqrt = (this.#sqrt ??= isqrt(10005n * 10n ** (2n * BigInt(this.precision))));
    const x = scaledPi(this.#merged!, this.precision, sqrt);
    const text = x.toString(); // "3" + precision digits
    let certain: number;
    if (this.#mergedBatches === this.batches.length) {
      certain = this.end; // all terms: the plan's guard digits cover the rest
    } else {
      // |pi - pi_n| < 10^-(14 n - 1) (each term adds > 14.18 digits): digits are certain where
      // x - e and x + e agree (e in units of 10^-precision, plus rounding).
      const exp = this.precision - (DIGITS_PER_TERM * this.#mergedTerms - 1);
      const e = (exp > 0 ? 10n ** BigInt(exp) : 1n) + 2n;
      const lo = (x - e).toString();
      const hi = (x + e).toString();
      let same = 0;
      while (same < lo.length && lo[same] === hi[same]) same++;
      certain = Math.min(this.end, Math.max(0, same - 1), this.precision);
    }
    if (certain <= this.#released) return '';
    const from = this.#released;
    this.#released = certain;
    const body = text.slice(1 + from, 1 + certain);
    return from === 0 && this.start === 0 ? `3.${body}` : body;
  }
}
