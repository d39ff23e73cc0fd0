// Gates of the hybrid models as autograd ops: the logistic sigmoid (Qwen3.5's attention output gate and delta-rule
// beta) and the delta rule's log decay g = -exp(A_log) * softplus(a + dt_bias) (Mamba-style discretisation).
// Elementwise over few values per token, so plain loops here; no kernel of their own.
import type { Tensor } from '../tensor.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { empty, finite, nonEmptyLast } from './util.js';

/** torch.nn.functional.softplus with its default threshold: x itself above 20. */
function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

/** 1 / (1 + exp(-x)) elementwise. */
export function sigmoid(x: Tensor): Tensor {
  const out = empty(x.shape);
  const d = x.data;
  for (let i = 0; i < d.length; i++) out.data[i] = 1 / (1 + Math.exp(-d[i]));
  finite('sigmoid', { x, out });
  if (needsGrad([x])) {
    record('sigmoid', out, [x], (dout) => {
      const g = gradOf(x);
      for (let i = 0; i < g.length; i++) g[i] += dout[i] * out.data[i] * (1 - out.data[i]);
    });
  }
  return out;
}

/** a [..., H] with aLog, dtBias [H] -> g [..., H] = -exp(aLog) * softplus(a + dtBias) (<= 0, a log decay). */
export function decayGate(a: Tensor, aLog: Tensor, dtBias: Tensor): Tensor {
  const H = nonEmptyLast('decayGate', a, 'a');
  if (aLog.ndim !== 1 || aLog.shape[0] !== H || dtBias.ndim !== 1 || dtBias.shape[0] !== H) {
    throw shapeError('decayGate', { a: a.shape, A_log: aLog.shape, dt_bias: dtBias.shape }, `A_log and dt_bias of shape [${H}]`);
  }
  const out = empty(a.shape);
  const A = Float32Array.from(aLog.data, Math.exp);
  for (let i = 0; i < a.size; i++) out.data[i] = -A[i % H] * softplus(a.data[i] + dtBias.data[i % H]);
  finite('decayGate', { a, aLog, dtBias, out });
  const inputs = [a, aLog, dtBias];
  if (needsGrad(inputs)) {
    record('decayGate', out, inputs, (dout) => {
      const da = a.requiresGrad ? gradOf(a) : null;
      const dA = aLog.requiresGrad ? gradOf(aLog) : null;
      const dB = dtBias.requiresGrad ? gradOf(dtBias) : null;
      for (let i = 0; i < a.size; i++) {
        const h = i % H;
        const z = a.data[i] + dtBias.data[h];
        const dz = -A[h] * (z > 20 ? 1 : 1 / (1 + Math.exp(-z))) * dout[i]; // softplus' = sigmoid below the threshold
        if (da) da[i] += dz;
        if (dB) dB[h] += dz;
        if (dA) dA[h] += out.data[i] * dout[i]; // d/dA_log of -exp(A_log) s = the output itself
      }
    });
  }
  return out;
}
