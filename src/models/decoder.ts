// The Llama-shaped causal LM (llama, mistral, qwen2, qwen3, smollm3, granite): embedding, L decoder blocks of
// pre-norm attention + SwiGLU MLP, final RMSNorm, LM head. What differs between those families is data in
// ModelConfig (biases, q/k norm, NoPE layers, sliding windows, Granite's multipliers), not code.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, L layers.
// Reference: transformers' modeling_llama.py and the family files derived from it (eager attention, float32).
import { Tensor, addRmsnorm, compactFrozenWeights, embedding, linear, rmsnorm, rmsnormForGemm, scale, view } from '../tensor/index.js';
import { headLoss } from './head-loss.js';
import { ShitateError } from '../errors.js';
import { KVCache, type KvCacheFormat } from './kv-cache.js';
import type { Linear } from './linear.js';
import { RotaryTables } from './rope.js';
import { linearsOf, namedWeightsOf, type LoadedTable } from './params.js';
import { attentionBlock, decoderTable, mlpBlock, type DecoderLayer, type DecoderTable } from './blocks.js';
import { defineFamily, type Family } from './family.js';
import type { Fields } from '../io/json-fields.js';
import type { CausalLM, ForwardInput, ForwardOutput, ModelConfig, NamedTensor } from './types.js';

/** HF causal-LM labels (labels[t] is token t itself) -> targets (targets[t] = labels[t+1], last = -100). */
export function shiftLabels(labels: Int32Array, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) out[b * T + t] = labels[b * T + t + 1];
  return out;
}

export interface DecoderWeights {
  embed: Tensor; // [V, C]
  layers: DecoderLayer[];
  norm: Tensor; // [C]
  lmHead: Tensor; // [V, C], the same Tensor as embed when tied
}

export class DecoderModel implements CausalLM {
  readonly config: ModelConfig;
  readonly weights: DecoderWeights;
  readonly rotary: RotaryTables;
  private readonly table: DecoderTable;
  private readonly loaded: LoadedTable<DecoderTable>;

  constructor(config: ModelConfig, table: DecoderTable, loaded: LoadedTable<DecoderTable>) {
    this.config = config;
    this.table = table;
    this.loaded = loaded;
    const g = loaded.global;
    this.weights = { embed: g.embed, layers: loaded.layers, norm: g.norm, lmHead: g.lmHead ?? g.embed };
    this.rotary = new RotaryTables(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  linears(): Linear[] {
    return linearsOf(this.loaded);
  }

  /** bf16 training of a bf16 checkpoint: the frozen embedding (and an untied frozen LM head) held as bf16 only, as
   *  compactFrozenWeights does for the projections. The embedding lookup gathers from the bf16 rows and the LM head
   *  multiplies them as they are, so the float32 tables (and the head's bf16 copy) are freed. Returns the bytes freed. */
  compactTables(): number {
    const g = this.loaded.global;
    const tied = this.weights.lmHead === this.weights.embed;
    const embed = { weight: this.weights.embed };
    const head = { weight: this.weights.lmHead };
    const freed = compactFrozenWeights(tied ? [embed] : [embed, head]);
    this.weights.embed = g.embed = embed.weight;
    this.weights.lmHead = tied ? embed.weight : head.weight;
    if (!tied) g.lmHead = head.weight;
    return freed;
  }

  namedWeights(): NamedTensor[] {
    return namedWeightsOf(this.table, this.loaded);
  }

  createCache(batch: number, capacity: number, format?: KvCacheFormat): KVCache {
    const c = this.config;
    return new KVCache(c.numLayers, batch, capacity, c.numKvHeads, c.headDim, format);
  }

  /** Absolute positions (default: cache length + t), checked against the context; grows the rotary tables. */
  private positions(input: ForwardInput): Int32Array {
    const pos = inputPositions(input, this.config.maxPositions);
    this.rotary.ensure(highestPosition(pos) + 1);
    return pos;
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const { batch: B, seqLen: T, ids } = input;
    const C = c.hiddenSize;
    const pos = this.positions(input);
    const cache = input.cache ?? null;
    const ctx = { c, B, T, cos: this.rotary.cos, sin: this.rotary.sin, pos, segments: input.segments ?? null, cache };

    let x = embedding(this.weights.embed, ids, [B, T]); // [B, T, C]
    if (c.embeddingMultiplier !== 1) x = scale(x, c.embeddingMultiplier);
    // pre-norm blocks with each residual add fused into the norm after it (the next block's, or the final one)
    const layers = this.weights.layers;
    const eps = c.rmsNormEps;
    const multiplier = c.residualMultiplier;
    let h = layers.length ? rmsnormForGemm(x, layers[0].inputNorm, eps) : rmsnorm(x, this.weights.norm, eps);
    for (const [li, layer] of layers.entries()) {
      ({ sum: x, out: h } = addRmsnorm(x, attentionBlock(layer, li, h, ctx), layer.postNorm, eps, { multiplier, forGemm: true }));
      const next = layers[li + 1];
      ({ sum: x, out: h } = addRmsnorm(x, mlpBlock(layer, h), next ? next.inputNorm : this.weights.norm, eps,
        { multiplier, forGemm: next !== undefined }));
    }
    if (cache) cache.advance(T);
    x = h;
    // logits / s = (x / s) W^T: dividing the hidden state keeps the fused loss path (Granite logits_scaling)
    if (c.logitsScaling !== 1) x = scale(x, 1 / c.logitsScaling);

    const head = this.weights.lmHead;
    const { loss, sequenceLogps } = headLoss(view(x, [B * T, C]), head, input);
    const mode = input.logits ?? (input.targets ? 'none' : 'all');
    let logits: Tensor | null = null;
    if (mode === 'all') logits = linear(x, head);
    else if (mode === 'last') logits = linear(lastRows(x, B, T, C), head);
    return { logits, loss, sequenceLogps };
  }
}

/** Absolute position of each of the B*T input tokens (default: cache length + t), checked against the ids and
 *  the model's context. */
export function inputPositions(input: ForwardInput, maxPositions: number): Int32Array {
  const { batch: B, seqLen: T, ids, cache } = input;
  if (ids.length !== B * T) {
    throw new ShitateError('E_SHAPE', `forward: ${ids.length} token ids for batch ${B} x ${T} tokens`, 'pass B*T ids, row-major');
  }
  const offset = cache ? cache.length : 0;
  const pos = input.positions ?? Int32Array.from({ length: B * T }, (_, i) => offset + (i % T));
  const maxPos = highestPosition(pos);
  if (maxPos >= maxPositions) {
    throw new ShitateError('E_CONTEXT', `forward: position ${maxPos} exceeds the model's context of ${maxPositions} tokens`,
      'shorten the input (or the conversation history) to fit max_position_embeddings');
  }
  return pos;
}

/** The largest entry of a position list (0 when empty). */
export function highestPosition(a: Int32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]);
  return m;
}

/** [B, T, C] -> [B, 1, C] holding each row's last position (inference only: no gradient). */
export function lastRows(x: Tensor, B: number, T: number, C: number): Tensor {
  const out = new Float32Array(B * C);
  for (let b = 0; b < B; b++) out.set(x.data.subarray(((b + 1) * T - 1) * C, (b + 1) * T * C), b * C);
  return Tensor.from(out, [B, 1, C]);
}

/** A family whose checkpoints are this decoder under transformers' Llama names: only its config differs. */
export function decoderFamily(modelType: string, parseConfig: (f: Fields) => ModelConfig, aliases: readonly string[] = []): Family {
  return defineFamily({ modelType, aliases, parseConfig, table: decoderTable, build: (c, t, w) => new DecoderModel(c, t, w) });
}
