// Reference AdamW step in PyTorch's formulation (torch.optim.AdamW: decoupled weight decay, bias
// corrections folded into the step size and the denominator).
import type { FA } from './types.js';

/** One step (step counts from 1): p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *  p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps). */
export function adamw(param: FA, grad: FA, m: FA, v: FA, n: number, lr: number, beta1: number, beta2: number,
  eps: number, weightDecay: number, step: number): void {
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    // each stored value is read back, so a float32 run rounds where torch's float32 tensors round
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    param[i] *= decay;
    param[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}

/** adamw on each of the first S tensors (weightDecay where decays[s] is not 0). */
export function adamwMany(params: readonly FA[], grads: readonly FA[], ms: readonly FA[], vs: readonly FA[], sizes: Int32Array,
  decays: Int32Array, S: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void {
  for (let s = 0; s < S; s++) adamw(params[s], grads[s], ms[s], vs[s], sizes[s], lr, beta1, beta2, eps, decays[s] ? weightDecay : 0, step);
}
