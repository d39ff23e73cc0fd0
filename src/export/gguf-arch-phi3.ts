// Phi-3 / Phi-3.5 / Phi-4-mini in GGUF (llama.cpp's "phi3" arch, as convert_hf_to_gguf's Phi3MiniModel writes
// it): the fused qkv_proj and gate_up_proj kept fused (attn_qkv, ffn_up holding [gate | up]), the rotary
// dimension count of a partial rotary embedding, and LongRoPE as the rope_factors_short / _long tensors with the
// attention factor as a key. llama.cpp picks the long factors by context size, not by prompt length.
import type { ModelConfig } from '../models/index.js';
import { phi3Of } from '../models/phi3.js';
import { refuse, type GgufArch } from './gguf-arch.js';
import type { GgufMetadata } from './gguf-writer.js';

const u32 = (value: number) => ({ type: 'u32' as const, value });

/** convert's attention factor: from max / original positions, whatever the config says. */
function attnFactor(c: ModelConfig): number {
  const lr = phi3Of(c).phi3.rope.longrope;
  const scale = lr ? c.maxPositions / lr.originalMaxPositions : 1;
  return scale > 1 && lr ? Math.sqrt(1 + Math.log(scale) / Math.log(lr.originalMaxPositions)) : 1;
}

const phi3: GgufArch = {
  arch: 'phi3', permuteQK: false, llamaKeys: false,
  names: { 'self_attn.qkv_proj': 'attn_qkv', 'mlp.gate_up_proj': 'ffn_up' },
  check(c) {
    const { longrope } = phi3Of(c).phi3.rope;
    if (c.attentionBias || c.attentionOutBias || c.mlpBias) refuse(c, 'projection bias');
    if (c.hiddenAct !== 'silu') refuse(c, `${c.hiddenAct} MLP activation`);
    if (longrope && Math.abs(longrope.attentionFactor - attnFactor(c)) > 1e-6) refuse(c, `a LongRoPE attention_factor other than the one derived from the context lengths (${longrope.attentionFactor})`);
  },
  extra(c): GgufMetadata {
    const { rotaryDim, longrope } = phi3Of(c).phi3.rope;
    const meta: GgufMetadata = [
      ['phi3.rope.dimension_count', u32(rotaryDim)],
      ['phi3.attention.sliding_window', u32(c.slidingWindow ?? 0)],
    ];
    if (longrope) {
      meta.push(['phi3.rope.scaling.original_context_length', u32(longrope.originalMaxPositions)],
        ['phi3.rope.scaling.attn_factor', { type: 'f32', value: attnFactor(c) }]);
    }
    return meta;
  },
  caveat(c) {
    const lr = phi3Of(c).phi3.rope.longrope;
    return lr ? `llama.cpp uses the long LongRoPE factors whenever the context size exceeds ${lr.originalMaxPositions} tokens, where transformers switches only once a sequence does` : null;
  },
  generated(c) {
    const lr = phi3Of(c).phi3.rope.longrope;
    return lr ? [{ name: 'rope_factors_long.weight', values: Float32Array.from(lr.long) }, { name: 'rope_factors_short.weight', values: Float32Array.from(lr.short) }] : [];
  },
};

export const PHI3_ARCHS: Readonly<Record<string, GgufArch>> = { phi3 };
