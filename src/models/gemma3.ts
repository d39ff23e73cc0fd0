// model_type "gemma3_text" (Gemma 3 270M/1B and the text model of the larger ones) and "gemma3" (the multimodal
// Gemma 3 4B/12B/27B: its text_config and language-model weights; the vision tower is left as it is and carried
// into merged folders). The Gemma block (gemma.ts) with per-head q/k norms over (1 + w), five sliding-window
// layers to one global layer, RoPE theta 10k on local and 1M (with the rope scaling) on global layers.
// Soft-caps as transformers 5 computes Gemma 3 (checked against 5.17 on checkpoints that set them): the attention
// soft-cap (attn_logit_softcapping) is never applied, and the final soft-cap only by Gemma3ForCausalLM (gemma3_text),
// not by the multimodal Gemma3ForConditionalGeneration. The published Gemma 3 checkpoints set neither.
// Reference: transformers' modeling_gemma3.py / configuration_gemma3.py.
import { ShitateError } from '../errors.js';
import type { Fields } from '../io/json-fields.js';
import { refuseField } from './config.js';
import { gemma3Ropes, parseGemmaBase, textFields, type GemmaConfig, type GemmaDefaults } from './gemma-config.js';
import { gemmaFamily } from './gemma.js';
import type { Renames } from './renames.js';

/** Gemma3TextConfig's defaults. */
export const GEMMA3_DEFAULTS: GemmaDefaults = {
  vocabSize: 262208, hiddenSize: 2304, intermediateSize: 9216, numLayers: 26, numHeads: 8, numKvHeads: 4, headDim: 256,
  maxPositions: 131072, slidingWindow: 4096, queryPreAttnScalar: 256, attnSoftcap: null, finalSoftcap: null, slidingPattern: 6,
};

/** The text model's fields (`text` is the config itself, or a wrapper's text_config; `top` the whole file). */
function parseGemma3Text(text: Fields, top: Fields, multimodal: boolean): GemmaConfig {
  if (text.bool('use_bidirectional_attention', false)) {
    refuseField(text, 'use_bidirectional_attention', 'bidirectional attention (an embedding model, not a causal LM)');
  }
  const base = parseGemmaBase(text, GEMMA3_DEFAULTS, top);
  const rope = gemma3Ropes(text, base.maxPositions);
  const bias = text.bool('attention_bias', false);
  return {
    ...base, ropeTheta: rope.full.theta, ropeScaling: rope.full.scaling, qkNorm: true, attentionBias: bias, attentionOutBias: bias,
    gemma: {
      ...base.gemma, rope, normOffset: 1, multimodal, attnSoftcap: 0, finalSoftcap: multimodal ? 0 : base.gemma.finalSoftcap,
      prefix: multimodal ? 'model.language_model.' : 'model.',
    },
  };
}

export const gemma3Text = gemmaFamily('gemma3_text', (f) => parseGemma3Text(f, f, false));

/** The parts of a multimodal wrapper beside its language model (vision and audio towers, projectors). */
export const MULTIMODAL_PARTS: readonly RegExp[] = [
  /^model\.(vision_tower|multi_modal_projector|embed_vision|audio_tower|embed_audio)\./,
];

/** transformers' key mapping for multimodal Gemma 3 checkpoints saved by 4.50/4.51 (language_model.model.*,
 *  vision_tower.*, ...), which load under today's names. */
export const GEMMA3_RENAMES: Renames = [
  [/^language_model\.model\./, 'model.language_model.'], [/^language_model\.lm_head\./, 'lm_head.'],
  [/^vision_tower\./, 'model.vision_tower.'], [/^multi_modal_projector\./, 'model.multi_modal_projector.'],
];

export const gemma3 = gemmaFamily('gemma3', (f) => {
  if (f.obj.text_config === undefined) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "text_config" in a model_type "gemma3" config (the multimodal Gemma 3), found none`,
      'pass the original config.json of the model; text-only Gemma 3 models have model_type "gemma3_text"');
  }
  return parseGemma3Text(textFields(f, 'gemma3_text'), f, true);
}, {
  renames: GEMMA3_RENAMES,
  carriedTensors: () => MULTIMODAL_PARTS,
  ignoredTensors: MULTIMODAL_PARTS,
});
