// model_type "qwen3" (Qwen3 dense): the Llama block with per-head RMSNorm of q and k over head_dim
// (self_attn.q_norm / k_norm) before RoPE, head_dim 128 unless the config says, attention_bias on q/k/v/o,
// no MLP bias, Qwen-style optional sliding layers. Reference: transformers' modeling_qwen3.py.
import { parseDecoderBase, qwenSliding } from './config.js';
import { decoderFamily } from './decoder.js';

export const qwen3 = decoderFamily('qwen3', (f) => {
  const c = parseDecoderBase(f, { maxPositions: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
  const bias = f.bool('attention_bias', false);
  // Qwen3Config's head_dim defaults to 128, not hidden_size / num_attention_heads
  const headDim = f.has('head_dim') ? c.headDim : 128;
  return { ...c, ...qwenSliding(f, c.numLayers), headDim, attentionBias: bias, attentionOutBias: bias, qkNorm: true };
});
