// Reference elementwise kernels: add/mul with row broadcast, scale, axpy, column sums, sum of squares.
import type { FA } from './types.js';

/** b is read at i when it has n elements (cols = n), else at i % cols (one row of width cols). */
function bIndex(i: number, cols: number): number {
  return cols > 0 ? i % cols : i;
}

/** out = a + b, b either [n] or [cols] broadcast over rows of width cols */
export function add(out: FA, a: FA, b: FA, n: number, cols: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[bIndex(i, cols)];
}

/** out = a * b, broadcast like add */
export function mul(out: FA, a: FA, b: FA, n: number, cols: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] * b[bIndex(i, cols)];
}

/** out = a * s */
export function scale(out: FA, a: FA, s: number, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] * s;
}

/** dst += alpha * src */
export function axpy(dst: FA, src: FA, alpha: number, n: number): void {
  for (let i = 0; i < n; i++) dst[i] += alpha * src[i];
}

/** out[c] += sum over r of a[r, c]; a [rows, cols], out [cols] (gradient of a row broadcast) */
export function sumRows(out: FA, a: FA, rows: number, cols: number): void {
  for (let c = 0; c < cols; c++) {
    let acc = 0;
    for (let r = 0; r < rows; r++) acc += a[r * cols + c];
    out[c] += acc;
  }
}

/** sum of a[i]^2 over i < n, in double precision */
export function sumSquares(a: FA, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += a[i] * a[i];
  return acc;
}

/** arrays[t] *= s in place for the first S arrays. */
export function scaleMany(arrays: readonly FA[], sizes: Int32Array, S: number, s: number): void {
  for (let t = 0; t < S; t++) scale(arrays[t], arrays[t], s, sizes[t]);
}

/** sumSquares of each of the first S arrays, added in order. */
export function sumSquaresMany(arrays: readonly FA[], sizes: Int32Array, S: number): number {
  let total = 0;
  for (let s = 0; s < S; s++) total += sumSquares(arrays[s], sizes[s]);
  return total;
}
