// tanh soft-capping, cap * tanh(x / cap): Gemma bounds its final logits (and Gemma 2 its attention scores) this
// way instead of letting them grow. The LM-head loss with a cap is fused in loss.ts (linearCrossEntropy).
import type { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { ShitateError } from '../../errors.js';
import { empty } from './util.js';

/** cap * tanh(x / cap) elementwise; cap > 0. */
export function softcap(x: Tensor, cap: number): Tensor {
  if (!(cap > 0 && Number.isFinite(cap))) {
    throw new ShitateError('E_CONFIG', `softcap: expected a positive finite cap, found ${cap}`, 'final_logit_softcapping and attn_logit_softcapping must be positive numbers or null');
  }
  const out = empty(x.shape);
  kernels().softcap(out.data, x.data, x.size, cap);
  if (needsGrad([x])) record('softcap', out, [x], (dout) => kernels().softcapBackward(gradOf(x), dout, out.data, x.size, cap));
  return out;
}
