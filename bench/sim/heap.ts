/** A binary min-heap of events ordered by (time, insertion order): ties run first-in first-out. */
export interface Timed {
  t: number;
  seq: number;
}

/** An event as pushed: everything but the sequence number (distributes over unions). */
export type Unsequenced<E> = E extends Timed ? Omit<E, 'seq'> : never;

export class EventQueue<E extends Timed> {
  readonly #items: E[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  push(event: Unsequenced<E>): void {
    const e = { ...event, seq: this.#seq++ } as E;
    const a = this.#items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): E | undefined {
    const a = this.#items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(x: Timed, y: Timed): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq);
}
