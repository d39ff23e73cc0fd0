// gemmBf16 (mixed-precision GEMM against bf16 weights) on every implementation: a rounded to the nearest bf16,
// b read as bf16, products summed in float32 or better. Checked against a naive double-precision product of
// the rounded values, independently of the kernels' own conversion code.
import { describe, expect, it } from 'vitest';
import { nativeStatus, referenceKernels } from '../../src/kernels/index.js';
import type { Kernels } from '../../src/kernels/types.js';
import { maxRelErr, randn, Rng } from './helpers.js';
import { decodeBf16, nearestBf16 } from './naive.js';

const native = nativeStatus().kernels;
const impls: Kernels[] = native ? [referenceKernels, native] : [referenceKernels];

/** the bf16 value nearest to x (ties to even) */
const roundBf16 = (x: number): number => decodeBf16(nearestBf16(x));

/** random bf16 matrix: bit patterns and their values */
function randomBf16(rng: Rng, n: number): { bits: Uint16Array; values: number[] } {
  const bits = Uint16Array.from(randn(rng, n), (v) => nearestBf16(v));
  return { bits, values: Array.from(bits, decodeBf16) };
}

/** c = op(round(a)) @ op(b) + beta * c in double precision */
function naive(c0: Float32Array, a: Float32Array, b: number[], M: number, N: number, K: number,
  ta: boolean, tb: boolean, beta: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s += roundBf16(a[ta ? p * M + i : i * K + p]) * b[tb ? j * K + p : p * N + j];
      out[i * N + j] = beta === 0 ? s : s + c0[i * N + j];
    }
  }
  return out;
}

const SHAPES: [number, number, number, boolean, boolean][] = [
  [1, 1, 1, false, false], [3, 5, 7, false, true], [17, 33, 65, true, false], [64, 48, 96, true, true],
  [37, 129, 70, false, true], [130, 20, 257, false, false], [2, 300, 31, false, true],
  // decode rows (M <= 8 against [N, K] weights: the native one-pass kernel), with and without a tail past 16
  [1, 257, 600, false, true], [4, 17, 16, false, true], [5, 33, 64, false, true], [8, 70, 1030, false, true],
  [3, 1100, 48, false, true], [6, 9, 33, false, true], [7, 40, 15, false, true], [9, 40, 100, false, true],
  [2, 4100, 1030, false, true], // over 4M weights: the rows split across threads
];

describe.each(impls.map((k) => ({ name: k.name, k })))('$name gemmBf16', ({ k }) => {
  it.each(SHAPES)('%i x %i x %i (transA %s, transB %s), overwrite and accumulate', (M, N, K, ta, tb) => {
    const rng = new Rng(M * 1000 + N * 10 + K);
    const a = randn(rng, M * K);
    const b = randomBf16(rng, K * N);
    for (const beta of [0, 1]) {
      const c = beta === 0 ? new Float32Array(M * N).fill(NaN) : randn(rng, M * N); // beta 0 ignores old NaN
      const want = naive(c, a, b.values, M, N, K, ta, tb, beta);
      k.gemmBf16(c, a, b.bits, M, N, K, ta, tb, beta);
      const err = maxRelErr(c, want, 1);
      expect(err, `beta ${beta}: scaled error ${err}`).toBeLessThanOrEqual(1e-5 * Math.sqrt(K));
    }
  });

  it('rounds a to bf16 (nearest even) before multiplying, unlike the float32 gemm', () => {
    // bf16 keeps 7 mantissa bits, so its spacing at 1 is 2^-7: 1 + 2^-9 rounds down to 1 and 1 + 3 * 2^-9 up
    // to 1 + 2^-7 (both exact in float32, where the float32 gemm would keep them).
    const a = Float32Array.from([1 + 2 ** -9, 1 + 3 * 2 ** -9]);
    const one = Uint16Array.of(0x3f80);
    const c = new Float32Array(2);
    k.gemmBf16(c, a, one, 2, 1, 1, false, false, 0);
    expect(Array.from(c)).toEqual([1, 1 + 2 ** -7]);
  });

  it('an empty sum (K = 0) gives beta * c', () => {
    const c = Float32Array.from([NaN, 5]);
    k.gemmBf16(c, new Float32Array(0), new Uint16Array(0), 1, 2, 0, false, false, 0);
    expect(Array.from(c)).toEqual([0, 0]);
    const d = Float32Array.from([2, 3]);
    k.gemmBf16(d, new Float32Array(0), new Uint16Array(0), 2, 1, 0, false, true, 1);
    expect(Array.from(d)).toEqual([2, 3]);
  });
});

describe.skipIf(!native)('native gemmBf16', () => {
  it('names how it runs and rejects short buffers and other betas', () => {
    const info = nativeStatus().info;
    expect(['onednn', 'emulated']).toContain(info?.bf16Gemm);
    console.log(`gemmBf16 runs on: ${info?.bf16Gemm}`);
    const k = native as Kernels;
    const c = new Float32Array(4);
    expect(() => k.gemmBf16(c, new Float32Array(4), new Uint16Array(3), 2, 2, 2, false, false, 0)).toThrow(/gemmBf16.*b/);
    expect(() => k.gemmBf16(c, new Float32Array(4), new Uint16Array(4), 2, 2, 2, false, false, 0.5)).toThrow(/beta/);
  });

  it('agrees with the reference on a training-sized product', () => {
    const rng = new Rng(7);
    const [M, N, K] = [256, 192, 576];
    const a = randn(rng, M * K);
    const b = randomBf16(rng, N * K);
    const got = new Float32Array(M * N);
    const want = new Float32Array(M * N);
    (native as Kernels).gemmBf16(got, a, b.bits, M, N, K, false, true, 0);
    referenceKernels.gemmBf16(want, a, b.bits, M, N, K, false, true, 0);
    expect(maxRelErr(got, want, 1)).toBeLessThanOrEqual(1e-4);
  });
});
