// model_type "granite" (IBM Granite 3.x dense): the Llama block scaled by four config numbers. Embeddings are
// multiplied by embedding_multiplier, attention scores by attention_multiplier (instead of 1/sqrt(D)), each
// block's output by residual_multiplier before the residual add, and the logits divided by logits_scaling.
// Reference: transformers' modular_granite.py.
import { parseDecoderBase } from './config.js';
import { decoderFamily } from './decoder.js';

export const granite = decoderFamily('granite', (f) => {
  const c = parseDecoderBase(f, { maxPositions: 2048, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
  const bias = f.bool('attention_bias', false);
  return {
    ...c, attentionBias: bias, attentionOutBias: bias, mlpBias: f.bool('mlp_bias', false),
    embeddingMultiplier: f.posNum('embedding_multiplier', 1),
    attentionScale: f.posNum('attention_multiplier', 1),
    residualMultiplier: f.posNum('residual_multiplier', 1),
    logitsScaling: f.posNum('logits_scaling', 1),
  };
});
