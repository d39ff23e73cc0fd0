// Cross-entropy with ignore index -100. linearCrossEntropy fuses the LM head: logits are produced a row
// chunk at a time and never exist as a whole [N, V] tensor; gradients are computed in the same pass.
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { ShitateError } from '../../errors.js';
import { bf16Weight } from '../lowp.js';
import { giveBack, giveBackBits, takeBits } from '../pool.js';
import { scratch, zeroed } from './util.js';

export const IGNORE_INDEX = -100;

export interface LossOpts {
  /** divide the summed loss by this (e.g. target tokens across all micro-batches of an accumulation
   *  step); default: this call's count of non-ignored targets */
  normalizer?: number;
  /** linearCrossEntropy only: the loss is taken on cap * tanh(logits / cap) (Gemma final_logit_softcapping) */
  softcap?: number;
}

function checkTargets(op: string, targets: Int32Array, N: number, V: number): number {
  if (targets.length !== N) throw shapeError(op, { rows: [N], targets: [targets.length] }, 'one target per row');
  let count = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    if (!(t >= 0 && t < V)) {
      throw new ShitateError('E_TOKEN_RANGE', `${op}: target ${t} at row ${i} is outside the vocabulary [0, ${V}) and is not ${IGNORE_INDEX}`,
        'labels must be token ids of this model, or -100 for positions without loss');
    }
    count++;
  }
  return count;
}

function normalizerOf(opts: LossOpts, count: number): number {
  const n = opts.normalizer ?? count;
  return n > 0 ? n : 1;
}

/** logits [N, V] (or [..., V]); returns the scalar mean loss over non-ignored targets (or sum / normalizer). */
export function crossEntropy(logits: Tensor, targets: Int32Array, opts: LossOpts = {}): Tensor {
  const V = logits.shape[logits.ndim - 1] ?? 0;
  if (logits.ndim < 1 || V === 0) throw shapeError('crossEntropy', { logits: logits.shape }, 'logits [N, V] with V > 0');
  const N = logits.size / V;
  const norm = normalizerOf(opts, checkTargets('crossEntropy', targets, N, V));
  const losses = scratch(N);
  kernels().crossEntropy(losses, null, logits.data, targets, N, V, 0);
  const out = Tensor.scalar(sumF64(losses) / norm);
  if (needsGrad([logits])) {
    record('crossEntropy', out, [logits], (dout) => {
      const fresh = !logits.grad;
      const g = gradOf(logits);
      if (fresh) {
        kernels().crossEntropy(losses, g, logits.data, targets, N, V, dout[0] / norm);
      } else {
        const tmp = scratch(N * V);
        kernels().crossEntropy(losses, tmp, logits.data, targets, N, V, dout[0] / norm);
        kernels().axpy(g, tmp, 1, N * V);
      }
    });
  }
  return out;
}

/** Rows per chunk: one chunk of logits stays near 64 MB, and at least 256 rows so the three GEMMs per
 *  chunk are tall enough for BLAS to run near its peak (85-row chunks ran at ~70% of it). The rows are then
 *  shared out evenly, a chunk up to 1/8 over the size, so no short last chunk pays a whole pass over the head's
 *  weights for a few rows (1,024 rows at V 49152: 342 + 342 + 340, not 3 x 341 + 1). */
export function chunkRows(V: number, N: number): number {
  const R = Math.max(1, Math.min(N, Math.max(256, Math.floor((16 << 20) / V))));
  const chunks = Math.max(1, Math.ceil(N / (R * 1.125)));
  return Math.ceil(N / chunks);
}

/** mean CE of (h @ w^T) against targets, h [N, C] (or [..., C]), w [V, C] (the LM head); with opts.softcap, of
 *  cap * tanh(h @ w^T / cap), the capped logits made and differentiated a chunk at a time like the plain ones. */
export function linearCrossEntropy(h: Tensor, w: Tensor, targets: Int32Array, opts: LossOpts = {}): Tensor {
  if (w.ndim !== 2 || h.shape[h.ndim - 1] !== w.shape[1]) {
    throw shapeError('linearCrossEntropy', { h: h.shape, weight: w.shape }, `h's last dimension to equal the weight's columns (${w.shape[1]})`);
  }
  const [V, C] = w.shape;
  const N = C === 0 ? 0 : h.size / C;
  const norm = normalizerOf(opts, checkTargets('linearCrossEntropy', targets, N, V));
  const cap = opts.softcap ?? 0;
  if (!(cap >= 0 && Number.isFinite(cap))) {
    throw new ShitateError('E_CONFIG', `linearCrossEntropy: expected a soft-cap >= 0, found ${cap}`, 'final_logit_softcapping must be a positive number or null');
  }
  const grad = needsGrad([h, w]);
  const dh = grad && h.requiresGrad ? scratch(N * C) : null; // each chunk's gemm (beta 0) writes its rows
  const dw = grad && w.requiresGrad ? zeroed(V * C) : null;
  const K = kernels();
  const R = chunkRows(V, N);
  const logits = scratch(R * V);
  const losses = scratch(N);
  const w16 = bf16Weight(w); // a frozen head multiplies as bf16 in mixed precision
  // bf16 with only dh wanted: the loss writes the logits' gradient as bf16, the backward GEMM's operand
  const g16 = w16 && dh && !dw && cap === 0 ? takeBits(R * V) : null;
  for (let r0 = 0; r0 < N; r0 += R) {
    const r = Math.min(R, N - r0);
    const hc = h.data.subarray(r0 * C, (r0 + r) * C);
    const lc = logits.subarray(0, r * V);
    if (w16) K.gemmBf16(lc, hc, w16, r, V, C, false, true, 0);
    else K.gemm(lc, hc, w.data, 1, r, V, C, false, true, 0, 0, 0); // [r, V] = h_c @ w^T
    const dhc = dh?.subarray(r0 * C, (r0 + r) * C);
    if (g16 && dhc && w16) {
      K.crossEntropyBf16(losses.subarray(r0, r0 + r), g16, lc, targets.subarray(r0, r0 + r), r, V, 1 / norm);
      K.gemmBf16Ld(dhc, g16, w16, r, C, V, false, false, 0, V, C, C); // r(dlogits) @ w
      continue;
    }
    if (cap > 0) K.softcapCrossEntropy(losses.subarray(r0, r0 + r), grad ? lc : null, lc, targets.subarray(r0, r0 + r), r, V, 1 / norm, cap);
    else K.crossEntropy(losses.subarray(r0, r0 + r), grad ? lc : null, lc, targets.subarray(r0, r0 + r), r, V, 1 / norm);
    if (dhc && w16) K.gemmBf16(dhc, lc, w16, r, C, V, false, false, 0);
    else if (dhc) K.gemm(dhc, lc, w.data, 1, r, C, V, false, false, 0, 0, 0); // dlogits @ w
    if (dw) K.gemm(dw, lc, hc, 1, V, C, r, true, false, 1, 0, 0); // dw += dlogits^T @ h_c
  }
  giveBack(logits); // the chunk buffers are free for the backward pass
  if (g16) giveBackBits(g16);
  const out = Tensor.scalar(sumF64(losses) / norm);
  if (grad) {
    record('linearCrossEntropy', out, [h, w], (dout) => {
      if (dh) K.axpy(gradOf(h), dh, dout[0], dh.length);
      if (dw) K.axpy(gradOf(w), dw, dout[0], dw.length);
    });
  }
  return out;
}

function sumF64(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
