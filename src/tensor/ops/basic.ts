// Elementwise arithmetic with row broadcasting, reductions to a scalar, and zero-copy reshapes.
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, handGrad, needsGrad, record } from '../tape.js';
import { numel, rowsCols, sameShape, shapeError, type Shape } from '../shape.js';
import { finite, scratch, uninit } from './util.js';
import { ShitateError } from '../../errors.js';

/** b must have a's shape, or be 1-D with a's last dimension (broadcast over rows). Returns b's width. */
function broadcastCols(op: string, a: Tensor, b: Tensor): number {
  if (sameShape(a.shape, b.shape)) return a.size;
  const [, cols] = rowsCols(a.shape);
  if (b.shape.length === 1 && b.shape[0] === cols && a.shape.length >= 1) return cols;
  throw shapeError(op, { a: a.shape, b: b.shape }, `b shaped like a, or 1-D of a's last dimension (${cols})`);
}

export function add(a: Tensor, b: Tensor): Tensor {
  const cols = broadcastCols('add', a, b);
  const out = uninit(a.shape);
  kernels().add(out.data, a.data, b.data, a.size, cols);
  finite('add', { a, b, out });
  if (needsGrad([a, b])) {
    record('add', out, [a, b], (dout) => {
      const K = kernels();
      // a may take dout itself as its gradient (dout is unchanged until b's share has been read from it)
      if (a.requiresGrad && !handGrad(a, dout)) K.axpy(gradOf(a), dout, 1, a.size);
      if (b.requiresGrad) {
        if (cols === a.size) K.axpy(gradOf(b), dout, 1, b.size);
        else K.sumRows(gradOf(b), dout, a.size / cols, cols);
      }
    });
  }
  return out;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const cols = broadcastCols('mul', a, b);
  const out = uninit(a.shape);
  kernels().mul(out.data, a.data, b.data, a.size, cols);
  finite('mul', { a, b, out });
  if (needsGrad([a, b])) {
    record('mul', out, [a, b], (dout) => {
      const K = kernels();
      const tmp = scratch(a.size);
      if (a.requiresGrad) {
        K.mul(tmp, dout, b.data, a.size, cols);
        K.axpy(gradOf(a), tmp, 1, a.size);
      }
      if (b.requiresGrad) {
        K.mul(tmp, dout, a.data, a.size, a.size);
        if (cols === a.size) K.axpy(gradOf(b), tmp, 1, b.size);
        else K.sumRows(gradOf(b), tmp, a.size / cols, cols);
      }
    });
  }
  return out;
}

export function scale(a: Tensor, s: number): Tensor {
  const out = uninit(a.shape);
  kernels().scale(out.data, a.data, s, a.size);
  finite('scale', { a, out });
  if (needsGrad([a])) record('scale', out, [a], (dout) => kernels().axpy(gradOf(a), dout, s, a.size));
  return out;
}

/** Sum of all elements as a 0-d tensor (accumulated in double). */
export function sum(a: Tensor): Tensor {
  let s = 0;
  const d = a.data;
  for (let i = 0; i < d.length; i++) s += d[i];
  const out = Tensor.scalar(s);
  if (needsGrad([a])) {
    record('sum', out, [a], (dout) => {
      const g = gradOf(a);
      const v = dout[0];
      for (let i = 0; i < g.length; i++) g[i] += v;
    });
  }
  return out;
}

export function mean(a: Tensor): Tensor {
  if (a.size === 0) throw new ShitateError('E_SHAPE', 'mean: expected a non-empty tensor, found 0 elements', 'check the batch is not empty');
  return scale(sum(a), 1 / a.size);
}

/** Same storage, new shape (row-major contiguous, so always valid when the element count matches). */
export function view(a: Tensor, shape: Shape): Tensor {
  if (numel(shape) !== a.size) throw shapeError('view', { a: a.shape, target: shape }, `a target shape with ${a.size} elements`);
  const out = new Tensor(a.storage, shape);
  if (needsGrad([a])) {
    record('view', out, [a], (dout) => {
      if (!handGrad(a, dout)) kernels().axpy(gradOf(a), dout, 1, a.size);
    });
  }
  return out;
}
