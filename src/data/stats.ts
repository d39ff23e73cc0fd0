// Length statistics of the examples (tokens with a model's tokenizer, else characters): total, mean,
// median, 95th percentile, max and a power-of-two histogram; and heavy hitters for bias checks.

export interface Histogram {
  /** Upper bound of each bin (inclusive); the last bin is open (Infinity). */
  upTo: number[];
  counts: number[];
}

export interface LengthStats {
  unit: 'tokens' | 'characters';
  total: number;
  mean: number;
  median: number;
  p95: number;
  max: number;
  histogram: Histogram;
}

const BINS = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, Infinity];
const EXACT = 1 << 16;

/**
 * Counts how many examples have each length (exact up to 65,535; longer ones listed), so the
 * median and 95th percentile are exact without keeping one number per example.
 */
export class LengthCounter {
  private readonly counts = new Float64Array(EXACT);
  private readonly long: number[] = [];
  n = 0;
  total = 0;
  max = 0;

  add(len: number): void {
    const v = Math.max(0, Math.floor(len));
    if (v < EXACT) this.counts[v]++;
    else this.long.push(v);
    this.n++;
    this.total += v;
    if (v > this.max) this.max = v;
  }

  /** The value at rank k (0-based) in sorted order. */
  private atRank(k: number): number {
    let seen = 0;
    for (let v = 0; v < EXACT; v++) {
      seen += this.counts[v];
      if (seen > k) return v;
    }
    return [...this.long].sort((a, b) => a - b)[k - seen] ?? this.max;
  }

  stats(unit: LengthStats['unit']): LengthStats {
    const n = this.n;
    const counts = BINS.map(() => 0);
    let lo = 0;
    BINS.forEach((up, b) => {
      for (let v = lo; v <= Math.min(up, EXACT - 1); v++) counts[b] += this.counts[v];
      lo = Number.isFinite(up) ? up + 1 : lo;
    });
    counts[BINS.length - 1] += this.long.length;
    const at = (q: number): number => (n === 0 ? 0 : this.atRank(Math.min(n - 1, Math.floor(q * (n - 1) + 0.5))));
    return {
      unit, total: this.total, mean: n ? Math.round((this.total / n) * 10) / 10 : 0,
      median: at(0.5), p95: at(0.95), max: this.max,
      histogram: { upTo: BINS, counts },
    };
  }
}

/**
 * Misra-Gries frequent items (1982): with k counters, every item seen more than n/(k+1) times is kept,
 * and its count is low by at most n/(k+1). Memory stays at k entries however many distinct items come.
 */
export class HeavyHitters {
  private readonly counts = new Map<number, { count: number; sample: string; tag: number }>();
  n = 0;

  constructor(private readonly k = 64) {}

  /** `tag` travels with the item (e.g. the hash of a wording several exact answers share). */
  add(key: number, sample: () => string, tag = 0): void {
    this.n++;
    const c = this.counts.get(key);
    if (c) { c.count++; return; }
    if (this.counts.size < this.k) { this.counts.set(key, { count: 1, sample: sample(), tag }); return; }
    for (const [kk, v] of this.counts) {
      if (--v.count === 0) this.counts.delete(kk);
    }
  }

  /** Items whose (lower-bound) count is at least `min`, most frequent first. */
  top(min: number): { key: number; count: number; sample: string; tag: number }[] {
    return [...this.counts].map(([key, v]) => ({ key, ...v })).filter((v) => v.count >= min).sort((a, b) => b.count - a.count);
  }
}
