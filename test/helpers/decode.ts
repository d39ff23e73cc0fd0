// Greedy decoding and element-wise comparison shared by the golden tests: greedy tokens by full recompute or with
// the model's cache (keys and values, or recurrent state), and the largest absolute difference of two arrays.
import type { CausalLM } from '../../src/models/index.js';
import { noGrad } from '../../src/tensor/index.js';

/** max |a[i] - b[i]| over b's length. */
export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The arg max of the last V entries (the last position's logits). */
export function argmaxLast(logits: Float32Array, V: number): number {
  let best = 0;
  const off = logits.length - V;
  for (let i = 1; i < V; i++) if (logits[off + i] > logits[off + best]) best = i;
  return best;
}

/** n greedy tokens, by full recompute (cached = false) or one prefill and one token per step. */
export function greedy(m: CausalLM, prompt: number[], n: number, cached: boolean): number[] {
  const V = m.config.vocabSize;
  const cache = cached ? m.createCache(1, prompt.length + n) : null;
  const ids = [...prompt];
  let step = Int32Array.from(prompt);
  for (let i = 0; i < n; i++) {
    const input = cached ? step : Int32Array.from(ids);
    const { logits } = noGrad(() => m.forward({ ids: input, batch: 1, seqLen: input.length, cache, logits: 'last' }));
    const next = argmaxLast(logits!.data, V);
    ids.push(next);
    step = Int32Array.of(next);
  }
  return ids.slice(prompt.length);
}
