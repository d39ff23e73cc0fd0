// The parts every table-driven CausalLM shares: linears and named weights straight from the loaded parameter
// table, a uniform KV cache, and the LM head output (fused loss over the head, logits for every row or the last).
// Legend: B batch, T tokens, C hidden, V vocab.
import { type Tensor, linear, view } from '../tensor/index.js';
import { headLoss } from './head-loss.js';
import { KVCache, type KvCacheFormat } from './kv-cache.js';
import type { Linear } from './linear.js';
import { lastRows } from './decoder.js';
import { linearsOf, namedWeightsOf, type LoadedTable, type ParamTable } from './params.js';
import type { CausalLM, ForwardInput, ForwardOutput, ModelConfig, NamedTensor } from './types.js';

export abstract class TableModel<T extends ParamTable> implements CausalLM {
  constructor(readonly config: ModelConfig, protected readonly table: T, protected readonly loaded: LoadedTable<T>) {}

  abstract forward(input: ForwardInput): ForwardOutput;

  linears(): Linear[] {
    return linearsOf(this.loaded);
  }

  namedWeights(): NamedTensor[] {
    return namedWeightsOf(this.table, this.loaded);
  }

  createCache(batch: number, capacity: number, format?: KvCacheFormat): KVCache {
    const c = this.config;
    return new KVCache(c.numLayers, batch, capacity, c.numKvHeads, c.headDim, format);
  }
}

/** Final hidden states x [B, T, C] (normed) -> the loss (or the per-row summed log-probabilities the input asks
 *  for) over the LM head [V, C] when targets are given, and the logits the input asks for ([B, T, V] or [B, 1, V]). */
export function lmHeadOutput(x: Tensor, head: Tensor, input: ForwardInput): ForwardOutput {
  const { batch: B, seqLen: T } = input;
  const C = head.shape[1];
  const { loss, sequenceLogps } = headLoss(view(x, [B * T, C]), head, input);
  const mode = input.logits ?? (input.targets ? 'none' : 'all');
  let logits: Tensor | null = null;
  if (mode === 'all') logits = linear(x, head);
  else if (mode === 'last') logits = linear(lastRows(x, B, T, C), head);
  return { logits, loss, sequenceLogps };
}
