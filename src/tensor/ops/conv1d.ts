// Causal depthwise conv1d over the token axis (channels last) and the L2 row norm as autograd ops: Qwen3.5's conv over
// q/k/v (SiLU fused) and L2-normalised q/k before the delta rule, LFM2's gated short convolution.
// Legend: B batch, T tokens, Ch channels, K kernel size.
import { kernels } from '../../kernels/index.js';
import { ShitateError } from '../../errors.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { empty, finite, nonEmptyLast } from './util.js';

export interface Conv1dOpts {
  /** [Ch], added before the activation */
  bias?: Tensor | null;
  /** SiLU after the convolution (Qwen3.5) or none (LFM2) */
  act?: 'silu' | 'none';
  /** [B*T] packed segment ids: a segment never sees the inputs of the one before it */
  segments?: Int32Array | null;
  /** [B, K-1, Ch] the last K-1 inputs before this call, updated in place (decoding; no gradient) */
  state?: Float32Array | null;
}

/** x [B, T, Ch], w [Ch, K] or nn.Conv1d's [Ch, 1, K] -> [B, T, Ch]:
 *  out[b,t,c] = act(bias[c] + sum_j w[c,j] x[b, t-(K-1)+j, c]). */
export function causalConv1d(x: Tensor, w: Tensor, o: Conv1dOpts = {}): Tensor {
  if (x.ndim !== 3) throw shapeError('causalConv1d', { x: x.shape }, 'x of shape [B, T, Ch]');
  const [B, T, Ch] = x.shape;
  const K = w.shape[w.ndim - 1];
  const wOk = (w.ndim === 2 && w.shape[0] === Ch) || (w.ndim === 3 && w.shape[0] === Ch && w.shape[1] === 1);
  if (!wOk || K < 1) throw shapeError('causalConv1d', { x: x.shape, weight: w.shape }, `a depthwise weight [${Ch}, K] or [${Ch}, 1, K]`);
  const bias = o.bias ?? null;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== Ch)) throw shapeError('causalConv1d', { bias: bias.shape }, `bias of shape [${Ch}]`);
  const seg = o.segments ?? null;
  if (seg && seg.length !== B * T) throw shapeError('causalConv1d', { x: x.shape, segments: [seg.length] }, `one segment id per token (${B * T})`);
  const state = o.state ?? null;
  if (state && state.length !== B * (K - 1) * Ch) {
    throw shapeError('causalConv1d', { state: [state.length] }, `a history of ${B * (K - 1) * Ch} values [B, K-1, Ch]`);
  }
  const act = o.act === 'silu' ? 1 : 0;
  const inputs = bias ? [x, w, bias] : [x, w];
  const grad = needsGrad(inputs);
  if (grad && state) {
    throw new ShitateError('E_AUTOGRAD', 'causalConv1d: expected no gradient with a carried history (decoding), found inputs that require grad',
      'decode under noGrad(); train from position 0');
  }
  const out = empty(x.shape);
  kernels().causalConv1d(out.data, x.data, w.data, bias ? bias.data : null, state, seg, B, T, Ch, K, act);
  finite('causalConv1d', { x, w, out });
  if (grad) {
    record('causalConv1d', out, inputs, (dout) => {
      const dx = x.requiresGrad ? gradOf(x) : new Float32Array(x.size);
      kernels().causalConv1dBackward(dx, w.requiresGrad ? gradOf(w) : null, bias?.requiresGrad ? gradOf(bias) : null, dout,
        x.data, w.data, bias ? bias.data : null, seg, B, T, Ch, K, act);
    });
  }
  return out;
}

/** x / sqrt(sum(x^2) + eps) over the last dimension (transformers' l2norm, eps 1e-6 in Qwen3.5). */
export function l2norm(x: Tensor, eps: number): Tensor {
  const D = nonEmptyLast('l2norm', x, 'x');
  const N = x.size / D;
  const out = empty(x.shape);
  const rnorm = new Float32Array(N);
  kernels().l2norm(out.data, rnorm, x.data, N, D, eps);
  finite('l2norm', { x, out });
  if (needsGrad([x])) record('l2norm', out, [x], (dout) => kernels().l2normBackward(gradOf(x), dout, x.data, rnorm, N, D));
  return out;
}
