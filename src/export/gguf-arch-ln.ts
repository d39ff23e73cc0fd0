// Falcon and BLOOM in GGUF (llama.cpp's "falcon" / "bloom", as convert_hf_to_gguf writes them): LayerNorms with
// biases, the fused query_key_value regrouped from per-group [q heads | k | v] into [all q | all k | all v], GELU
// MLPs. llama.cpp runs Falcon only as the parallel RoPE block without biases, BLOOM with ALiBi of max bias 8.
import { falconOf } from '../models/falcon.js';
import type { BloomConfig } from '../models/bloom.js';
import { ShitateError } from '../errors.js';
import { refuse, type GgufArch } from './gguf-arch.js';
import type { GgufMetadata } from './gguf-writer.js';

/** Row order that turns a fused projection of G groups, each [n query heads, one key, one value] of D rows, into
 *  [G n query heads | G keys | G values] (convert's "jploski" layout for Falcon; BLOOM's [H][q, k, v] is G = H,
 *  n = 1). out row i = in row order[i]. */
export function groupedQkvOrder(G: number, n: number, D: number): Int32Array {
  const order = new Int32Array(G * (n + 2) * D);
  let o = 0;
  const put = (g: number, slot: number) => {
    for (let d = 0; d < D; d++) order[o++] = (g * (n + 2) + slot) * D + d;
  };
  for (let g = 0; g < G; g++) for (let j = 0; j < n; j++) put(g, j);
  for (let g = 0; g < G; g++) put(g, n);
  for (let g = 0; g < G; g++) put(g, n + 1);
  return order;
}

const isQkv = (hf: string) => /\.self_attention\.query_key_value\.(weight|bias)$/.test(hf);
const str = (value: string) => ({ type: 'string' as const, value });

const falcon: GgufArch = {
  arch: 'falcon', permuteQK: false, llamaKeys: false, layerNorm: true,
  // Falcon-40B's two norms: ln_mlp feeds the MLP (llama.cpp's attn_norm), ln_attn the attention (attn_norm_2)
  names: { ln_attn: 'attn_norm_2', ln_mlp: 'attn_norm' },
  check(c) {
    const f = falconOf(c).falcon;
    if (f.alibi) {
      throw new ShitateError('E_EXPORT_UNSUPPORTED', 'gguf: llama.cpp\'s "falcon" graph expected rotary positions, found alibi: true (a Falcon-RW model)',
        'llama.cpp has no ALiBi Falcon; serve this model with `shitate serve` or vLLM, or export it as a Hugging Face folder (`shitate merge`)');
    }
    if (f.norms === 'sequential') refuse(c, 'sequential attention then MLP (parallel_attn: false)');
    if (c.attentionBias || c.mlpBias) refuse(c, 'linear biases (bias: true)');
    if (c.ropeScaling !== null && c.ropeScaling.type !== 'linear') refuse(c, `${c.ropeScaling.type} RoPE scaling`);
  },
  extra: (): GgufMetadata => [['falcon.tensor_data_layout', str('jploski')]],
  caveat: (c) => (falconOf(c).falcon.act === 'erf' ? 'llama.cpp computes Falcon\'s GELU in its tanh form where transformers uses the exact (erf) one: logits differ slightly' : null),
  rowOrder(hf, c) {
    const f = falconOf(c).falcon;
    return isQkv(hf) ? groupedQkvOrder(f.groups, f.perGroup, c.headDim) : null;
  },
};

const bloom: GgufArch = {
  arch: 'bloom', permuteQK: false, llamaKeys: false, layerNorm: true,
  check(c) {
    if ('bloom' in c && (c as BloomConfig).bloom.postLnResidual) refuse(c, 'residual connections after the LayerNorm (apply_residual_connection_post_layernorm)');
  },
  extra: () => [],
  rowOrder: (hf, c) => (isQkv(hf) ? groupedQkvOrder(c.numHeads, 1, c.headDim) : null),
};

/** model_type -> llama.cpp arch for the LayerNorm decoders with a fused query_key_value. */
export const LN_ARCHS: Readonly<Record<string, GgufArch>> = { falcon, bloom };
