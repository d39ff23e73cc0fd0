// The sampler's selection kernels (native/src/k_select.cc against src/kernels/ref/select.ts): topKIds gives the k-th
// largest value (duplicates counted) and every id not below it, in id order, and argmaxF32 the first index of the
// largest value, exactly as the reference does, with ties, NaN, infinities, signed zeros, a row cut short of its
// array and an id list too short for the survivors (the count still says how many there are).
import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../../src/kernels/index.js';
import { loadNativeKernels } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { Rng } from './helpers.js';

const native = loadNativeKernels().kernels;
const impls: Kernels[] = [referenceKernels, ...(native ? [native] : [])];

/** rows of logits: random, many ties, specials sprinkled in, long enough for the vector loops and their tails */
function rows(rng: Rng): Float32Array[] {
  const out: Float32Array[] = [];
  for (const n of [1, 2, 7, 8, 9, 31, 64, 300, 4099]) {
    out.push(Float32Array.from({ length: n }, () => 4 * rng.next() - 2));
    out.push(Float32Array.from({ length: n }, () => Math.floor(6 * rng.next()) / 4 - 0.5)); // ties
    const s = Float32Array.from({ length: n }, () => 10 * rng.next() - 5);
    for (const [i, v] of [[0, NaN], [3, Infinity], [5, -Infinity], [8, -0], [n - 1, 0], [n >> 1, NaN]] as const) if (i < n) s[i] = v;
    out.push(s);
  }
  out.push(Float32Array.of(NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9)); // a NaN first
  out.push(new Float32Array(40).fill(-Infinity));
  return out;
}

describe('topKIds and argmaxF32', () => {
  it.each(impls.map((k) => ({ name: k.name, k })))('$name gives what the reference gives', ({ k }) => {
    const rng = new Rng(5);
    for (const x of rows(rng)) {
      for (const n of [x.length, Math.max(1, x.length - 3)]) {
        expect(k.argmaxF32(x, n), `argmax n ${n}`).toBe(referenceKernels.argmaxF32(x, n));
        for (const kk of [1, 2, 5, 50, n].filter((v) => v <= n)) {
          const [ids, want] = [new Int32Array(n + 1).fill(-1), new Int32Array(n + 1).fill(-1)];
          const [kth, kthWant] = [new Float32Array(1), new Float32Array(1)];
          const count = k.topKIds(ids, kth, x, n, kk);
          expect(count, `n ${n} k ${kk}`).toBe(referenceKernels.topKIds(want, kthWant, x, n, kk));
          expect(Object.is(kth[0], kthWant[0]) || (Number.isNaN(kth[0]) && Number.isNaN(kthWant[0])), `kth n ${n} k ${kk}`).toBe(true);
          expect(Array.from(ids), `ids n ${n} k ${kk}`).toEqual(Array.from(want));
          expect(count).toBeGreaterThanOrEqual(Number.isNaN(kth[0]) ? 0 : Math.min(kk, n));
          // a list with room for two: the first two ids, and the full count
          const short = new Int32Array(2).fill(-1);
          expect(k.topKIds(short, kth, x, n, kk)).toBe(count);
          expect(Array.from(short)).toEqual(Array.from(want.subarray(0, 2)).map((v, i) => (i < count ? v : -1)));
        }
      }
    }
  });

  it('follows the plain definitions on rows without NaN', () => {
    const x = Float32Array.of(3, -1, 7, 7, 2, 7, -0, 0, 5);
    for (const k of impls) {
      expect(k.argmaxF32(x, x.length)).toBe(2); // the first of the ties
      const ids = new Int32Array(9);
      const kth = new Float32Array(1);
      expect(k.topKIds(ids, kth, x, x.length, 4)).toBe(4); // 7, 7, 7, 5
      expect(kth[0]).toBe(5);
      expect(Array.from(ids.subarray(0, 4))).toEqual([2, 3, 5, 8]);
      expect(k.topKIds(ids, kth, x, x.length, 2)).toBe(3); // a tie at the k-th value keeps all its members
      expect(() => k.topKIds(ids, kth, x, x.length, 0)).toThrow(/k/);
      expect(() => k.argmaxF32(x, 20)).toThrow();
    }
  });
});
