// Cross-entropy over class logits with optional class weights, as torch.nn.CrossEntropyLoss(weight=w) computes it:
// sum_i w[y_i] * (logsumexp(z_i) - z_i[y_i]) / normalizer, where the normalizer defaults to sum_i w[y_i] (the
// weighted mean). Gradient accumulation passes the step's total weight as the normalizer instead.
import { Tensor } from '../tensor.js';
import { kernels } from '../../kernels/index.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { shapeError } from '../shape.js';
import { ShitateError } from '../../errors.js';
import { scratch } from './util.js';

/** The summed weight of the targets: what the weighted mean divides by. */
export function targetWeight(targets: Int32Array, classWeights: Float32Array | null): number {
  let s = 0;
  for (const t of targets) s += classWeights ? classWeights[t] : 1;
  return s;
}

/** logits [N, K], targets [N] in [0, K); classWeights [K] or null. Returns the scalar loss. */
export function classCrossEntropy(logits: Tensor, targets: Int32Array, classWeights: Float32Array | null = null, normalizer?: number): Tensor {
  if (logits.ndim !== 2 || targets.length !== logits.shape[0]) {
    throw shapeError('classCrossEntropy', { logits: logits.shape, targets: [targets.length] }, 'logits [N, K] and one target per row');
  }
  const [N, K] = logits.shape;
  if (classWeights && classWeights.length !== K) throw shapeError('classCrossEntropy', { logits: logits.shape, weights: [classWeights.length] }, `one weight per class (${K})`);
  targets.forEach((t, i) => {
    if (!(t >= 0 && t < K)) throw new ShitateError('E_LABEL', `classCrossEntropy: label ${t} at row ${i} is outside [0, ${K})`, 'labels must be class indices of this head');
  });
  const norm = normalizer ?? targetWeight(targets, classWeights);
  const losses = scratch(N);
  kernels().crossEntropy(losses, null, logits.data, targets, N, K, 0);
  let sum = 0;
  for (let i = 0; i < N; i++) sum += (classWeights ? classWeights[targets[i]] : 1) * losses[i];
  const out = Tensor.scalar(norm > 0 ? sum / norm : 0);
  if (needsGrad([logits])) {
    record('classCrossEntropy', out, [logits], (dout) => {
      const d = scratch(N * K);
      kernels().crossEntropy(losses, d, logits.data, targets, N, K, norm > 0 ? dout[0] / norm : 0);
      if (classWeights) for (let i = 0; i < N; i++) kernels().scale(d.subarray(i * K, (i + 1) * K), d.subarray(i * K, (i + 1) * K), classWeights[targets[i]], K);
      kernels().axpy(gradOf(logits), d, 1, N * K);
    });
  }
  return out;
}
