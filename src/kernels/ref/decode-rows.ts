// Reference twins of the batched decode step's per-token ops (native/src/k_decode_rows.cc): the single-token
// kernels over every token in turn.
import { swiglu } from './activations.js';
import { rope } from './embed-rope.js';
import { addRmsnorm } from './lowp.js';
import type { FA } from './types.js';

export function swigluRows(out: FA, gate: FA, up: FA, M: number, F: number): void {
  for (let m = 0; m < M; m++) swiglu(out.subarray(m * F, (m + 1) * F), gate.subarray(m * F, (m + 1) * F), up.subarray(m * F, (m + 1) * F), F);
}

export function addRmsnormRows(sum: FA, out: FA, rstd: FA, x: FA, y: FA, mult: number, w: FA, N: number, C: number, eps: number): void {
  addRmsnorm(sum, out, null, rstd, x, y, null, mult, w, N, C, eps);
}

export function ropeRows(out: FA, x: FA, cos: FA, sin: FA, pos: Int32Array, N: number, H: number, D: number): void {
  rope(out, x, cos, sin, pos, N, H, D);
}
