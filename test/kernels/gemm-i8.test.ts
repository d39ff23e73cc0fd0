// gemmI8 (inference against int8 weights with a float32 scale per output row) on every implementation, against a
// double-precision product of the same integers: decode rows (M <= 8, the native one-pass kernel), more rows (the
// widened blocks on sgemm), K with and without a tail past 16, overwrite and accumulate.
import { describe, expect, it } from 'vitest';
import { nativeStatus, referenceKernels } from '../../src/kernels/index.js';
import type { Kernels } from '../../src/kernels/types.js';
import { randn, Rng } from './helpers.js';
import { dotI8 } from './naive.js';

const native = nativeStatus().kernels;
const impls: Kernels[] = native ? [referenceKernels, native] : [referenceKernels];

const SHAPES: [number, number, number][] = [[1, 1, 1], [1, 257, 600], [2, 33, 64], [4, 17, 16], [5, 9, 35], [8, 70, 1030], [9, 40, 70], [37, 129, 33], [64, 300, 96]];

describe.each(impls.map((k) => [k.name, k] as const))('gemmI8 (%s)', (_name, k) => {
  it.each(SHAPES)('M %i, N %i, K %i: the integer sums, scaled per row', (M, N, K) => {
    const rng = new Rng(M * 1000 + N + K);
    const a = Float32Array.from(randn(rng, M * K));
    const q = Int8Array.from({ length: N * K }, () => Math.round((rng.next() * 2 - 1) * 127));
    const scale = Float32Array.from({ length: N }, () => 0.001 + rng.next() * 0.02);
    const c0 = Float32Array.from(randn(rng, M * N));
    for (const beta of [0, 1]) {
      const c = c0.slice();
      k.gemmI8(c, a, q, scale, M, N, K, beta);
      let worst = 0;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          const { sum, mag } = dotI8(a, q, m, n, K);
          const want = sum * scale[n] + (beta ? c0[m * N + n] : 0);
          worst = Math.max(worst, Math.abs(c[m * N + n] - want) / (mag * scale[n] + 1e-3));
        }
      }
      expect(worst).toBeLessThan(1e-6);
    }
  });
});

describe('quantizeRowsI8', () => {
  it('native and reference give the same integers and scales, ties and zero rows included', () => {
    const rng = new Rng(21);
    const [rows, cols] = [33, 70];
    const w = Float32Array.from(randn(rng, rows * cols));
    w.fill(0, 5 * cols, 6 * cols); // a zero row
    // a row of exact half steps: 127 sets the scale to 1, then 0.5, -0.5, 2.5, -2.5 are ties
    w.set([127, 0.5, -0.5, 2.5, -2.5, 126.5], 7 * cols);
    const out = impls.map((k) => {
      const q = new Int8Array(rows * cols);
      const scale = new Float32Array(rows);
      k.quantizeRowsI8(q, scale, w, rows, cols);
      return { q, scale };
    });
    for (const o of out.slice(1)) {
      expect(Array.from(o.q)).toEqual(Array.from(out[0].q));
      expect(Array.from(o.scale)).toEqual(Array.from(out[0].scale));
    }
    expect(Array.from(out[0].q.subarray(7 * cols, 7 * cols + 6))).toEqual([127, 1, -1, 3, -3, 127]);
    expect(out[0].scale[5]).toBe(0);
  });
});
