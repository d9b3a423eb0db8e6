/**
 * A small log-linear latency histogram (HdrHistogram-like, 64 sub-buckets per power of
 * two, so a recorded value is off by at most 1/64 ≈ 1.6 %). Values are microseconds.
 * It serialises to a plain array so client workers can send it over IPC and the
 * harness can merge the histograms of several workers.
 */

const SUB_BITS = 6;
const SUB = 1 << SUB_BITS; // 64 sub-buckets per power of two
const MAX_POW = 40; // up to 2^40 µs (~12 days): far beyond any request

/** Latency histogram in microseconds. */
export class Histogram {
  readonly counts: number[];
  total = 0;
  max = 0;
  sum = 0;

  constructor(counts?: readonly number[]) {
    this.counts = counts ? [...counts] : new Array<number>((MAX_POW + 1) * SUB).fill(0);
    if (counts) for (const c of counts) this.total += c;
  }

  /** Records one value (µs, rounded down to an integer ≥ 0). */
  record(micros: number): void {
    const v = Math.max(0, Math.floor(micros));
    const idx = indexOf(v);
    this.counts[idx] = (this.counts[idx] ?? 0) + 1;
    this.total++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Adds another histogram's counts into this one. */
  merge(other: Histogram): void {
    for (let i = 0; i < other.counts.length; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.total += other.total;
    this.sum += other.sum;
    this.max = Math.max(this.max, other.max);
  }

  /** The value at quantile q (0..1), in µs: the upper edge of the bucket holding it. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(upperEdge(i), this.max);
    }
    return this.max;
  }

  /** A JSON-safe form (sparse) for IPC. */
  toJSON(): SerializedHistogram {
    const buckets: [number, number][] = [];
    this.counts.forEach((c, i) => {
      if (c > 0) buckets.push([i, c]);
    });
    return { buckets, max: this.max, sum: this.sum };
  }

  /** Rebuilds a histogram from {@link Histogram.toJSON}. */
  static from(s: SerializedHistogram): Histogram {
    const h = new Histogram();
    for (const [i, c] of s.buckets) {
      h.counts[i] = c;
      h.total += c;
    }
    h.max = s.max;
    h.sum = s.sum;
    return h;
  }
}

/** The wire form of a {@link Histogram}. */
export interface SerializedHistogram {
  buckets: [number, number][];
  max: number;
  sum: number;
}

function indexOf(v: number): number {
  if (v < SUB) return v;
  const pow = Math.min(MAX_POW, Math.floor(Math.log2(v)));
  const shift = pow - SUB_BITS;
  const sub = Math.floor(v / 2 ** shift) - SUB; // 0..63
  return (pow - SUB_BITS + 1) * SUB + Math.min(SUB - 1, sub);
}

function upperEdge(i: number): number {
  if (i < SUB) return i;
  const block = Math.floor(i / SUB); // = pow - SUB_BITS + 1
  const sub = i % SUB;
  const shift = block - 1;
  return (SUB + sub + 1) * 2 ** shift - 1;
}
