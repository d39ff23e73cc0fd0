// model_type "llama": Llama 2/3/3.1/3.2, SmolLM/SmolLM2, TinyLlama, llm-jp, Swallow, ... Defaults are
// transformers' LlamaConfig; attention_bias puts a bias on q/k/v/o, mlp_bias on gate/up/down.
import { parseDecoderBase } from './config.js';
import { decoderFamily } from './decoder.js';

export const llama = decoderFamily('llama', (f) => {
  const c = parseDecoderBase(f, { maxPositions: 2048, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
  const bias = f.bool('attention_bias', false);
  return { ...c, attentionBias: bias, attentionOutBias: bias, mlpBias: f.bool('mlp_bias', false) };
});
