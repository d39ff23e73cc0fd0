// The hybrid decoders in GGUF as convert_hf_to_gguf writes them: LFM2 ("lfm2": short convolutions under shortconv.*,
// kv heads per layer with 0 on conv layers) and Qwen3.5 ("qwen35": Gated DeltaNet under ssm_* / attn_qkv / attn_gate,
// A as -exp(A_log), (1 + w) norms shifted but the gated one, value heads regrouped to tiled order).
import type { ModelConfig } from '../models/index.js';
import { lfm2Of } from '../models/lfm2.js';
import { qwen35Of } from '../models/qwen3_5.js';
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

/** Index order that turns value heads grouped by key head ([G][r][dim], HF) into tiled order ([r][G][dim]), the
 *  layout llama.cpp broadcasts the key heads over. out index i = in index order[i]. */
export function tiledHeads(G: number, r: number, dim: number, offset = 0): Int32Array {
  const order = new Int32Array(G * r * dim);
  let o = 0;
  for (let j = 0; j < r; j++) for (let g = 0; g < G; g++) for (let d = 0; d < dim; d++) order[o++] = offset + (g * r + j) * dim + d;
  return order;
}

/** Identity over the first `keep` indices, then `tail` (already offset by keep). */
function after(keep: number, tail: Int32Array): Int32Array {
  const order = new Int32Array(keep + tail.length);
  for (let i = 0; i < keep; i++) order[i] = i;
  order.set(tail, keep);
  return order;
}

/** The value-head regrouping of one linear-attention tensor (rows), or null (other tensors; as many value heads as
 *  key heads). */
function vRows(hf: string, c: ModelConfig): Int32Array | null {
  const s = qwen35Of(c).qwen35;
  if (s.kHeads === s.vHeads || !hf.includes('.linear_attn.')) return null;
  const [G, r, Kd2] = [s.kHeads, s.vHeads / s.kHeads, 2 * s.kHeads * s.kDim];
  if (/\.(in_proj_qkv|conv1d)\.weight$/.test(hf)) return after(Kd2, tiledHeads(G, r, s.vDim, Kd2));
  if (/\.in_proj_z\.weight$/.test(hf)) return tiledHeads(G, r, s.vDim);
  if (/\.(in_proj_a\.weight|in_proj_b\.weight|A_log|dt_bias)$/.test(hf)) return tiledHeads(G, r, 1);
  return null;
}

const LAYER = /^model\.(?:language_model\.)?layers\.(\d+)\.linear_attn\.(A_log|dt_bias)$/;

const qwen35: GgufArch = {
  arch: 'qwen35', permuteQK: false, llamaKeys: false,
  names: {
    post_attention_layernorm: 'post_attention_norm',
    'linear_attn.in_proj_qkv': 'attn_qkv', 'linear_attn.in_proj_z': 'attn_gate', 'linear_attn.in_proj_b': 'ssm_beta',
    'linear_attn.in_proj_a': 'ssm_alpha', 'linear_attn.conv1d': 'ssm_conv1d', 'linear_attn.norm': 'ssm_norm', 'linear_attn.out_proj': 'ssm_out',
  },
  squeeze: /\.conv1d\.weight$/,
  rename(hf) {
    const m = LAYER.exec(hf);
    return m ? (m[2] === 'A_log' ? `blk.${m[1]}.ssm_a` : `blk.${m[1]}.ssm_dt.bias`) : null;
  },
  check(c) {
    const s = qwen35Of(c).qwen35;
    if (s.kDim !== s.vDim) refuse(c, `linear-attention key and value head dims that differ (${s.kDim} and ${s.vDim})`);
    if (c.attentionBias) refuse(c, 'attention projection bias');
    if (s.ropeScaling !== null) refuse(c, `${s.ropeScaling.type} RoPE scaling`);
    if (interval(c) === null) refuse(c, 'layer_types other than one full-attention layer every n layers');
  },
  extra(c): GgufMetadata {
    const s = qwen35Of(c).qwen35;
    return [
      ['qwen35.ssm.conv_kernel', u32(s.convKernel)], ['qwen35.ssm.state_size', u32(s.kDim)], ['qwen35.ssm.group_count', u32(s.kHeads)],
      ['qwen35.ssm.time_step_rank', u32(s.vHeads)], ['qwen35.ssm.inner_size', u32(s.vDim * s.vHeads)],
      ['qwen35.full_attention_interval', u32(interval(c) ?? 4)], ['qwen35.rope.dimension_count', u32(s.rotaryDim)],
      ['qwen35.rope.dimension_sections', { type: 'i32s', value: ropeSections(s.rotaryDim / 2) }],
    ];
  },
  transform(hf, x) {
    if (hf.endsWith('.A_log')) return x.map((v) => -Math.exp(v));
    // every RMSNorm scales by (1 + w) but the gated one after the delta rule
    return hf.endsWith('norm.weight') && !hf.endsWith('linear_attn.norm.weight') ? x.map((v) => v + 1) : x;
  },
  rowOrder: vRows,
  colOrder(hf, c) {
    const s = qwen35Of(c).qwen35;
    return s.kHeads !== s.vHeads && hf.endsWith('.linear_attn.out_proj.weight') ? tiledHeads(s.kHeads, s.vHeads / s.kHeads, s.vDim) : null;
  },
  leavesOut: (c) => (c.modelType === 'qwen3_5' ? 'the vision tower (llama.cpp loads it from a separate mmproj file) and the multi-token-prediction head: the GGUF is the text model' : null),
};

/** Interleaved MRoPE sections over n rotary pairs: pair i rotates by the t, h or w position as i % 3 is 0, 1, 2,
 *  so each section holds its share of the pairs ([11, 11, 10, 0] for Qwen3.5's 32, the published mrope_section).
 *  A text prompt's three positions are equal, so any split covering every pair decodes alike. */
function ropeSections(n: number): number[] {
  return [Math.ceil(n / 3), Math.ceil((n - 1) / 3), Math.ceil((n - 2) / 3), 0];
}

/** Layers per full-attention layer when layer_types follow llama.cpp's fixed pattern ((i + 1) % n === 0), else null. */
function interval(c: ModelConfig): number | null {
  const kinds = qwen35Of(c).qwen35.kinds;
  const n = kinds.indexOf('full') + 1;
  if (n === 0) return kinds.length + 1;
  return kinds.every((k, i) => (k === 'full') === ((i + 1) % n === 0)) ? n : null;
}

/** model_type -> llama.cpp arch for the hybrid decoders. */
export const HYBRID_ARCHS: Readonly<Record<string, GgufArch>> = { lfm2, qwen3_5_text: qwen35, qwen3_5: qwen35 };
