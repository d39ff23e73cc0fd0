// Classification logits for many texts: token rows run through the model in length-sorted batches (padding kept
// low) without gradients, returned in input order. Used by training's validation, eval and `shitate classify`.
// Legend: N texts, K labels.
import { noGrad } from '../tensor/index.js';
import type { TextEncoder } from './encoder-text.js';
import type { EncoderModel } from './encoder-types.js';

/** logits [N, K] of the rows (token ids with special tokens), in row order. */
export function predictLogits(model: EncoderModel, text: TextEncoder, rows: readonly number[][], batchTokens = 8192): Float32Array {
  const K = model.numLabels;
  const out = new Float32Array(rows.length * K);
  const order = rows.map((_, i) => i).sort((a, b) => rows[b].length - rows[a].length);
  for (let i = 0; i < order.length;) {
    const T = Math.max(1, rows[order[i]].length);
    const B = Math.max(1, Math.min(order.length - i, Math.floor(batchTokens / T)));
    const part = order.slice(i, i + B);
    const logits = noGrad(() => model.classify(text.batch(part.map((k) => rows[k])))).data;
    part.forEach((k, j) => out.set(logits.subarray(j * K, (j + 1) * K), k * K));
    i += B;
  }
  return out;
}
