// Next-token selection: a closure over the sampling settings (mlx-lm's make_sampler) that turns one row of
// logits [V] into a token id. Order of the warpers follows transformers: repetition penalty, temperature,
// top-k, top-p, min-p; temperature 0 is greedy (argmax after the penalty).
import { ShitateError } from '../errors.js';
import { hash32 } from '../kernels/rng.js';
import { kernels } from '../kernels/index.js';
import { kthLargestHeap } from '../kernels/ref/select.js';

export { kthLargestHeap };

export interface SamplerOptions {
  /** 0 = greedy (default); otherwise logits are divided by it before sampling */
  temperature?: number;
  /** keep the k most likely tokens (ties with the k-th kept too); 0 = off (default) */
  topK?: number;
  /** nucleus: keep the smallest most-likely set whose probability reaches top_p; 1 = off (default) */
  topP?: number;
  /** drop tokens whose probability is below min_p times the most likely one's; 0 = off (default) */
  minP?: number;
  /** HF/CTRL penalty over every id seen (prompt and output): positive logits divided, negative multiplied */
  repetitionPenalty?: number;
  /** seed of the random draws; the same seed and inputs give the same tokens */
  seed?: number;
  /** ids at or above this never come out (a model's embedding is often padded past the tokenizer's vocab) */
  vocabLimit?: number;
}

export type Sampler = (logits: Float32Array, history: readonly number[]) => number;

type Resolved = Required<Omit<SamplerOptions, 'vocabLimit'>> & { vocabLimit: number | null };

function check(ok: boolean, what: string, value: unknown, hint: string): void {
  if (!ok) throw new ShitateError('E_CONFIG', `sampling: expected ${what}, found ${String(value)}`, hint);
}

/** Fills in the neutral defaults and refuses values that have no meaning. */
export function validateSampler(o: SamplerOptions): Resolved {
  const r: Resolved = {
    temperature: o.temperature ?? 0,
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
    minP: o.minP ?? 0,
    repetitionPenalty: o.repetitionPenalty ?? 1,
    seed: o.seed ?? Math.floor(Math.random() * 2 ** 32),
    vocabLimit: o.vocabLimit ?? null,
  };
  check(Number.isFinite(r.temperature) && r.temperature >= 0, 'temperature >= 0', r.temperature, 'use 0 for greedy decoding, 0.1-1.5 to sample');
  check(Number.isInteger(r.topK) && r.topK >= 0, 'top_k to be a whole number >= 0', r.topK, 'use 0 to turn top-k off');
  check(Number.isFinite(r.topP) && r.topP > 0 && r.topP <= 1, 'top_p in (0, 1]', r.topP, 'use 1 to turn top-p off, e.g. 0.9 to sample from the 90% nucleus');
  check(Number.isFinite(r.minP) && r.minP >= 0 && r.minP <= 1, 'min_p in [0, 1]', r.minP, 'use 0 to turn min-p off, e.g. 0.05');
  check(Number.isFinite(r.repetitionPenalty) && r.repetitionPenalty > 0, 'repetition_penalty > 0', r.repetitionPenalty,
    'use 1 for no penalty; values slightly above 1 (1.05-1.2) discourage repeats');
  check(Number.isInteger(r.seed), 'an integer seed', r.seed, 'pass a whole number');
  check(r.vocabLimit === null || (Number.isInteger(r.vocabLimit) && r.vocabLimit > 0), 'vocabLimit > 0', r.vocabLimit,
    'pass the tokenizer\'s vocabulary size');
  return r;
}

/** A seeded stream of uniforms in [0, 1) with 53 bits, from the counter-based hash the kernels share. */
export function seededUniform(seed: number): () => number {
  const s = seed >>> 0;
  let i = 0;
  return () => {
    const hi = hash32(s, i++) >>> 5; // 27 bits
    const lo = hash32(s, i++) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}

/** Returns the sampler closure; its random state advances with each sampled token. */
export function makeSampler(opts: SamplerOptions = {}): Sampler {
  const o = validateSampler(opts);
  const rand = seededUniform(o.seed);
  let buf: Float64Array | null = null; // the float64 logits of the full path, reused token after token
  return (logits, history) => {
    const V = o.vocabLimit === null ? logits.length : Math.min(logits.length, o.vocabLimit);
    // greedy without a penalty reads the logits themselves (their float64 copy compares the same)
    if (o.temperature === 0) return o.repetitionPenalty === 1 ? kernels().argmaxF32(logits, V) : argmax(penalized(logits, history, o));
    if (o.topK > 0 && o.topK < V && o.topK <= HEAP_MAX_K && o.topP === 1 && o.minP === 0) return drawTopK(logits, history, o, rand());
    if (buf?.length !== V) buf = new Float64Array(V);
    return draw(warp(logits, history, o, buf), rand());
  };
}

/** The distribution a sampling (temperature > 0) sampler draws from, normalised: [min(V, vocabLimit)]. */
export function samplingDistribution(logits: Float32Array, history: readonly number[], opts: SamplerOptions): Float64Array {
  const o = validateSampler({ ...opts, seed: opts.seed ?? 0 });
  check(o.temperature > 0, 'temperature > 0 for a distribution', o.temperature, 'greedy decoding has no distribution');
  const p = warp(logits, history, o);
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += p[i];
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/** Logits as float64, cut to the vocabulary limit, with the repetition penalty applied once per seen id (into
 *  `into` when it has the right length). */
function penalized(logits: Float32Array, history: readonly number[], o: Resolved, into?: Float64Array): Float64Array {
  const V = o.vocabLimit === null ? logits.length : Math.min(logits.length, o.vocabLimit);
  const x = into?.length === V ? into : new Float64Array(V);
  x.set(logits.subarray(0, V));
  if (o.repetitionPenalty !== 1) {
    const seen = new Set(history);
    for (const id of seen) {
      if (id < 0 || id >= V) continue;
      x[id] = x[id] > 0 ? x[id] / o.repetitionPenalty : x[id] * o.repetitionPenalty;
    }
  }
  return x;
}

/** Unnormalised probabilities after temperature, top-k, top-p and min-p (0 = removed); written into `into` when
 *  it has the right length. */
function warp(logits: Float32Array, history: readonly number[], o: Resolved, into?: Float64Array): Float64Array {
  const x = penalized(logits, history, o, into);
  for (let i = 0; i < x.length; i++) x[i] /= o.temperature;
  if (o.topK > 0 && o.topK < x.length) {
    const kth = o.topK <= HEAP_MAX_K ? kthLargestHeap(x, o.topK) : kthLargest(x.slice(), o.topK);
    for (let i = 0; i < x.length; i++) if (x[i] < kth) x[i] = -Infinity;
  }
  const p = softmax(x);
  if (o.topP < 1) nucleus(p, o.topP);
  if (o.minP > 0) {
    let top = 0;
    for (let i = 0; i < p.length; i++) top = Math.max(top, p[i]);
    // probabilities are normalised here; after top-p they are not, but the ratio to the top one is the same
    const cut = o.minP * top;
    for (let i = 0; i < p.length; i++) if (p[i] < cut) p[i] = 0;
  }
  return p;
}

function argmax(x: Float64Array | Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

function softmax(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    // a masked (-Infinity) entry is exactly 0 either way; skipping exp() there keeps top-k sampling cheap
    x[i] = x[i] === -Infinity && max !== -Infinity ? 0 : Math.exp(x[i] - max);
    sum += x[i];
  }
  for (let i = 0; i < x.length; i++) x[i] /= sum;
  return x;
}

/**
 * Zeroes everything outside the nucleus: tokens by descending probability until the running sum reaches
 * topP (transformers' TopPLogitsWarper keeps the same set; a tie at the cut keeps all its members). Only
 * probabilities above a threshold are sorted; the threshold drops until they alone reach topP, so they
 * are a prefix of the full order.
 */
function nucleus(p: Float64Array, topP: number): void {
  let top = 0;
  for (let i = 0; i < p.length; i++) top = Math.max(top, p[i]);
  let cand = new Float64Array(0);
  for (let thr = top * 1e-3; ; thr = thr > 1e-30 ? thr * 1e-3 : 0) {
    let n = 0;
    let mass = 0;
    for (let i = 0; i < p.length; i++) {
      if (p[i] >= thr) {
        n++;
        mass += p[i];
      }
    }
    if (mass >= topP || thr === 0) {
      cand = new Float64Array(n);
      n = 0;
      for (let i = 0; i < p.length; i++) if (p[i] >= thr) cand[n++] = p[i];
      break;
    }
  }
  cand.sort(); // ascending, numeric (typed-array sort)
  let cum = 0;
  let cut = cand[cand.length - 1];
  for (let j = cand.length - 1; j >= 0; j--) {
    cum += cand[j];
    cut = cand[j];
    if (cum >= topP) break;
  }
  for (let i = 0; i < p.length; i++) if (p[i] < cut) p[i] = 0;
}

/**
 * warp() then draw() for top-k alone, the usual sampling settings, computed on the k survivors only: the same
 * token for the same inputs, since everything the full path adds for a masked id is an exact 0 (exp(-Infinity)),
 * and the maximum, the sums and the draw visit the survivors in id order as the full path does. Dividing by the
 * temperature is monotone, so the k-th largest scaled value is the k-th largest value scaled.
 */
function drawTopK(logits: Float32Array, history: readonly number[], o: Resolved, u: number): number {
  // without a penalty the float64 copy would hold the same values: read the logits themselves
  const V = o.vocabLimit === null ? logits.length : Math.min(logits.length, o.vocabLimit);
  const T = o.temperature;
  // the ids to look at: the kernels' candidates (one pass over the row), those with x >= the k-th largest x, which
  // within these temperatures are exactly those with x / T >= (k-th largest) / T (dividing keeps distinct float32
  // values distinct and in order), so the same survivors as every id; else every id
  let x: Float32Array | Float64Array;
  let cand: Int32Array | null = null;
  let count: number;
  let kth: number;
  if (o.repetitionPenalty === 1 && T >= SAFE_T[0] && T <= SAFE_T[1]) {
    const K = kernels();
    x = logits;
    count = K.topKIds(topKScratch.cand, topKScratch.kth, logits, V, o.topK);
    if (count > topKScratch.cand.length) {
      topKScratch.cand = new Int32Array(2 * count);
      count = K.topKIds(topKScratch.cand, topKScratch.kth, logits, V, o.topK);
    }
    cand = topKScratch.cand;
    kth = topKScratch.kth[0] / T;
  } else {
    x = o.repetitionPenalty === 1 ? logits.subarray(0, V) : penalized(logits, history, o);
    kth = kthLargestHeap(x, o.topK, topKScratch.heap(o.topK)) / T;
    count = x.length;
  }
  let n = 0; // survivors (k, or more on a tie at the k-th value), in id order, in scratch buffers reused per call
  let max = -Infinity;
  for (let c = 0; c < count; c++) {
    const i = cand ? cand[c] : c;
    const v = x[i] / T;
    if (v < kth) continue;
    const { ids, e } = topKScratch.room(n + 1);
    ids[n] = i;
    e[n++] = v;
    max = Math.max(max, v);
  }
  const { ids, e } = topKScratch;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    e[j] = Math.exp(e[j] - max);
    sum += e[j];
  }
  let total = 0;
  for (let j = 0; j < n; j++) {
    e[j] /= sum;
    total += e[j];
  }
  return ids[inverseCdf(e, total, u, n)];
}

/** Temperatures within which dividing float32 logits by T in float64 neither overflows nor leaves the normal
 *  range, so it keeps every distinct value distinct and in order (drawTopK's kernel path relies on it). */
const SAFE_T = [1e-30, 1e30] as const;

/** drawTopK's buffers, grown as needed: sampling runs one token at a time, so every sampler can share them. */
const topKScratch = {
  cand: new Int32Array(256),
  kth: new Float32Array(1),
  ids: new Int32Array(64),
  e: new Float64Array(64),
  h: new Float64Array(64),
  room(n: number): { ids: Int32Array; e: Float64Array } {
    if (n > this.ids.length) {
      const ids = new Int32Array(2 * n);
      const e = new Float64Array(2 * n);
      ids.set(this.ids);
      e.set(this.e);
      [this.ids, this.e] = [ids, e];
    }
    return this;
  },
  heap(k: number): Float64Array {
    if (k > this.h.length) this.h = new Float64Array(k);
    return this.h;
  },
};

/** Inverse-CDF draw over unnormalised weights, in id order. */
function draw(p: Float64Array, u: number): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += p[i];
  return inverseCdf(p, total, u);
}

/** The index where the running sum of `w` (in order, zeros skipped) first exceeds u * total; the last non-zero
 *  index when rounding leaves the sum short. */
function inverseCdf(w: ArrayLike<number>, total: number, u: number, n = w.length): number {
  const target = u * total;
  let acc = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (w[i] <= 0) continue;
    acc += w[i];
    last = i;
    if (acc > target) return i;
  }
  return last;
}

/** Top-k sizes selected with a heap (one pass over the logits) rather than quickselect (a copy and several passes). */
const HEAP_MAX_K = 256;

/** The k-th largest value of a (a is reordered): quickselect with a three-way partition, so long runs of
 *  equal values (a flat distribution, masked entries) stay linear. */
export function kthLargest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const want = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    // [lo, lt) > pivot, [lt, i) == pivot, (gt, hi] < pivot
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      if (a[i] > pivot) {
        [a[lt], a[i]] = [a[i], a[lt]];
        lt++;
        i++;
      } else if (a[i] < pivot) {
        [a[gt], a[i]] = [a[i], a[gt]];
        gt--;
      } else i++;
    }
    if (want < lt) hi = lt - 1;
    else if (want > gt) lo = gt + 1;
    else return pivot;
  }
  return a[want];
}
