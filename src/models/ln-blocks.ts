// Pieces shared by the LayerNorm decoders (Falcon, BLOOM): LayerNorm weight + bias slots of the parameter table,
// the attention and GELU-MLP linears under transformers' names (transformer.h.N.self_attention.query_key_value,
// .dense, mlp.dense_h_to_4h, mlp.dense_4h_to_h), and attention over a grouped fused query_key_value with RoPE or
// ALiBi. Legend: B batch, T tokens, C hidden, H heads, G kv groups, D head dim, F ffn.
import { type Tensor, attention, gelu, rope, view } from '../tensor/index.js';
import { splitGroupedQkv } from './fused.js';
import type { KVCache } from './kv-cache.js';
import { applyLinear, type Linear } from './linear.js';
import { linearSpec, tensorSpec, type LinearSpec, type TensorSpec } from './params.js';
import type { Renames } from './renames.js';

/** LayerNorm `name` ([C] weight and bias). */
export function lnSpecs(name: string, C: number): [TensorSpec, TensorSpec] {
  return [tensorSpec(`${name}.weight`, [C]), tensorSpec(`${name}.bias`, [C])];
}

export type LnLinearSpecs = {
  qkv: LinearSpec; // [rows, C], the fused query_key_value
  dense: LinearSpec; // [C, C]
  up: LinearSpec; // [F, C], dense_h_to_4h
  down: LinearSpec; // [C, F], dense_4h_to_h
};

/** The four linears of layer prefix p ("transformer.h.3"). */
export function lnLinearSpecs(p: string, C: number, qkvRows: number, F: number, bias: boolean): LnLinearSpecs {
  return {
    qkv: linearSpec(`${p}.self_attention.query_key_value`, qkvRows, C, bias),
    dense: linearSpec(`${p}.self_attention.dense`, C, C, bias),
    up: linearSpec(`${p}.mlp.dense_h_to_4h`, F, C, bias),
    down: linearSpec(`${p}.mlp.dense_4h_to_h`, C, F, bias),
  };
}

/** Checkpoints saved from the base model (bloom-560m and others) name tensors without "transformer."; transformers
 *  adds its base_model_prefix when it loads them, so they are read under the prefixed names here. */
export const TRANSFORMER_PREFIX: Renames = [[/^(?=(word_embeddings|word_embeddings_layernorm|ln_f)\.|h\.\d+\.)/, 'transformer.']];

/** down(gelu(up(h))), GELU exact (erf) or tanh. [B, T, C] -> [B, T, C] */
export function geluMlp(up: Linear, down: Linear, h: Tensor, act: 'erf' | 'tanh'): Tensor {
  return applyLinear(down, gelu(applyLinear(up, h), act));
}

export interface FusedAttention {
  B: number;
  T: number;
  H: number;
  /** kv groups G and query heads per group n of the fused layout (see splitGroupedQkv) */
  groups: number;
  perGroup: number;
  D: number;
  pos: Int32Array;
  segments: Int32Array | null;
  cache: KVCache | null;
  /** rotary tables [P, D/2], or null with ALiBi */
  rotary: { cos: Float32Array; sin: Float32Array } | null;
  /** [H] slopes in the kernel's terms, or null with RoPE */
  alibi: Float32Array | null;
}

/** Self-attention of layer li over the fused projection: h [B, T, C] -> dense output [B, T, C]. */
export function fusedAttention(qkvLinear: Linear, dense: Linear, li: number, h: Tensor, a: FusedAttention): Tensor {
  const { B, T, H, D } = a;
  let [q, k, v] = splitGroupedQkv(applyLinear(qkvLinear, h), B, T, a.groups, a.perGroup, D);
  if (a.rotary) {
    q = rope(q, a.rotary.cos, a.rotary.sin, a.pos);
    k = rope(k, a.rotary.cos, a.rotary.sin, a.pos);
  }
  if (a.cache) [k, v] = a.cache.append(li, k, v, T);
  const out = attention(q, k, v, { alibi: a.alibi, segments: a.segments });
  return applyLinear(dense, view(out, [B, T, H * D]));
}
