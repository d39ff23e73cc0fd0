// Reference row softmax over [N, C] and its backward (dx += y * (dout - sum(dout * y))).
import type { FA } from './types.js';

/** out[n] = softmax(x[n]); the row max is subtracted first so large logits do not overflow. out may alias x. */
export function softmax(out: FA, x: FA, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, x[o + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(x[o + c] - max);
    for (let c = 0; c < C; c++) out[o + c] = Math.exp(x[o + c] - max) / sum;
  }
}

/** y is the forward output [N, C]; accumulates into dx */
export function softmaxBackward(dx: FA, dout: FA, y: FA, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dout[o + c] * y[o + c];
    for (let c = 0; c < C; c++) dx[o + c] += y[o + c] * (dout[o + c] - dot);
  }
}
