// Partial rotary embedding as an autograd op: the first R dims of each head rotate (rotate-half pairs i, i+R/2),
// the other D - R pass through. Phi-3's partial_rotary_factor (Phi-4-mini rotates 96 of 128 dims).
import { kernels } from '../../kernels/index.js';
import { ShitateError } from '../../errors.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { empty } from './util.js';

/** x: [B, T, H, D] or [N, H, D]; pos: absolute position of each of the B*T rows; cos/sin: [P, R/2] with R the
 *  even number of rotated dims (R <= D). R = D is plain rotate-half RoPE. */
export function ropePartial(x: Tensor, cos: Float32Array, sin: Float32Array, pos: Int32Array, R: number): Tensor {
  if (x.ndim < 3) throw shapeError('ropePartial', { x: x.shape }, 'x of shape [B, T, H, D] or [N, H, D]');
  const D = x.shape[x.ndim - 1];
  const H = x.shape[x.ndim - 2];
  const N = D * H === 0 ? 0 : x.size / (H * D);
  if (!(Number.isInteger(R) && R > 0 && R % 2 === 0 && R <= D)) {
    throw shapeError('ropePartial', { x: x.shape, rotaryDims: [R] }, `an even number of rotary dims in (0, ${D}]`);
  }
  if (pos.length !== N) throw shapeError('ropePartial', { x: x.shape, pos: [pos.length] }, `one position per row (${N})`);
  const P = cos.length / (R / 2);
  for (let i = 0; i < N; i++) {
    if (!(pos[i] >= 0 && pos[i] < P)) {
      throw new ShitateError('E_CONTEXT', `ropePartial: position ${pos[i]} is outside the rotary table (${P} positions)`,
        'shorten the input or raise max_position_embeddings');
    }
  }
  const out = empty(x.shape);
  kernels().ropePartial(out.data, x.data, cos, sin, pos, N, H, D, R);
  if (needsGrad([x])) {
    record('ropePartial', out, [x], (dout) => kernels().ropePartialBackward(gradOf(x), dout, cos, sin, pos, N, H, D, R));
  }
  return out;
}
