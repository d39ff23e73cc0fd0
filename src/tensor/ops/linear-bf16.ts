// Linear layers in bf16 mixed precision, as PyTorch's CPU autocast runs them with float32 master weights: the
// input and the frozen weight multiply as bf16 with float32 sums, and the output is a bf16 tensor. With a LoRA
// adapter the A factor rides as R extra rows of the weight, so one GEMM gives the base output and u = x A^T
// together ([W; A] is one operand), and the backward is one GEMM too: dx += [r(dY) | du] @ [W; A].
// Autocast's rounding points are kept: u, the LoRA term, its scaling and the sum are each rounded to bf16, and
// the LoRA gradients are bf16 values added to the float32 factors' gradients.
// Legend: N rows, O out features, I in features, R rank. Saved for backward: the bf16 input and u, never x itself.
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, gradSlot, needsGrad, record } from '../tape.js';
import { bf16Operand, bf16Tensor } from '../lowp.js';
import { giveBack, giveBackBits, takeBits } from '../pool.js';
import { finite, scratch } from './util.js';
import type { LowRank } from './lowrank.js';

/** x [N, I] @ w^T (+ bias) with w frozen and held as w16: a bf16 output tensor [N, O]. */
export function linearBf16(x: Tensor, w: Tensor, w16: Uint16Array, bias: Tensor | null): Tensor {
  const [N, I] = x.shape;
  const O = w.shape[0];
  const K = kernels();
  const x16 = bf16Operand(x);
  const yext = scratch(N * O);
  K.gemmBf16Ld(yext, x16, w16, N, O, I, false, true, 0, I, I, O);
  const { tensor: y, bits } = bf16Tensor([N, O]);
  K.bf16LinearOut(bits, null, yext, bias ? bias.data : null, null, 0, N, O, 0);
  giveBack(yext);
  finite('linear', { x, weight: w, y });
  const inputs = bias ? [x, bias] : [x];
  if (needsGrad(inputs)) {
    record('linearBf16', y, inputs, (dy) => {
      const G = kernels();
      if (bias?.requiresGrad) G.sumRows(gradOf(bias), dy, N, O);
      if (!x.requiresGrad) return;
      const g16 = takeBits(N * O);
      G.bf16LinearGrad(g16, null, dy, null, null, 0, N, O, 0);
      const dx = gradSlot(x);
      G.gemmBf16Ld(dx.data, g16, w16, N, I, O, false, false, dx.fresh ? 0 : 1, O, I, I); // dx (+)= r(dY) W
      giveBackBits(g16);
    });
  }
  return y;
}

/** The low-rank linear of lowrank.ts in bf16: x [..., I] (leading dims folded by size), ext = [W; room for >= R rows] bf16.
 *  Returns the bf16 output [..., O]. */
export function lowRankBf16(x: Tensor, w: Tensor, bias: Tensor | null, lr: LowRank, ext: Uint16Array, outShape: number[]): Tensor {
  const [O, I] = w.shape;
  const R = lr.A.shape[0];
  const N = I === 0 ? 0 : x.size / I;
  const K = kernels();
  const { dropout: p, seed } = lr;
  const tail = ext.subarray(O * I, (O + R) * I);
  K.f32ToBf16(tail, lr.A.data, R * I); // A as bf16 rows after W (A changes every optimizer step)
  const x16 = bf16Operand(x);
  let xd16 = x16; // the LoRA input: dropout(x) rounded, or x16 itself without dropout
  const yext = scratch(N * (O + R));
  if (p === 0) {
    K.gemmBf16Ld(yext, x16, ext, N, O + R, I, false, true, 0, I, I, O + R); // [x W^T | x A^T]
  } else {
    const xd = scratch(x.size);
    K.dropout(xd, x.data, x.size, p, seed);
    xd16 = takeBits(x.size);
    K.f32ToBf16(xd16, xd, x.size);
    giveBack(xd);
    K.gemmBf16Ld(yext, x16, ext, N, O, I, false, true, 0, I, I, O + R);
    K.gemmBf16Ld(yext.subarray(O), xd16, tail, N, R, I, false, true, 0, I, I, O + R);
  }
  const { tensor: y, bits } = bf16Tensor(outShape);
  const u16 = takeBits(N * R);
  K.bf16LinearOut(bits, u16, yext, bias ? bias.data : null, lr.B.data, lr.scale, N, O, R);
  giveBack(yext);
  finite('lowRankLinear', { x, weight: w, A: lr.A, B: lr.B, y });
  const inputs = [x, lr.A, lr.B, ...(bias ? [bias] : [])];
  if (needsGrad(inputs)) {
    record('lowRankBf16', y, inputs, (dy) => {
      const G = kernels();
      if (bias?.requiresGrad) G.sumRows(gradOf(bias), dy, N, O);
      const g16 = takeBits(N * (O + R)); // [r(dY) | du]
      G.bf16LinearGrad(g16, lr.B.requiresGrad ? gradOf(lr.B) : null, dy, u16, lr.B.data, lr.scale, N, O, R);
      if (lr.A.requiresGrad) {
        const dA = scratch(R * I);
        G.gemmBf16Ld(dA, g16.subarray(O), xd16, R, I, N, true, false, 0, O + R, I, I); // du^T dropout(x)
        G.bf16Accumulate(gradOf(lr.A), dA, R * I);
        giveBack(dA);
      }
      if (x.requiresGrad) backToInput(gradSlot(x), g16, ext, lr, N, O, I, R);
      giveBackBits(g16);
    });
  }
  return y;
}

/** dx (+)= r(dY) W + du A (one GEMM over [W; A]), or with dropout: dx (+)= r(dY) W + dropout'(du A); a fresh dx
 *  is written, not added to. */
function backToInput(slot: { data: Float32Array; fresh: boolean }, g16: Uint16Array, ext: Uint16Array, lr: LowRank, N: number, O: number, I: number, R: number): void {
  const G = kernels();
  const tail = ext.subarray(O * I, (O + R) * I);
  G.f32ToBf16(tail, lr.A.data, R * I); // the rows the forward used (A is updated only after backward)
  const { data: dx, fresh } = slot;
  const beta = fresh ? 0 : 1;
  if (lr.dropout === 0) {
    G.gemmBf16Ld(dx, g16, ext, N, I, O + R, false, false, beta, O + R, I, I);
    return;
  }
  G.gemmBf16Ld(dx, g16, ext, N, I, O, false, false, beta, O + R, I, I);
  const t = scratch(N * I);
  G.gemmBf16Ld(t, g16.subarray(O), tail, N, I, R, false, false, 0, O + R, I, I);
  G.dropoutBackward(dx, t, N * I, lr.dropout, lr.seed);
  giveBack(t);
}

