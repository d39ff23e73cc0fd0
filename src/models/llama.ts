// The Llama family (model_type llama, mistral, qwen2): weights by HF name and the forward pass.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, L layers.
// Reference: transformers' LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM (eager attention).
import {
  Tensor, add, attention, embedding, linear, linearCrossEntropy, rmsnorm, rope, swiglu, view,
} from '../tensor/index.js';
import type { ModelConfig } from '../io/hf-config.js';
import { applyLinear, type Linear } from './linear.js';
import { RotaryTables } from './rope.js';
import type { KVCache } from './kv-cache.js';
import { ShitateError } from '../errors.js';

export interface LlamaLayer {
  inputNorm: Tensor; // [C]
  q: Linear; // [H*D, C]
  k: Linear; // [Hkv*D, C]
  v: Linear; // [Hkv*D, C]
  o: Linear; // [C, H*D]
  postNorm: Tensor; // [C]
  gate: Linear; // [F, C]
  up: Linear; // [F, C]
  down: Linear; // [C, F]
  /** sliding window for this layer, 0 = full causal */
  window: number;
}

export interface LlamaWeights {
  embed: Tensor; // [V, C]
  layers: LlamaLayer[];
  norm: Tensor; // [C]
  lmHead: Tensor; // [V, C], the same Tensor as embed when tied
}

export interface ForwardInput {
  /** token ids [B*T] */
  ids: Int32Array;
  batch: number;
  seqLen: number;
  /** absolute position per token [B*T]; default cache length + t (restarts per packed segment are given here) */
  positions?: Int32Array;
  /** segment id per token [B*T] for packed sequences: attention never crosses segments */
  segments?: Int32Array | null;
  cache?: KVCache | null;
  /** next-token targets aligned with ids [B*T] (-100 = no loss); see shiftLabels for HF-style labels */
  targets?: Int32Array;
  /** divide the summed loss by this instead of this batch's target count (gradient accumulation) */
  lossNormalizer?: number;
  /** which logits to return: every position, the last one of each row, or none (default: all without
   *  targets, none with targets) */
  logits?: 'all' | 'last' | 'none';
}

export interface ForwardOutput {
  /** [B, T, V] for 'all', [B, 1, V] for 'last' */
  logits: Tensor | null;
  /** scalar mean cross-entropy over targets, when targets were given */
  loss: Tensor | null;
}

/** HF causal-LM labels (labels[t] is token t itself) -> targets (targets[t] = labels[t+1], last = -100). */
export function shiftLabels(labels: Int32Array, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) out[b * T + t] = labels[b * T + t + 1];
  return out;
}

export class LlamaModel {
  readonly config: ModelConfig;
  readonly weights: LlamaWeights;
  readonly rotary: RotaryTables;

  constructor(config: ModelConfig, weights: LlamaWeights) {
    this.config = config;
    this.weights = weights;
    this.rotary = new RotaryTables(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  /** Every linear layer, in a stable order (LoRA targets, merge). */
  linears(): Linear[] {
    return this.weights.layers.flatMap((l) => [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]);
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const { batch: B, seqLen: T, ids, cache } = input;
    const [C, H, Hkv, D] = [c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim];
    if (ids.length !== B * T) {
      throw new ShitateError('E_SHAPE', `forward: ${ids.length} token ids for batch ${B} x ${T} tokens`, 'pass B*T ids, row-major');
    }
    const offset = cache ? cache.length : 0;
    const pos = input.positions ?? Int32Array.from({ length: B * T }, (_, i) => offset + (i % T));
    let maxPos = 0;
    for (let i = 0; i < pos.length; i++) maxPos = Math.max(maxPos, pos[i]);
    if (maxPos >= c.maxPositions) {
      throw new ShitateError('E_CONTEXT', `forward: position ${maxPos} exceeds the model's context of ${c.maxPositions} tokens`,
        'shorten the input (or the conversation history) to fit max_position_embeddings');
    }
    this.rotary.ensure(maxPos + 1);
    const { cos, sin } = this.rotary;
    const segments = input.segments ?? null;

    let x = embedding(this.weights.embed, ids, [B, T]); // [B, T, C]
    for (const [li, layer] of this.weights.layers.entries()) {
      const h = rmsnorm(x, layer.inputNorm, c.rmsNormEps);
      const q = rope(view(applyLinear(layer.q, h), [B, T, H, D]), cos, sin, pos);
      let k = rope(view(applyLinear(layer.k, h), [B, T, Hkv, D]), cos, sin, pos);
      let v = view(applyLinear(layer.v, h), [B, T, Hkv, D]);
      if (cache) [k, v] = cache.append(li, k, v, T);
      const a = attention(q, k, v, { window: layer.window, segments });
      x = add(x, applyLinear(layer.o, view(a, [B, T, H * D])));
      const h2 = rmsnorm(x, layer.postNorm, c.rmsNormEps);
      x = add(x, applyLinear(layer.down, swiglu(applyLinear(layer.gate, h2), applyLinear(layer.up, h2))));
    }
    if (cache) cache.advance(T);
    x = rmsnorm(x, this.weights.norm, c.rmsNormEps);

    const loss = input.targets ? linearCrossEntropy(view(x, [B * T, C]), this.weights.lmHead, input.targets,
      input.lossNormalizer !== undefined ? { normalizer: input.lossNormalizer } : {}) : null;
    const mode = input.logits ?? (input.targets ? 'none' : 'all');
    let logits: Tensor | null = null;
    if (mode === 'all') logits = linear(x, this.weights.lmHead);
    else if (mode === 'last') logits = linear(lastRows(x, B, T, C), this.weights.lmHead);
    return { logits, loss };
  }
}

/** [B, T, C] -> [B, 1, C] holding each row's last position (inference only: no gradient). */
function lastRows(x: Tensor, B: number, T: number, C: number): Tensor {
  const out = new Float32Array(B * C);
  for (let b = 0; b < B; b++) out.set(x.data.subarray(((b + 1) * T - 1) * C, (b + 1) * T * C), b * C);
  return Tensor.from(out, [B, 1, C]);
}
