// Paired bootstrap confidence intervals for the difference between two systems that answered the same
// questions (Efron & Tibshirani 1993, ch. 13, percentile interval; Koehn 2004 for paired resampling in
// evaluation): the questions are resampled with replacement, the same draws for both systems and every
// metric, the difference is recomputed per resample, and its quantiles bound the interval. Seeded: the
// same seed and data give the same interval on any machine.
import { Rng } from '../kernels/rng.js';

export interface Interval {
  low: number;
  high: number;
}

export interface BootstrapSettings {
  /** number of resamples */
  resamples: number;
  /** coverage, e.g. 0.95 */
  level: number;
  seed: number;
}

export const BOOTSTRAP_DEFAULTS: BootstrapSettings = { resamples: 1000, level: 0.95, seed: 0 };

/** The resamples: [B * n] question indices in [0, n), row b being resample b. */
export function drawResamples(n: number, s: BootstrapSettings): Int32Array {
  const rng = new Rng((s.seed ^ 0x5bd1e995) >>> 0);
  const out = new Int32Array(s.resamples * n);
  for (let k = 0; k < out.length; k++) out[k] = Math.floor(rng.next() * n);
  return out;
}

/**
 * One metric of both systems per question: values a (system) and b (baseline) with weight w (1, the reference
 * tokens for the loss, 0 where a question has no value); the statistic is f(mean_w a) - f(mean_w b).
 */
export interface PairedSeries {
  a: Float64Array;
  b: Float64Array;
  w: Float64Array;
  /** applied to each weighted mean before the difference (exp turns mean loss into perplexity) */
  f?: (mean: number) => number;
}

function statistic(s: PairedSeries, idx: ArrayLike<number>, from: number, to: number): number | null {
  let sa = 0;
  let sb = 0;
  let sw = 0;
  for (let k = from; k < to; k++) {
    const i = idx[k];
    const w = s.w[i];
    sa += w * s.a[i];
    sb += w * s.b[i];
    sw += w;
  }
  if (sw === 0) return null;
  const f = s.f ?? ((m: number) => m);
  return f(sa / sw) - f(sb / sw);
}

/** Quantile q of sorted values, linear between neighbours (numpy's default). */
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** The percentile interval of the difference; null with fewer than two valued questions. */
export function pairedInterval(s: PairedSeries, draws: Int32Array, n: number, level: number): Interval | null {
  let valued = 0;
  for (let i = 0; i < n; i++) if (s.w[i] > 0) valued++;
  if (valued < 2) return null;
  const stats: number[] = [];
  for (let from = 0; from + n <= draws.length; from += n) {
    const v = statistic(s, draws, from, from + n);
    if (v !== null && Number.isFinite(v)) stats.push(v);
  }
  if (stats.length === 0) return null;
  const sorted = Float64Array.from(stats).sort();
  return { low: quantile(sorted, (1 - level) / 2), high: quantile(sorted, (1 + level) / 2) };
}

/** Whether an interval says the difference is not zero (it lies wholly on one side). */
export function excludesZero(ci: Interval | null): boolean {
  return ci !== null && (ci.low > 0 || ci.high < 0);
}
