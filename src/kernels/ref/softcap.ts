// Reference tanh soft-capping (Gemma's attention and final logits): y = cap * tanh(x / cap), its backward, and
// the cross-entropy of soft-capped logits with the gradient taken back through the cap in the same pass.
// Shapes: x, y, dout, dx [n]; logits, dlogits [N, V]; losses, targets [N].
import type { FA } from './types.js';
import { IGNORE_INDEX } from './loss.js';

/** out = cap * tanh(x / cap); out may alias x. */
export function softcap(out: FA, x: FA, n: number, cap: number): void {
  for (let i = 0; i < n; i++) out[i] = cap * Math.tanh(x[i] / cap);
}

/** dx += dout * (1 - (y / cap)^2), with y the forward output (d/dx of cap tanh(x/cap) = 1 - tanh^2). */
export function softcapBackward(dx: FA, dout: FA, y: FA, n: number, cap: number): void {
  for (let i = 0; i < n; i++) {
    const t = y[i] / cap;
    dx[i] += dout[i] * (1 - t * t);
  }
}

/** Cross-entropy of c = cap * tanh(logits / cap) per row: losses[n] = logsumexp(c[n]) - c[n, t] (0 where ignored);
 *  dlogits (when given) = (softmax(c[n]) - onehot(t)) * gradScale * (1 - (c / cap)^2), the gradient with
 *  respect to the raw logits. dlogits may alias logits. */
export function softcapCrossEntropy(losses: FA, dlogits: FA | null, logits: FA, targets: Int32Array, N: number, V: number,
  gradScale: number, cap: number): void {
  const c = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const target = targets[n];
    if (target === IGNORE_INDEX) {
      losses[n] = 0;
      if (dlogits) for (let i = 0; i < V; i++) dlogits[o + i] = 0;
      continue;
    }
    let max = -Infinity;
    for (let i = 0; i < V; i++) {
      c[i] = cap * Math.tanh(logits[o + i] / cap);
      max = Math.max(max, c[i]);
    }
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(c[i] - max);
    const lse = max + Math.log(sum);
    losses[n] = lse - c[target];
    if (!dlogits) continue;
    for (let i = 0; i < V; i++) {
      const p = Math.exp(c[i] - lse);
      const t = c[i] / cap;
      dlogits[o + i] = (i === target ? p - 1 : p) * gradScale * (1 - t * t);
    }
  }
}
