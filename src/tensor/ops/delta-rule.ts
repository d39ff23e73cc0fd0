// The gated delta rule (Gated DeltaNet) as an autograd op: the chunked kernel for training and prefill (it saves the
// chunk-start states its backward reads), the recurrent kernel for short decode steps on a carried state.
// Legend: B batch, T tokens, Hk query/key heads, Hv value heads, Dk key dim, Dv value dim.
import { kernels } from '../../kernels/index.js';
import { deltaChunkCount } from '../../kernels/ref/delta-rule.js';
import { ShitateError } from '../../errors.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { empty, finite } from './util.js';

/** Below this many tokens a call on a carried state runs the recurrent form (decode steps). */
const RECURRENT_MAX_T = 8;

export interface DeltaRuleOpts {
  /** multiplies q (transformers: Dk^-0.5) */
  scale: number;
  /** [B*T] packed segment ids: each segment starts from a zero state */
  segments?: Int32Array | null;
  /** [B, Hv, Dk, Dv] the state before this call, left as the state after it (decoding; no gradient) */
  state?: Float32Array | null;
}

/** q, k [B, T, Hk, Dk] (L2-normalised), v [B, T, Hv, Dv], g (log decay) and beta [B, T, Hv] -> [B, T, Hv, Dv]:
 *  per value head, S = exp(g_t) S; S += k_t (beta_t (v_t - S^T k_t))^T; out_t = S^T (scale q_t). */
export function gatedDeltaRule(q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, o: DeltaRuleOpts): Tensor {
  if (q.ndim !== 4 || v.ndim !== 4) throw shapeError('gatedDeltaRule', { q: q.shape, v: v.shape }, 'q [B, T, Hk, Dk] and v [B, T, Hv, Dv]');
  const [B, T, Hk, Dk] = q.shape;
  const [, , Hv, Dv] = v.shape;
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (!same(k.shape, q.shape) || v.shape[0] !== B || v.shape[1] !== T || Hv % Hk !== 0 ||
    !same(g.shape, [B, T, Hv]) || !same(beta.shape, [B, T, Hv])) {
    throw shapeError('gatedDeltaRule', { q: q.shape, k: k.shape, v: v.shape, g: g.shape, beta: beta.shape },
      'k shaped like q [B, T, Hk, Dk], v [B, T, Hv, Dv] with Hv a multiple of Hk, g and beta [B, T, Hv]');
  }
  const seg = o.segments ?? null;
  if (seg && seg.length !== B * T) throw shapeError('gatedDeltaRule', { segments: [seg.length] }, `one segment id per token (${B * T})`);
  const state = o.state ?? null;
  if (state && state.length !== B * Hv * Dk * Dv) throw shapeError('gatedDeltaRule', { state: [state.length] }, 'a state [B, Hv, Dk, Dv]');
  const inputs = [q, k, v, g, beta];
  const grad = needsGrad(inputs);
  if (grad && state) {
    throw new ShitateError('E_AUTOGRAD', 'gatedDeltaRule: expected no gradient with a carried state (decoding), found inputs that require grad',
      'decode under noGrad(); train from position 0');
  }
  const out = empty(v.shape);
  const K = kernels();
  if (state && !seg && T < RECURRENT_MAX_T) {
    K.deltaRuleRecurrent(out.data, state, q.data, k.data, v.data, g.data, beta.data, B, T, Hk, Hv, Dk, Dv, o.scale);
    return out;
  }
  const chunkStates = grad ? new Float32Array(B * Hv * deltaChunkCount(seg, B, T) * Dk * Dv) : null;
  K.deltaRuleChunk(out.data, chunkStates, state, q.data, k.data, v.data, g.data, beta.data, seg, B, T, Hk, Hv, Dk, Dv, o.scale);
  finite('gatedDeltaRule', { q, k, v, g, beta, out });
  if (grad && chunkStates) {
    record('gatedDeltaRule', out, inputs, (dout) => {
      const d = (t: Tensor) => (t.requiresGrad ? gradOf(t) : new Float32Array(t.size));
      kernels().deltaRuleChunkBackward(d(q), d(k), d(v), d(g), d(beta), dout, chunkStates, q.data, k.data, v.data, g.data,
        beta.data, seg, B, T, Hk, Hv, Dk, Dv, o.scale);
    });
  }
  return out;
}
