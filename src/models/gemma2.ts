// model_type "gemma2": Gemma 2 (2B, 9B, 27B). The Gemma block (gemma.ts) with attention-score soft-capping
// (attn_logit_softcapping, 50), final logit soft-capping (final_logit_softcapping, 30), query_pre_attn_scalar for
// the score scale, one RoPE for every layer, and sliding-window attention on every other layer (0, 2, ...).
// Reference: transformers' modeling_gemma2.py / configuration_gemma2.py.
import { parseGemmaBase, type GemmaConfig, type GemmaDefaults } from './gemma-config.js';
import { gemmaFamily } from './gemma.js';
import { parseRope } from './rope.js';
import type { Fields } from '../io/json-fields.js';

/** Gemma2Config's defaults (the 2B shape). */
export const GEMMA2_DEFAULTS: GemmaDefaults = {
  vocabSize: 256000, hiddenSize: 2304, intermediateSize: 9216, numLayers: 26, numHeads: 8, numKvHeads: 4, headDim: 256,
  maxPositions: 8192, slidingWindow: 4096, queryPreAttnScalar: 256, attnSoftcap: 50, finalSoftcap: 30, slidingPattern: 2,
};

export function parseGemma2(f: Fields): GemmaConfig {
  const base = parseGemmaBase(f, GEMMA2_DEFAULTS);
  const { theta, scaling } = parseRope(f, 10000, base.maxPositions);
  const r = { theta, scaling, rotaryFraction: 1 };
  const bias = f.bool('attention_bias', false);
  return {
    ...base, ropeTheta: theta, ropeScaling: scaling, attentionBias: bias, attentionOutBias: bias,
    gemma: { ...base.gemma, prefix: 'model.', multimodal: false, normOffset: 1, rope: { full: r, sliding: r } },
  };
}

export const gemma2 = gemmaFamily('gemma2', parseGemma2);
