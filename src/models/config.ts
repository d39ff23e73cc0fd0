// The config.json fields every Llama-shaped decoder shares (sizes, heads, head_dim, RoPE, ids, dtype), read
// with a family's defaults into a ModelConfig whose block knobs start at plain Llama; each family file then
// sets its own knobs. Also the refusals that hold for every family: quantized weights, unknown activations.
import { ShitateError } from '../errors.js';
import type { Fields } from '../io/json-fields.js';
import { parseRope } from './rope.js';
import type { ModelConfig } from './types.js';

export interface DecoderDefaults {
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** transformers' default for tie_word_embeddings in this family's config class */
  tieWordEmbeddings: boolean;
}

/** Fields no Llama-shaped family implements: set to anything but their neutral value, they change the math. */
const FOREIGN_FIELDS: { key: string; neutral: unknown[]; what: string }[] = [
  { key: 'quantization_config', neutral: [undefined, null], what: 'quantized weights (GPTQ/AWQ/bitsandbytes...)' },
  { key: 'attn_logit_softcapping', neutral: [undefined, null], what: 'attention logit soft-capping' },
  { key: 'final_logit_softcapping', neutral: [undefined, null], what: 'final logit soft-capping' },
  { key: 'use_qk_norm', neutral: [undefined, null, false], what: 'q/k normalisation' },
  { key: 'rope_interleave', neutral: [undefined, null, false], what: 'interleaved RoPE pairs' },
];

/** Refuses a config field that would change the forward pass in a way this engine does not implement. */
export function refuseField(f: Fields, key: string, what: string): never {
  throw new ShitateError('E_UNSUPPORTED_MODEL',
    `${f.file}: expected no "${key}" (${what}, not implemented for model_type ${JSON.stringify(f.obj.model_type)}), found ${JSON.stringify(f.obj[key])}`,
    'the config asks for math this model_type does not have here: it may belong to another architecture (pass the original config.json), or the feature is not supported yet');
}

function parseHeadDim(f: Fields, hiddenSize: number, numHeads: number): number {
  if (f.has('head_dim')) {
    const d = f.posInt('head_dim');
    if (d % 2 !== 0) throw new ShitateError('E_CONFIG', `${f.file}: expected an even head_dim (rotary embedding pairs), found ${d}`, 'the config is damaged');
    return d;
  }
  if (hiddenSize % numHeads !== 0) {
    throw new ShitateError('E_CONFIG',
      `${f.file}: expected hidden_size (${hiddenSize}) divisible by num_attention_heads (${numHeads}) when head_dim is absent, found remainder ${hiddenSize % numHeads}`,
      'add the model\'s "head_dim" to config.json, or compare the file with the original on the Hub');
  }
  const d = hiddenSize / numHeads;
  if (d % 2 !== 0) throw new ShitateError('E_CONFIG', `${f.file}: expected an even head dimension (rotary embedding pairs), found ${d}`, 'the config is damaged');
  return d;
}

function parseAct(f: Fields): 'silu' {
  const a = f.obj.hidden_act ?? 'silu';
  // transformers' ACT2FN maps "swish" to the same SiLU function.
  if (a === 'silu' || a === 'swish') return 'silu';
  throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: expected hidden_act "silu", found ${JSON.stringify(a)}`,
    'the Llama-shaped decoder in shitate implements the SwiGLU MLP only');
}

/** The shared fields with the family's defaults; every block knob neutral (plain Llama without biases). */
export function parseDecoderBase(f: Fields, d: DecoderDefaults): ModelConfig {
  for (const { key, neutral, what } of FOREIGN_FIELDS) if (!neutral.includes(f.obj[key])) refuseField(f, key, what);
  const hiddenSize = f.posInt('hidden_size');
  const numHeads = f.posInt('num_attention_heads');
  const numKvHeads = f.posInt('num_key_value_heads', numHeads);
  const numLayers = f.posInt('num_hidden_layers');
  if (numHeads % numKvHeads !== 0) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected num_attention_heads (${numHeads}) to be a multiple of num_key_value_heads, found ${numKvHeads}`,
      'the config is inconsistent; compare it with the original on the Hub');
  }
  const maxPositions = f.posInt('max_position_embeddings', d.maxPositions);
  const rope = parseRope(f, d.ropeTheta, maxPositions);
  return {
    modelType: String(f.obj.model_type),
    hiddenSize,
    intermediateSize: f.posInt('intermediate_size'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim: parseHeadDim(f, hiddenSize, numHeads),
    vocabSize: f.posInt('vocab_size'),
    maxPositions,
    rmsNormEps: f.posNum('rms_norm_eps', d.rmsNormEps),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    tieWordEmbeddings: f.bool('tie_word_embeddings', d.tieWordEmbeddings),
    slidingWindow: null,
    layerTypes: Array.from({ length: numLayers }, () => 'full' as const),
    ropeLayers: Array.from({ length: numLayers }, () => true),
    attentionBias: false,
    attentionOutBias: false,
    mlpBias: false,
    qkNorm: false,
    embeddingMultiplier: 1,
    attentionScale: null,
    residualMultiplier: 1,
    logitsScaling: 1,
    hiddenAct: parseAct(f),
    bosTokenId: f.optInt('bos_token_id'),
    eosTokenIds: f.idList('eos_token_id'),
    torchDtype: f.optString('torch_dtype') ?? f.optString('dtype'),
  };
}

/** transformers' layer_types ("full_attention" / "sliding_attention" per layer) when the config lists them,
 *  else null. */
export function parseLayerTypes(f: Fields, numLayers: number): ('full' | 'sliding')[] | null {
  const explicit = f.obj.layer_types;
  if (explicit === undefined || explicit === null) return null;
  if (!Array.isArray(explicit) || explicit.length !== numLayers || !explicit.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "layer_types" to list ${numLayers} of "full_attention"/"sliding_attention", found ${JSON.stringify(explicit)}`,
      'the config is damaged, or its layers are of a kind this model_type does not have');
  }
  return explicit.map((t) => (t === 'sliding_attention' ? 'sliding' : 'full'));
}

/** Qwen2/Qwen3 sliding: only with use_sliding_window, then layers i >= max_window_layers (or as layer_types
 *  says); transformers nulls sliding_window otherwise, so listed sliding layers attend fully. */
export function qwenSliding(f: Fields, numLayers: number): Pick<ModelConfig, 'slidingWindow' | 'layerTypes'> {
  const listed = parseLayerTypes(f, numLayers);
  const full: ('full' | 'sliding')[] = Array.from({ length: numLayers }, () => 'full');
  if (!f.bool('use_sliding_window', false) || !f.has('sliding_window')) return { slidingWindow: null, layerTypes: full };
  const window = f.posInt('sliding_window');
  const first = f.optInt('max_window_layers') ?? 28;
  const layerTypes = listed ?? full.map((_, i) => (i >= first ? 'sliding' : 'full'));
  return { slidingWindow: layerTypes.includes('sliding') ? window : null, layerTypes };
}
