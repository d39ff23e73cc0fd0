// The hybrid decoders in GGUF: LFM2 (llama.cpp's "lfm2", as convert_hf_to_gguf's LFM2Model writes it: gated short
// convolutions under shortconv.*, the conv kernel squeezed to [C, K] and kept F32, head_count_kv per layer with 0
// marking a conv layer, the final norm under token_embd_norm) and Qwen3.5 (llama.cpp's "qwen35").
import type { ModelConfig } from '../models/index.js';
import { lfm2Of } from '../models/lfm2.js';
import { refuse, type GgufArch } from './gguf-arch.js';
import type { GgufMetadata } from './gguf-writer.js';

const u32 = (value: number) => ({ type: 'u32' as const, value });

const lfm2: GgufArch = {
  arch: 'lfm2', permuteQK: false, llamaKeys: true,
  names: {
    operator_norm: 'attn_norm', ffn_norm: 'ffn_norm',
    'feed_forward.w1': 'ffn_gate', 'feed_forward.w3': 'ffn_up', 'feed_forward.w2': 'ffn_down',
    'conv.in_proj': 'shortconv.in_proj', 'conv.conv': 'shortconv.conv', 'conv.out_proj': 'shortconv.out_proj',
    'self_attn.q_layernorm': 'attn_q_norm', 'self_attn.k_layernorm': 'attn_k_norm', 'self_attn.out_proj': 'attn_output',
  },
  squeeze: /\.conv\.conv\.weight$/,
  check(c: ModelConfig) {
    const s = lfm2Of(c).lfm2;
    if (s.convBias) refuse(c, 'short-convolution biases (conv_bias: true)');
    if (s.convKernel < 2) refuse(c, `a short convolution of ${s.convKernel} tap (conv_L_cache below 2)`);
    if (c.ropeScaling !== null && c.ropeScaling.type !== 'linear') refuse(c, `${c.ropeScaling.type} RoPE scaling`);
    if (c.attentionBias || c.attentionOutBias || c.mlpBias) refuse(c, 'projection bias');
  },
  extra(c): GgufMetadata {
    const s = lfm2Of(c).lfm2;
    return [
      ['lfm2.attention.head_count_kv', { type: 'i32s', value: s.kinds.map((k) => (k === 'conv' ? 0 : c.numKvHeads)) }],
      ['lfm2.shortconv.l_cache', u32(s.convKernel)],
    ];
  },
};

/** model_type -> llama.cpp arch for the hybrid decoders. */
export const HYBRID_ARCHS: Readonly<Record<string, GgufArch>> = { lfm2 };
