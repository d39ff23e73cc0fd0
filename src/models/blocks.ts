// The pieces of a Llama-shaped decoder shared by every family that has one: its parameter table under the
// HF names (model.layers.N.self_attn.q_proj, ...), the attention block (optional per-head q/k RMSNorm, RoPE or
// NoPE per layer, GQA, sliding window, score scale), the SwiGLU MLP and the scaled residual add.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, L layers.
import { type Tensor, add, attention, computePrecision, rmsnorm, rope, scale, swiglu, view } from '../tensor/index.js';
import { applyLinear } from './linear.js';
import type { KVCache } from './kv-cache.js';
import { linearSpec, tensorSpec, type LinearSpec, type LoadedRecord, type ParamTable, type TensorSpec } from './params.js';
import type { ModelConfig } from './types.js';

export type DecoderGlobalSpec = {
  embed: TensorSpec; // [V, C]
  norm: TensorSpec; // [C]
  /** [V, C]; null when tied to the embedding */
  lmHead: TensorSpec | null;
};

export type DecoderLayerSpec = {
  inputNorm: TensorSpec; // [C]
  q: LinearSpec; // [H*D, C]
  k: LinearSpec; // [Hkv*D, C]
  v: LinearSpec; // [Hkv*D, C]
  o: LinearSpec; // [C, H*D]
  /** [D], per-head RMSNorm weights (Qwen3); null without q/k norm */
  qNorm: TensorSpec | null;
  kNorm: TensorSpec | null;
  postNorm: TensorSpec; // [C]
  gate: LinearSpec; // [F, C]
  up: LinearSpec; // [F, C]
  down: LinearSpec; // [C, F]
};

export type DecoderTable = ParamTable<DecoderGlobalSpec, DecoderLayerSpec>;
export type DecoderLayer = LoadedRecord<DecoderLayerSpec>;

/** The Llama parameter table under transformers' names; biases and q/k norms as the config says. */
export function decoderTable(c: ModelConfig): DecoderTable {
  const [C, F, V, H, Hkv, D] = [c.hiddenSize, c.intermediateSize, c.vocabSize, c.numHeads, c.numKvHeads, c.headDim];
  const layers = Array.from({ length: c.numLayers }, (_, l): DecoderLayerSpec => {
    const p = `model.layers.${l}`;
    return {
      inputNorm: tensorSpec(`${p}.input_layernorm.weight`, [C]),
      q: linearSpec(`${p}.self_attn.q_proj`, H * D, C, c.attentionBias),
      k: linearSpec(`${p}.self_attn.k_proj`, Hkv * D, C, c.attentionBias),
      v: linearSpec(`${p}.self_attn.v_proj`, Hkv * D, C, c.attentionBias),
      o: linearSpec(`${p}.self_attn.o_proj`, C, H * D, c.attentionOutBias),
      qNorm: c.qkNorm ? tensorSpec(`${p}.self_attn.q_norm.weight`, [D]) : null,
      kNorm: c.qkNorm ? tensorSpec(`${p}.self_attn.k_norm.weight`, [D]) : null,
      postNorm: tensorSpec(`${p}.post_attention_layernorm.weight`, [C]),
      gate: linearSpec(`${p}.mlp.gate_proj`, F, C, c.mlpBias),
      up: linearSpec(`${p}.mlp.up_proj`, F, C, c.mlpBias),
      down: linearSpec(`${p}.mlp.down_proj`, C, F, c.mlpBias),
    };
  });
  return {
    global: {
      embed: tensorSpec('model.embed_tokens.weight', [V, C]),
      norm: tensorSpec('model.norm.weight', [C]),
      lmHead: c.tieWordEmbeddings ? null : tensorSpec('lm_head.weight', [V, C]),
    },
    layers,
  };
}

/** What one attention call needs besides the layer's weights. */
export interface AttentionContext {
  c: ModelConfig;
  B: number;
  T: number;
  /** rotary tables [P, D/2] and the absolute position of each of the B*T rows */
  cos: Float32Array;
  sin: Float32Array;
  pos: Int32Array;
  segments: Int32Array | null;
  cache: KVCache | null;
}

/** Self-attention of layer li on normed input h [B, T, C] -> o_proj output [B, T, C]. The order follows
 *  transformers: project, view per head, q/k norm over D, RoPE (unless a NoPE layer), cache, attend. */
export function attentionBlock(layer: DecoderLayer, li: number, h: Tensor, a: AttentionContext): Tensor {
  const { c, B, T } = a;
  const [H, Hkv, D] = [c.numHeads, c.numKvHeads, c.headDim];
  let q = view(applyLinear(layer.q, h), [B, T, H, D]);
  let k = view(applyLinear(layer.k, h), [B, T, Hkv, D]);
  let v = view(applyLinear(layer.v, h), [B, T, Hkv, D]);
  if (layer.qNorm) q = rmsnorm(q, layer.qNorm, c.rmsNormEps);
  if (layer.kNorm) k = rmsnorm(k, layer.kNorm, c.rmsNormEps);
  if (c.ropeLayers[li]) {
    // in bf16 training attention rounds q and k to bf16 first: RoPE hands them over rounded (same numbers, half the memory)
    const bf16Out = computePrecision() === 'bf16' && !a.cache;
    q = rope(q, a.cos, a.sin, a.pos, { bf16Out });
    k = rope(k, a.cos, a.sin, a.pos, { bf16Out });
  }
  if (a.cache) [k, v] = a.cache.append(li, k, v, T);
  const window = c.layerTypes[li] === 'sliding' && c.slidingWindow ? c.slidingWindow : 0;
  const out = attention(q, k, v, { window, segments: a.segments, ...(c.attentionScale !== null ? { scale: c.attentionScale } : {}) });
  return applyLinear(layer.o, view(out, [B, T, H * D]));
}

/** down(silu(gate(h)) * up(h)), the SwiGLU MLP. [B, T, C] -> [B, T, C] */
export function mlpBlock(layer: DecoderLayer, h: Tensor): Tensor {
  return applyLinear(layer.down, swiglu(applyLinear(layer.gate, h), applyLinear(layer.up, h)));
}

/** x + y * multiplier (Granite scales each block's output; 1 elsewhere, where no scale op is recorded). */
export function residual(x: Tensor, y: Tensor, multiplier: number): Tensor {
  return add(x, multiplier === 1 ? y : scale(y, multiplier));
}
