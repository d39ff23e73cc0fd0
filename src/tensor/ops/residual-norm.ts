// The residual add fused into the norm that follows it: sum = x + mult * y and out = rmsnorm(sum) in one pass over
// the rows (a pre-norm decoder does this twice per layer). Recorded as the two ops it replaces, an add and an
// rmsnorm, so gradients are those of the unfused pair. With `forGemm` in bf16 mixed precision the norm writes the
// next GEMM's bf16 operand directly (autocast rounds it there anyway); y may be a bf16 tensor (a bf16 GEMM output).
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, gradSlot, handGrad, needsGrad, record } from '../tape.js';
import { sameShape, shapeError } from '../shape.js';
import { bf16Tensor, bitsOf, computePrecision } from '../lowp.js';
import { finite, nonEmptyLast, scratch, uninit } from './util.js';

export interface ResidualNormOpts {
  /** y is scaled by this before the add (Granite's residual_multiplier); default 1 */
  multiplier?: number;
  /** every consumer of the normed output is a GEMM: in bf16 mixed precision write it as bf16 */
  forGemm?: boolean;
}

/** { sum: x + mult * y, out: rmsnorm(sum, w, eps) } for x, y [..., C], w [C]. */
export function addRmsnorm(x: Tensor, y: Tensor, w: Tensor, eps: number, opts: ResidualNormOpts = {}): { sum: Tensor; out: Tensor } {
  const C = nonEmptyLast('addRmsnorm', x, 'x');
  if (!sameShape(x.shape, y.shape) || w.ndim !== 1 || w.shape[0] !== C) {
    throw shapeError('addRmsnorm', { x: x.shape, y: y.shape, weight: w.shape }, `x and y of one shape and a weight of shape [${C}]`);
  }
  const N = x.size / C;
  const mult = opts.multiplier ?? 1;
  const K = kernels();
  const sum = uninit(x.shape);
  const rstd = scratch(N);
  const y16 = bitsOf(y);
  const yf = y16 ? null : y.data;
  let out: Tensor;
  if (opts.forGemm && computePrecision() === 'bf16') {
    const t = bf16Tensor(x.shape);
    K.addRmsnorm(sum.data, null, t.bits, rstd, x.data, yf, y16, mult, w.data, N, C, eps);
    out = t.tensor;
  } else {
    out = uninit(x.shape);
    K.addRmsnorm(sum.data, out.data, null, rstd, x.data, yf, y16, mult, w.data, N, C, eps);
  }
  finite('addRmsnorm', { x, y, sum, out });
  if (needsGrad([x, y])) {
    record('add', sum, [x, y], (dsum) => {
      // x may take dsum itself as its gradient (the residual stream passes it on unchanged; y's share still reads
      // it before anything adds to it), and the branch's first gradient is written (mult * dsum), not added to zeros
      if (x.requiresGrad && !handGrad(x, dsum)) kernels().axpy(gradOf(x), dsum, 1, x.size);
      if (y.requiresGrad) {
        const dy = gradSlot(y);
        if (dy.fresh) kernels().scale(dy.data, dsum, mult, y.size);
        else kernels().axpy(dy.data, dsum, mult, y.size);
      }
    });
  }
  if (needsGrad([sum, w])) recordNorm(out, sum, w, rstd, N, C);
  return { sum, out };
}

/** rmsnorm(x) whose consumers are all GEMMs: in bf16 mixed precision written as the bf16 operand they read. */
export function rmsnormForGemm(x: Tensor, w: Tensor, eps: number): Tensor {
  const C = nonEmptyLast('rmsnorm', x, 'x');
  if (w.ndim !== 1 || w.shape[0] !== C) throw shapeError('rmsnorm', { x: x.shape, weight: w.shape }, `weight of shape [${C}]`);
  const N = x.size / C;
  const rstd = scratch(N);
  let out: Tensor;
  if (computePrecision() === 'bf16') {
    const t = bf16Tensor(x.shape);
    kernels().rmsnormBf16(t.bits, rstd, x.data, w.data, N, C, eps);
    out = t.tensor;
  } else {
    out = uninit(x.shape);
    kernels().rmsnorm(out.data, rstd, x.data, w.data, N, C, eps);
  }
  finite('rmsnorm', { x, w, out });
  if (needsGrad([x, w])) recordNorm(out, x, w, rstd, N, C);
  return out;
}

function recordNorm(out: Tensor, x: Tensor, w: Tensor, rstd: Float32Array, N: number, C: number): void {
  record('rmsnorm', out, [x, w], (dout) => {
    const dx = x.requiresGrad ? gradOf(x) : scratch(x.size);
    kernels().rmsnormBackward(dx, w.requiresGrad ? gradOf(w) : null, dout, x.data, w.data, rstd, N, C);
  });
}
