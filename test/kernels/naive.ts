// Independent naive formulas the conformance suite checks every kernel implementation against: written
// from the definitions (explicit transposes, materialised masks, value-nearest rounding), not from the kernels.

/** op(x) materialised as a dense [rows, cols] matrix; stored [cols, rows] when trans */
export function materialise(x: ArrayLike<number>, offset: number, rows: number, cols: number, trans: boolean): number[][] {
  const m: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const row: number[] = [];
    for (let j = 0; j < cols; j++) row.push(trans ? x[offset + j * rows + i] : x[offset + i * cols + j]);
    m.push(row);
  }
  return m;
}

export function matmul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0] === undefined ? [] : b[0].map((_, j) => row.reduce((s, v, p) => s + v * b[p][j], 0)));
}

/** erf by Simpson's rule on 2/sqrt(pi) exp(-t^2) over [0, x] (error ~1e-12 for |x| <= 4) */
export function simpsonErf(x: number): number {
  const n = 2000;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * Math.exp(-(i * h) * (i * h));
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
}

export interface AttnSpec {
  B: number; Tq: number; Tk: number; H: number; Hkv: number; D: number;
  scale: number; causal: number; window: number;
  seg: Int32Array | null; alibi: Float32Array | null;
  /** tanh soft-cap of the scaled scores; absent or 0 = none */
  softcap?: number;
}

/** Masking situations every implementation is checked against naiveAttention on (scale = 1/sqrt(D)). */
export const NAIVE_ATTN_SPECS: Array<Omit<AttnSpec, 'scale'>> = [
  { B: 2, Tq: 5, Tk: 5, H: 2, Hkv: 2, D: 8, causal: 1, window: 0, seg: null, alibi: null },
  { B: 1, Tq: 3, Tk: 9, H: 6, Hkv: 2, D: 5, causal: 1, window: 0, seg: null, alibi: null },
  { B: 2, Tq: 7, Tk: 7, H: 2, Hkv: 1, D: 4, causal: 1, window: 3, seg: null, alibi: null },
  { B: 2, Tq: 6, Tk: 6, H: 3, Hkv: 3, D: 4, causal: 1, window: 0,
    seg: Int32Array.from([0, 0, 0, 1, 1, 2, 3, 3, 4, 4, 4, 4]), alibi: null },
  { B: 1, Tq: 4, Tk: 6, H: 4, Hkv: 2, D: 3, causal: 1, window: 4, seg: Int32Array.from([1, 1, 2, 2, 2, 2]),
    alibi: Float32Array.from([0.5, 0.25, 0.125, 0.0625]) },
  { B: 1, Tq: 5, Tk: 5, H: 2, Hkv: 1, D: 6, causal: 0, window: 0, seg: null, alibi: Float32Array.from([0.2, -0.1]) },
  { B: 1, Tq: 4, Tk: 2, H: 2, Hkv: 2, D: 3, causal: 1, window: 0, seg: null, alibi: null }, // 2 queries see no key
  // Gemma 2: scores soft-capped at 0.8 (well inside the range of the random scores, so the cap bites)
  { B: 2, Tq: 6, Tk: 6, H: 4, Hkv: 2, D: 8, causal: 1, window: 3, seg: null, alibi: null, softcap: 0.8 },
];

export function attnLabel(s: Omit<AttnSpec, 'scale'>): string {
  return `B${s.B} Tq${s.Tq} Tk${s.Tk} H${s.H}/${s.Hkv} D${s.D} causal${s.causal} win${s.window}` +
    `${s.seg ? ' seg' : ''}${s.alibi ? ' alibi' : ''}${s.softcap ? ` softcap${s.softcap}` : ''}`;
}

/** Attention from its definition: per (b, h) a full [Tq, Tk] logit matrix with an explicit boolean mask. */
export function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array,
  s: AttnSpec): { out: Float64Array; lse: Float64Array } {
  const { B, Tq, Tk, H, Hkv, D } = s;
  const out = new Float64Array(B * Tq * H * D);
  const lse = new Float64Array(B * H * Tq);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor((h * Hkv) / H); // equals floor(h / (H / Hkv)) when Hkv divides H
      for (let t = 0; t < Tq; t++) {
        const pos = Tk - Tq + t;
        const logits: number[] = [];
        const keys: number[] = [];
        for (let j = 0; j < Tk; j++) {
          const causalOk = s.causal === 0 || j <= pos;
          const windowOk = s.window <= 0 || j > pos - s.window;
          const segOk = s.seg === null || s.seg[b * Tk + j] === s.seg[b * Tk + pos];
          if (!(causalOk && windowOk && segOk)) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[((b * Tq + t) * H + h) * D + d] * k[((b * Tk + j) * Hkv + kvh) * D + d];
          const x = s.softcap ? s.softcap * Math.tanh((s.scale * dot) / s.softcap) : s.scale * dot;
          logits.push(x + (s.alibi ? s.alibi[h] * (j - pos) : 0));
          keys.push(j);
        }
        const li = (b * H + h) * Tq + t;
        if (keys.length === 0) {
          lse[li] = -Infinity;
          continue;
        }
        const max = Math.max(...logits);
        const z = logits.reduce((acc, l) => acc + Math.exp(l - max), 0);
        lse[li] = max + Math.log(z);
        keys.forEach((j, idx) => {
          const p = Math.exp(logits[idx] - max) / z;
          for (let d = 0; d < D; d++) out[((b * Tq + t) * H + h) * D + d] += p * v[((b * Tk + j) * Hkv + kvh) * D + d];
        });
      }
    }
  }
  return { out, lse };
}

/** bf16 bits -> value, from the format (1 sign, 8 exponent bits, bias 127, 7 mantissa bits) */
export function decodeBf16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 0xff) return m === 0 ? sign * Infinity : NaN;
  return e === 0 ? sign * (m / 128) * 2 ** -126 : sign * (1 + m / 128) * 2 ** (e - 127);
}

/** IEEE half bits -> value (1 sign, 5 exponent bits, bias 15, 10 mantissa bits) */
export function decodeF16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  return e === 0 ? sign * (m / 1024) * 2 ** -14 : sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Values of the non-negative finite codes 0..infBits-1 in increasing order, plus the value that the code
 *  infBits would have with an unbounded exponent (the rounding boundary to infinity). */
function table(decode: (h: number) => number, infBits: number, virtualTop: number): Float64Array {
  const t = new Float64Array(infBits + 1);
  for (let h = 0; h < infBits; h++) t[h] = decode(h);
  t[infBits] = virtualTop;
  return t;
}

let bf16Table: Float64Array | null = null;
let f16Table: Float64Array | null = null;

/** The code nearest to x by value, ties to the even code; overflow past the boundary gives infinity. */
function nearest(x: number, t: Float64Array): number {
  const infBits = t.length - 1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= t[infBits]) return sign | infBits;
  let lo = 0; // largest code with t[lo] <= a
  let hi = infBits;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (t[mid] <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - t[lo];
  const dHi = t[lo + 1] - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
  return sign | pick;
}

export function nearestBf16(x: number): number {
  bf16Table ??= table(decodeBf16, 0x7f80, 2 ** 128);
  return nearest(x, bf16Table);
}

export function nearestF16(x: number): number {
  f16Table ??= table(decodeF16, 0x7c00, 65536);
  return nearest(x, f16Table);
}

/** Row m of a [., K] against int8 row n of q, in double: the exact sum and the sum of the products' magnitudes
 *  (what rounding errors scale with). */
export function dotI8(a: ArrayLike<number>, q: Int8Array, m: number, n: number, K: number): { sum: number; mag: number } {
  let sum = 0;
  let mag = 0;
  for (let i = 0; i < K; i++) {
    const p = a[m * K + i] * q[n * K + i];
    sum += p;
    mag += Math.abs(p);
  }
  return { sum, mag };
}
