// narrow(x, axis, start, length): a contiguous slice along one axis as a new tensor, with the gradient added back
// into that slice. Used where one projection serves several consumers (Gemma 4's per-layer inputs [B, T, L, P]
// are read one layer at a time).
import type { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { empty } from './util.js';

/** x[..., start:start+length, ...] along `axis`. For x [A, N, R] (A = dims before the axis, R = after):
 *  out [A, length, R]; each of the A blocks copies `length * R` contiguous values. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const n = x.shape[axis];
  if (!(Number.isInteger(axis) && axis >= 0 && axis < x.ndim && Number.isInteger(start) && Number.isInteger(length) &&
    start >= 0 && length >= 0 && start + length <= n)) {
    throw shapeError('narrow', { x: x.shape }, `axis < ${x.ndim} and a range [${start}, ${start + length}) within that axis`);
  }
  const A = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const R = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const shape = [...x.shape];
  shape[axis] = length;
  const out = empty(shape);
  const w = length * R;
  for (let a = 0; a < A; a++) out.data.set(x.data.subarray((a * n + start) * R, (a * n + start) * R + w), a * w);
  if (needsGrad([x])) {
    record('narrow', out, [x], (dout) => {
      const g = gradOf(x);
      const K = kernels();
      for (let a = 0; a < A; a++) K.axpy(g.subarray((a * n + start) * R, (a * n + start) * R + w), dout.subarray(a * w, (a + 1) * w), 1, w);
    });
  }
  return out;
}
