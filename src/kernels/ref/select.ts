// Selection over one row of logits for the sampler: the top-k survivors (Kernels.topKIds) and the greedy argmax
// (Kernels.argmaxF32). The heap here is the sampler's own way of finding the k-th largest value; the native kernels
// (native/src/k_select.cc) give exactly these results.
import type { FA } from './types.js';

/** The k-th largest value of a, duplicates counted (what kthLargest returns), for k <= a.length: a min-heap of the
 *  k largest values seen so far; a is not changed. NaN never enters the heap (as with quickselect, no order). */
export function kthLargestHeap(a: Float64Array | Float32Array, k: number, scratch?: Float64Array): number {
  const h = scratch && scratch.length >= k ? scratch : new Float64Array(k);
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (n < k) {
      let j = n++; // sift up
      while (j > 0 && h[(j - 1) >> 1] > v) {
        h[j] = h[(j - 1) >> 1];
        j = (j - 1) >> 1;
      }
      h[j] = v;
    } else if (v > h[0]) {
      let j = 0; // replace the smallest and sift down
      for (;;) {
        const l = 2 * j + 1;
        if (l >= k) break;
        const c = l + 1 < k && h[l + 1] < h[l] ? l + 1 : l;
        if (h[c] >= v) break;
        h[j] = h[c];
        j = c;
      }
      h[j] = v;
    }
  }
  return h[0];
}

/** Kernels.topKIds: kth[0] = the k-th largest of x[0, n), ids = the i with !(x[i] < kth) in id order (at most
 *  ids.length written); returns how many there are. */
export function topKIds(ids: Int32Array, kth: FA, x: FA, n: number, k: number): number {
  if (!(Number.isInteger(k) && k >= 1 && k <= n) || x.length < n || kth.length < 1) {
    throw new Error(`topKIds: k must be in 1..n and x hold n values, got k ${k}, n ${n}, ${x.length} values`);
  }
  const t = kthLargestHeap(n === x.length ? x : x.subarray(0, n), k);
  kth[0] = t;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (x[i] < t) continue;
    if (count < ids.length) ids[count] = i;
    count++;
  }
  return count;
}

/** Kernels.argmaxF32: the first index of the largest value, as `if (x[i] > x[best]) best = i` finds it. */
export function argmaxF32(x: FA, n: number): number {
  if (!(Number.isInteger(n) && n >= 1) || x.length < n) throw new Error(`argmaxF32: n must be in 1..${x.length}, got ${n}`);
  let best = 0;
  for (let i = 1; i < n; i++) if (x[i] > x[best]) best = i;
  return best;
}
