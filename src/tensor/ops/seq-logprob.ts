// Per-sequence log-likelihood through the LM head, fused like linearCrossEntropy: out[b] = sum over the
// target positions t of row b of log softmax(h_t W^T)[target_t] (DPO/KTO score whole completions, not a
// mean over tokens). Logits exist a chunk of rows at a time; the gradient of each token with respect to h
// is kept unscaled ((softmax - onehot) W, [N, C]) and scaled per row once the rows' gradients are known.
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { ShitateError } from '../../errors.js';
import { bf16Weight } from '../lowp.js';
import { IGNORE_INDEX } from './loss.js';

export interface SeqLogProbOpts {
  /** the log-probabilities are those of cap * tanh(logits / cap) (Gemma final_logit_softcapping) */
  softcap?: number;
}

function checkInputs(h: Tensor, w: Tensor, targets: Int32Array, rows: number): { N: number; V: number; C: number } {
  if (w.ndim !== 2 || h.shape[h.ndim - 1] !== w.shape[1]) {
    throw shapeError('linearSequenceLogProbs', { h: h.shape, weight: w.shape }, `h's last dimension to equal the weight's columns (${w.shape[1]})`);
  }
  const [V, C] = w.shape;
  const N = C === 0 ? 0 : h.size / C;
  if (targets.length !== N || rows <= 0 || N % rows !== 0) {
    throw shapeError('linearSequenceLogProbs', { h: h.shape, targets: [targets.length] }, `one target per row of h, and ${rows} sequences of equal length`);
  }
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t !== IGNORE_INDEX && !(t >= 0 && t < V)) {
      throw new ShitateError('E_TOKEN_RANGE', `linearSequenceLogProbs: target ${t} at row ${i} is outside the vocabulary [0, ${V}) and is not ${IGNORE_INDEX}`,
        'labels must be token ids of this model, or -100 for positions without a score');
    }
  }
  return { N, V, C };
}

/** h [R*T, C] (final hidden states of R sequences of T tokens), w [V, C] the frozen LM head, targets [R*T]
 *  next-token ids (-100: not scored) -> [R] summed log-probabilities of each sequence's targets. */
export function linearSequenceLogProbs(h: Tensor, w: Tensor, targets: Int32Array, rows: number, opts: SeqLogProbOpts = {}): Tensor {
  const { N, V, C } = checkInputs(h, w, targets, rows);
  const cap = opts.softcap ?? 0;
  const grad = needsGrad([h, w]);
  if (grad && w.requiresGrad) {
    throw new ShitateError('E_AUTOGRAD', 'linearSequenceLogProbs: expected a frozen LM head, found one that requires grad',
      'preference training trains LoRA adapters on the projections; the LM head stays frozen');
  }
  const K = kernels();
  const T = N / rows;
  const R = Math.max(1, Math.min(N, Math.max(256, Math.floor((16 << 20) / Math.max(1, V))))); // rows per chunk, as linearCrossEntropy
  const logits = new Float32Array(Math.min(R, N) * V);
  const losses = new Float32Array(N);
  const dh = grad ? new Float32Array(N * C) : null; // [N, C] unscaled d(-logp_t)/dh_t
  const w16 = bf16Weight(w);
  for (let r0 = 0; r0 < N; r0 += R) {
    const r = Math.min(R, N - r0);
    const hc = h.data.subarray(r0 * C, (r0 + r) * C);
    const lc = logits.subarray(0, r * V);
    if (w16) K.gemmBf16(lc, hc, w16, r, V, C, false, true, 0);
    else K.gemm(lc, hc, w.data, 1, r, V, C, false, true, 0, 0, 0); // [r, V] = h_c @ w^T
    const tc = targets.subarray(r0, r0 + r);
    if (cap > 0) K.softcapCrossEntropy(losses.subarray(r0, r0 + r), dh ? lc : null, lc, tc, r, V, 1, cap);
    else K.crossEntropy(losses.subarray(r0, r0 + r), dh ? lc : null, lc, tc, r, V, 1);
    const dhc = dh?.subarray(r0 * C, (r0 + r) * C);
    if (dhc && w16) K.gemmBf16(dhc, lc, w16, r, C, V, false, false, 0);
    else if (dhc) K.gemm(dhc, lc, w.data, 1, r, C, V, false, false, 0, 0, 0); // (softmax - onehot) @ w
  }
  const out = new Float32Array(rows);
  for (let b = 0; b < rows; b++) {
    let s = 0; // float64 sum over the row's tokens
    for (let t = b * T; t < (b + 1) * T; t++) s -= losses[t];
    out[b] = s;
  }
  const result = Tensor.from(out, [rows]);
  if (dh) {
    record('linearSequenceLogProbs', result, [h], (dout) => {
      const g = gradOf(h);
      for (let b = 0; b < rows; b++) {
        if (dout[b] === 0) continue;
        // d logp_b / dh_t = -(softmax - onehot) W: the stored rows scaled by -dout[b]
        K.axpy(g.subarray(b * T * C, (b + 1) * T * C), dh.subarray(b * T * C, (b + 1) * T * C), -dout[b], T * C);
      }
    });
  }
  return result;
}
