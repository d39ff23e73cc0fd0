// model_type "qwen2" (Qwen2, Qwen2.5, TinySwallow): the Llama block with q/k/v biases (never on o_proj), and
// sliding attention only when use_sliding_window says so. Defaults are transformers' Qwen2Config.
import { parseDecoderBase, qwenSliding } from './config.js';
import { decoderFamily } from './decoder.js';

export const qwen2 = decoderFamily('qwen2', (f) => {
  const c = parseDecoderBase(f, { maxPositions: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
  return { ...c, ...qwenSliding(f, c.numLayers), attentionBias: true };
});
