// Reference GEMM: the plain triple loop, reading each operand through its (optional) transpose.
// Sums run in double precision; the result is rounded once when stored.
import type { FA } from './types.js';

/** c[b] = op(a[b]) @ op(b[b]) + beta * c[b] for b < batch (see Kernels.gemm).
 *  op(a) [M, K] is stored [K, M] when transA; op(b) [K, N] is stored [N, K] when transB; c [M, N]. */
export function gemm(c: FA, a: FA, b: FA, batch: number, M: number, N: number, K: number,
  transA: boolean, transB: boolean, beta: number, strideA: number, strideB: number): void {
  // element strides of op(a)[i, p] and op(b)[p, j] in their stored layouts
  const aRow = transA ? 1 : K;
  const aCol = transA ? M : 1;
  const bRow = transB ? 1 : N;
  const bCol = transB ? K : 1;
  for (let bi = 0; bi < batch; bi++) {
    const ao = bi * strideA;
    const bo = bi * strideB;
    const co = bi * M * N; // c is densely batched
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let p = 0; p < K; p++) acc += a[ao + i * aRow + p * aCol] * b[bo + p * bRow + j * bCol];
        const ci = co + i * N + j;
        // beta 0 overwrites: whatever c held (even NaN) must not leak into the result
        c[ci] = beta === 0 ? acc : acc + beta * c[ci];
      }
    }
  }
}
