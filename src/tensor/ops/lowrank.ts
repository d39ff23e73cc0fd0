// Linear layer with a low-rank update in one op (the LoRA hot path):
//   y = x W^T + b + s * (dropout(x) A^T) B^T,   x [N, in], W [out, in], A [R, in], B [out, R]
// Only u = dropout(x) A^T [N, R] is saved beyond the inputs; the dropout mask is recomputed from its seed.
// Backward: dB = s dY^T u ; du = s dY B ; dA = du^T dropout(x) ; dx = dY W + dropout'(du A).
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, gradSlot, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { finite, scratch, uninit } from './util.js';
import { bf16WeightWithRows } from '../lowp.js';
import { lowRankBf16 } from './linear-bf16.js';
import { inferenceBf16, inferenceInt8 } from '../weights.js';

export interface LowRank {
  A: Tensor; // [R, in]
  B: Tensor; // [out, R]
  scale: number;
  /** dropout probability on the low-rank input (0 = none) and the mask's seed */
  dropout: number;
  seed: number;
}

export function lowRankLinear(x: Tensor, w: Tensor, bias: Tensor | null, lr: LowRank): Tensor {
  const [out, inp] = w.shape;
  const R = lr.A.shape[0];
  const okShapes = w.ndim === 2 && x.shape[x.ndim - 1] === inp && lr.A.ndim === 2 && lr.A.shape[1] === inp &&
    lr.B.ndim === 2 && lr.B.shape[0] === out && lr.B.shape[1] === R && (!bias || (bias.ndim === 1 && bias.shape[0] === out));
  if (!okShapes) {
    throw shapeError('lowRankLinear', { x: x.shape, weight: w.shape, A: lr.A.shape, B: lr.B.shape, ...(bias ? { bias: bias.shape } : {}) },
      'x [..., in], weight [out, in], A [R, in], B [out, R], bias [out]');
  }
  const N = inp === 0 ? 0 : x.size / inp;
  const ext = bf16WeightWithRows(w, R); // frozen W in mixed precision: the bf16 path, A rows after W's
  // x as it is, leading dims folded by size: no view, whose backward would add a separate gradient into x's
  if (ext) return lowRankBf16(x, w, bias, lr, ext, [...x.shape.slice(0, -1), out]);
  const K = kernels();
  const { dropout: p, seed } = lr;
  const xd = p > 0 ? scratch(x.size) : x.data;
  if (p > 0) K.dropout(xd, x.data, x.size, p, seed);
  const y = uninit([...x.shape.slice(0, -1), out]); // bias rows or gemm beta 0 write it all
  if (bias) for (let n = 0; n < N; n++) y.data.set(bias.data, n * out);
  const held = needsGrad([x, w]) ? null : inferenceBf16(w); // inference with bf16 weights (weights.ts)
  const held8 = held || needsGrad([x, w]) ? null : inferenceInt8(w); // inference with int8 weights
  if (held) K.gemmBf16(y.data, x.data, held, N, out, inp, false, true, bias ? 1 : 0); // y (+)= r(x) r(W)^T
  else if (held8) K.gemmI8(y.data, x.data, held8.q, held8.scale, N, out, inp, bias ? 1 : 0); // y (+)= x (s q)^T
  else K.gemm(y.data, x.data, w.data, 1, N, out, inp, false, true, bias ? 1 : 0, 0, 0); // y (+)= x W^T
  const us = scratch(N * R);
  K.gemm(us, xd, lr.A.data, 1, N, R, inp, false, true, 0, 0, 0); // u = dropout(x) A^T
  K.scale(us, us, lr.scale, N * R); // us = s * u
  K.gemm(y.data, us, lr.B.data, 1, N, out, R, false, true, 1, 0, 0); // y += us B^T
  finite('lowRankLinear', { x, weight: w, A: lr.A, B: lr.B, y });
  const inputs = [x, w, lr.A, lr.B, ...(bias ? [bias] : [])];
  if (needsGrad(inputs)) {
    record('lowRankLinear', y, inputs, (dy) => {
      const G = kernels();
      if (lr.B.requiresGrad) G.gemm(gradOf(lr.B), dy, us, 1, out, R, N, true, false, 1, 0, 0); // dB += dY^T (s u)
      if (w.requiresGrad) G.gemm(gradOf(w), dy, x.data, 1, out, inp, N, true, false, 1, 0, 0);
      if (bias?.requiresGrad) G.sumRows(gradOf(bias), dy, N, out);
      const du = scratch(N * R);
      G.gemm(du, dy, lr.B.data, 1, N, R, out, false, false, 0, 0, 0);
      G.scale(du, du, lr.scale, N * R); // du = s dY B
      if (lr.A.requiresGrad) {
        let xdd = x.data;
        if (p > 0) {
          xdd = scratch(x.size);
          G.dropout(xdd, x.data, x.size, p, seed);
        }
        G.gemm(gradOf(lr.A), du, xdd, 1, R, inp, N, true, false, 1, 0, 0); // dA += du^T dropout(x)
      }
      if (x.requiresGrad) {
        const { data: dx, fresh } = gradSlot(x);
        G.gemm(dx, dy, w.data, 1, N, inp, out, false, false, fresh ? 0 : 1, 0, 0); // dx (+)= dY W
        if (p > 0) {
          const t = scratch(N * inp);
          G.gemm(t, du, lr.A.data, 1, N, inp, R, false, false, 0, 0, 0);
          G.dropoutBackward(dx, t, x.size, p, seed);
        } else {
          G.gemm(dx, du, lr.A.data, 1, N, inp, R, false, false, 1, 0, 0); // dx += du A
        }
      }
    });
  }
  return y;
}
