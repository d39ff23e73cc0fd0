// Native gemm on skinny shapes (N or M a LoRA rank, the others large: native/src/k_gemm_skinny.cc) against the
// reference gemm. The shapes reach every skinny path under some transpose combination (row dots, k streams,
// their size limits, odd sizes and tails) and the sgemm fallbacks just outside them; each runs all four
// transposes, beta 0 over NaN garbage and beta 1, and must not depend on the thread count.
import { afterAll, describe, expect, it } from 'vitest';
import { referenceKernels } from '../../src/kernels/index.js';
import { loadNativeKernels, nativeBenchHooks } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { randn, Rng } from './helpers.js';

const native = loadNativeKernels().kernels;
const hooks = nativeBenchHooks();
const threadsBefore = hooks?.info().threads ?? 1;

/** [M, N, K, what it reaches]; "dots" = rows of a against op(b)^T, "stream" = C or C^T streamed over k */
const SHAPES: [number, number, number, string][] = [
  [1023, 7, 577, 'N = 7: dots (!tA), stream (tA); padding, k and column tails'],
  [1024, 8, 576, 'N = 8, the LoRA rank-8 shapes (u = x A^T, du = dY B, dB = dY^T u)'],
  [515, 4, 130, 'N = 4, the lower limit'],
  [1024, 8, 64, 'K = 64, the shortest k handled'],
  [1000, 16, 300, 'N = 16: stream (tA) at its limit, sgemm (!tA)'],
  [700, 17, 300, 'N = 17: sgemm'],
  [1000, 32, 300, 'N = 32: sgemm'],
  [1023, 3, 577, 'N = 3: sgemm'],
  [1023, 1, 577, 'N = 1: sgemm'],
  [7, 1023, 577, 'M = 7: stream (tA !tB, dA = du^T x), dots into C^T (tA tB), decode sgemm (!tA)'],
  [8, 577, 300, 'M = 8: stream and dots (tA) at their limit'],
  [9, 577, 300, 'M = 9: sgemm'],
  [1, 1023, 577, 'M = 1: gemv'],
  [1023, 577, 7, 'K = 7: sgemm'],
];
const COMBOS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

/** c = op(a) @ op(b) with the reference kernels (double sums) */
function refGemm(a: Float32Array, b: Float32Array, batch: number, M: number, N: number, K: number,
  ta: boolean, tb: boolean, strideA: number, strideB: number): Float32Array {
  const c = new Float32Array(batch * M * N);
  referenceKernels.gemm(c, a, b, batch, M, N, K, ta, tb, 0, strideA, strideB);
  return c;
}

/** max over i of |got - want| / (bound + 1e-30), and max |got - want|; NaN anywhere counts as Infinity */
function errors(got: Float32Array, want: ArrayLike<number>, bound: ArrayLike<number>): { rel: number; abs: number } {
  let rel = 0;
  let abs = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= abs)) abs = Number.isNaN(d) ? Infinity : d;
    const r = d / (bound[i] + 1e-30);
    if (!(r <= rel)) rel = Number.isNaN(r) ? Infinity : r;
  }
  return { rel, abs };
}

/** Float32 sums of K products err by at most ~K * 2^-24 * sum |a||b| (in practice far less); a lost or doubled
 *  term would be ~1 relative to that sum. */
const TOL = 2e-5;

/** native gemm (beta 0 over NaN, then beta 1 onto random c) against the reference; returns the max abs diff */
function check(k: Kernels, rng: Rng, batch: number, M: number, N: number, K: number, ta: boolean, tb: boolean,
  strideB: number, what: string): number {
  const a = randn(rng, batch * M * K);
  const b = randn(rng, strideB === 0 ? K * N : batch * K * N);
  const want = refGemm(a, b, batch, M, N, K, ta, tb, M * K, strideB);
  const bound = refGemm(a.map(Math.abs), b.map(Math.abs), batch, M, N, K, ta, tb, M * K, strideB);
  const c = new Float32Array(batch * M * N).fill(NaN);
  k.gemm(c, a, b, batch, M, N, K, ta, tb, 0, M * K, strideB);
  const e0 = errors(c, want, bound);
  expect(e0.rel, `${what} beta 0: max abs diff ${e0.abs}`).toBeLessThanOrEqual(TOL);

  const c0 = randn(rng, batch * M * N);
  const c1 = Float32Array.from(c0);
  k.gemm(c1, a, b, batch, M, N, K, ta, tb, 1, M * K, strideB);
  const e1 = errors(c1, want.map((x, i) => x + c0[i]), bound.map((x, i) => x + Math.abs(c0[i])));
  expect(e1.rel, `${what} beta 1: max abs diff ${e1.abs}`).toBeLessThanOrEqual(TOL);
  return Math.max(e0.abs, e1.abs);
}

describe.skipIf(!native)('native skinny gemm matches the reference gemm', () => {
  const k = native as Kernels;

  it.each(SHAPES)('%i x %i x %i (%s)', (M, N, K) => {
    let worst = 0;
    for (const [ta, tb] of COMBOS)
      worst = Math.max(worst, check(k, new Rng(M * 31 + N * 7 + K), 1, M, N, K, ta, tb, 0, `tA=${+ta} tB=${+tb}`));
    console.log(`gemm ${M}x${N}x${K}: max abs diff ${worst.toExponential(2)} over 4 transposes, beta 0 and 1`);
  });

  it('a weight broadcast over a batch of rows folds into one skinny product', () => {
    for (const tb of [false, true]) check(k, new Rng(5), 4, 256, 8, 576, false, tb, 0, `batch 4 tB=${+tb}`);
  });
});

/** [M, N, K, transA, transB] reaching each skinny path (not the sgemm fallbacks, whose threading is OpenBLAS's) */
const PATHS: [number, number, number, boolean, boolean][] = [
  [1023, 7, 577, false, false], [1024, 8, 576, false, true], [1023, 7, 577, true, false], [1000, 16, 300, true, true],
  [7, 1023, 577, true, false], [8, 577, 300, true, false], [7, 1023, 577, true, true],
];

describe.skipIf(!native || !hooks)('native skinny gemm does not depend on the thread count', () => {
  afterAll(() => hooks?.setThreads(threadsBefore));

  it.each(PATHS)('%i x %i x %i tA=%s tB=%s: 1, 2 and 3 threads give the same bits, call after call',
    (M, N, K, ta, tb) => {
      const rng = new Rng(M + N + K);
      const a = randn(rng, M * K);
      const b = randn(rng, K * N);
      const results = [1, 2, 3, 2].map((threads) => {
        hooks?.setThreads(threads);
        const c = new Float32Array(M * N).fill(NaN);
        (native as Kernels).gemm(c, a, b, 1, M, N, K, ta, tb, 0, 0, 0);
        return c;
      });
      for (const r of results.slice(1)) expect(r).toEqual(results[0]);
    });
});
