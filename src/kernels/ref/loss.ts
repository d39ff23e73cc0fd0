// Reference cross-entropy over rows of logits [N, V] with PyTorch's ignore index (-100); optionally writes
// the scaled gradient, possibly in place over the logits.
import type { FA } from './types.js';

/** Targets equal to this contribute no loss and no gradient (torch.nn.CrossEntropyLoss default). */
export const IGNORE_INDEX = -100;

/** losses[n] = logsumexp(logits[n]) - logits[n, targets[n]] (0 when ignored). When dlogits is given it
 *  receives (softmax(logits[n]) - onehot(targets[n])) * gradScale, or a zero row when ignored. */
export function crossEntropy(losses: FA, dlogits: FA | null, logits: FA, targets: Int32Array, N: number, V: number,
  gradScale: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const target = targets[n];
    if (target === IGNORE_INDEX) {
      losses[n] = 0;
      if (dlogits) for (let i = 0; i < V; i++) dlogits[o + i] = 0;
      continue;
    }
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[o + i]);
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i] - max);
    const lse = max + Math.log(sum);
    losses[n] = lse - logits[o + target];
    if (!dlogits) continue;
    // dlogits may alias logits: each element is read before it is overwritten, and lse is already known
    for (let i = 0; i < V; i++) {
      const p = Math.exp(logits[o + i] - lse);
      dlogits[o + i] = (i === target ? p - 1 : p) * gradScale;
    }
  }
}
