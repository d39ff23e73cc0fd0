// config.json of the Gemma families (gemma2, gemma3_text, gemma4_text and the multimodal gemma3 / gemma4 wrappers'
// text_config) into a ModelConfig plus the Gemma knobs: (1 + w) norms, GeGLU activation, sqrt(hidden) embedding
// scale, soft-caps, and a RoPE per layer type. Every field falls back to its config class's default, because a
// wrapper's text_config holds only the fields that differ from them (transformers' to_diff_dict).
import { ShitateError } from '../errors.js';
import { Fields, type Json } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import { refuseField } from './config.js';
import { parseRope } from './rope.js';
import type { ModelConfig, RopeScaling } from './types.js';

/** The RoPE of one layer type. rotaryFraction < 1 is Gemma 4's "proportional" RoPE: the first
 *  fraction * D / 2 frequencies rotate (exponents over the whole head), the rest are 0 (no rotation). */
export interface GemmaRope {
  theta: number;
  scaling: RopeScaling | null;
  rotaryFraction: number;
}

export interface GemmaSpec {
  /** HF name prefix of the decoder weights: "model." (…ForCausalLM) or "model.language_model." (multimodal) */
  prefix: string;
  /** config.json is a multimodal wrapper (gemma3 / gemma4): its vision/audio towers are left unused */
  multimodal: boolean;
  /** RMSNorm multiplies by (normOffset + w): 1 for Gemma 2/3 (weights stored around 0), 0 for Gemma 4 */
  normOffset: number;
  /** GELU of the GeGLU MLP: tanh approximation (gelu_pytorch_tanh) or exact erf ("gelu") */
  act: 'tanh' | 'erf';
  /** token embeddings times sqrt(hidden_size), rounded to float32 as transformers' normaliser is */
  embedScale: number;
  /** cap of the attention scores / of the final logits; 0 = none */
  attnSoftcap: number;
  finalSoftcap: number;
  rope: { full: GemmaRope; sliding: GemmaRope };
}

export type GemmaConfig = ModelConfig & { gemma: GemmaSpec };

export function isGemmaConfig(c: ModelConfig): c is GemmaConfig {
  return 'gemma' in c && isRecord(c.gemma);
}

/** The Gemma knobs of a config this family parsed (an internal error otherwise). */
export function gemmaOf(c: ModelConfig): GemmaConfig {
  if (!isGemmaConfig(c)) {
    throw new ShitateError('E_INTERNAL', `model_type ${c.modelType}: the config was not parsed by a Gemma family`, 'load the model with loadModel(dir)');
  }
  return c;
}

/** One Gemma config class's defaults, for the fields a config.json may leave out. */
export interface GemmaDefaults {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  maxPositions: number;
  slidingWindow: number;
  queryPreAttnScalar: number | null;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** layer i is full attention when (i + 1) % pattern === 0 */
  slidingPattern: number;
}

/** The text part of a config.json: the object itself, or a multimodal wrapper's text_config. */
export function textFields(f: Fields, textType: string): Fields {
  const t = f.obj.text_config;
  if (!isRecord(t)) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "text_config" to be an object (model_type ${JSON.stringify(f.obj.model_type)} wraps a ${textType} text model), found ${JSON.stringify(t)}`,
      'the config is damaged or incomplete; compare it with the original on the Hub');
  }
  return new Fields(`${f.file} text_config`, { model_type: textType, ...t });
}

/** A soft-cap field: absent takes the class default, null means none; returned as 0 for none. */
function softcapField(f: Fields, key: string, fallback: number | null): number {
  if (f.obj[key] === undefined) return fallback ?? 0;
  const v = f.optNum(key);
  if (v !== null && !(v > 0)) refuseField(f, key, 'a soft-cap must be a positive number or null');
  return v ?? 0;
}

/** hidden_activation: the GELU of the GeGLU MLP (Gemma 2-4 read it alone; a hidden_act beside it is unused). */
function parseGeluAct(f: Fields): 'tanh' | 'erf' {
  const a = f.obj.hidden_activation ?? 'gelu_pytorch_tanh';
  if (a === 'gelu_pytorch_tanh' || a === 'gelu_new' || a === 'gelu_fast') return 'tanh';
  if (a === 'gelu') return 'erf';
  throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: expected hidden_activation "gelu_pytorch_tanh" (or "gelu"), found ${JSON.stringify(a)}`,
    'Gemma models use a GELU-gated MLP; the config may belong to another architecture');
}

/** layer_types when listed; otherwise sliding except every `pattern`-th layer (sliding_window_pattern). */
export function gemmaLayerTypes(f: Fields, L: number, pattern: number): ('full' | 'sliding')[] {
  const listed = f.obj.layer_types;
  if (listed !== undefined && listed !== null) {
    if (!Array.isArray(listed) || listed.length !== L || !listed.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      throw new ShitateError('E_CONFIG', `${f.file}: expected "layer_types" to list ${L} of "full_attention"/"sliding_attention", found ${JSON.stringify(listed)}`,
        'the config is damaged; compare it with the original on the Hub');
    }
    return listed.map((t) => (t === 'sliding_attention' ? 'sliding' : 'full'));
  }
  const every = f.posInt('sliding_window_pattern', pattern);
  return Array.from({ length: L }, (_, i) => ((i + 1) % every === 0 ? 'full' : 'sliding'));
}

/** RoPE of one layer type from a parameter object ({rope_type, rope_theta, factor, ...}). */
export function ropeFromParams(f: Fields, key: string, params: Json, defaultTheta: number, maxPositions: number): GemmaRope {
  const { theta, scaling } = parseRope(new Fields(`${f.file} ${key}`, { rope_parameters: params }), defaultTheta, maxPositions);
  return { theta, scaling, rotaryFraction: 1 };
}

/** Gemma 3's two RoPEs: 5.x rope_parameters per layer type, or 4.x rope_theta + rope_scaling (global layers)
 *  and rope_local_base_freq (local layers); rope_scaling given next to rope_parameters extends the global one. */
export function gemma3Ropes(f: Fields, maxPositions: number): { full: GemmaRope; sliding: GemmaRope } {
  const perType = isRecord(f.obj.rope_parameters) && (isRecord(f.obj.rope_parameters.full_attention) || isRecord(f.obj.rope_parameters.sliding_attention))
    ? f.obj.rope_parameters : null;
  const legacy = isRecord(f.obj.rope_scaling) ? f.obj.rope_scaling : null;
  const fullParams: Json = { ...(perType && isRecord(perType.full_attention) ? perType.full_attention : {}), ...(legacy ?? {}) };
  const slidingParams: Json = perType && isRecord(perType.sliding_attention) ? perType.sliding_attention : {};
  if (!perType && isRecord(f.obj.rope_parameters)) Object.assign(fullParams, f.obj.rope_parameters);
  if (fullParams.rope_theta === undefined) fullParams.rope_theta = f.posNum('rope_theta', 1_000_000);
  if (slidingParams.rope_theta === undefined) slidingParams.rope_theta = f.posNum('rope_local_base_freq', 10_000);
  return {
    full: ropeFromParams(f, 'rope_parameters.full_attention', fullParams, 1_000_000, maxPositions),
    sliding: ropeFromParams(f, 'rope_parameters.sliding_attention', slidingParams, 10_000, maxPositions),
  };
}

/** Fields every Gemma family shares, with its class defaults; rope and the family's own knobs are set by the caller. */
export function parseGemmaBase(f: Fields, d: GemmaDefaults, top: Fields = f): Omit<GemmaConfig, 'gemma'> & { gemma: Omit<GemmaSpec, 'rope' | 'prefix' | 'multimodal' | 'normOffset'> } {
  if (top.obj.quantization_config !== undefined && top.obj.quantization_config !== null) {
    refuseField(top, 'quantization_config', 'quantized weights (GPTQ/AWQ/bitsandbytes...)');
  }
  const hiddenSize = f.posInt('hidden_size', d.hiddenSize);
  const numHeads = f.posInt('num_attention_heads', d.numHeads);
  const numKvHeads = f.posInt('num_key_value_heads', d.numKvHeads);
  const numLayers = f.posInt('num_hidden_layers', d.numLayers);
  if (numHeads % numKvHeads !== 0) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected num_attention_heads (${numHeads}) to be a multiple of num_key_value_heads, found ${numKvHeads}`,
      'the config is inconsistent; compare it with the original on the Hub');
  }
  const headDim = f.posInt('head_dim', d.headDim);
  if (headDim % 2 !== 0) throw new ShitateError('E_CONFIG', `${f.file}: expected an even head_dim (rotary embedding pairs), found ${headDim}`, 'the config is damaged');
  if (f.bool('attention_bias', false)) refuseField(f, 'attention_bias', 'biases on the attention projections');
  const scalar = d.queryPreAttnScalar === null ? null : f.posNum('query_pre_attn_scalar', d.queryPreAttnScalar);
  const eos = [...new Set([...f.idList('eos_token_id'), ...(top === f ? [] : top.idList('eos_token_id'))])];
  return {
    modelType: String(top.obj.model_type),
    hiddenSize,
    intermediateSize: f.posInt('intermediate_size', d.intermediateSize),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: f.posInt('vocab_size', d.vocabSize),
    maxPositions: f.posInt('max_position_embeddings', d.maxPositions),
    rmsNormEps: f.posNum('rms_norm_eps', 1e-6),
    ropeTheta: 0,
    ropeScaling: null,
    tieWordEmbeddings: f.bool('tie_word_embeddings', top.bool('tie_word_embeddings', true)),
    slidingWindow: f.posInt('sliding_window', d.slidingWindow),
    layerTypes: gemmaLayerTypes(f, numLayers, d.slidingPattern),
    ropeLayers: Array.from({ length: numLayers }, () => true),
    attentionBias: false,
    attentionOutBias: false,
    mlpBias: false,
    qkNorm: false,
    embeddingMultiplier: 1,
    // query_pre_attn_scalar ** -0.5 (Gemma 2/3); Gemma 4 normalises q and k and scales by 1
    attentionScale: scalar === null ? 1 : scalar ** -0.5,
    residualMultiplier: 1,
    logitsScaling: 1,
    hiddenAct: parseGeluAct(f) === 'tanh' ? 'gelu_pytorch_tanh' : 'gelu',
    bosTokenId: f.has('bos_token_id') ? f.optInt('bos_token_id') : top.has('bos_token_id') ? top.optInt('bos_token_id') : 2,
    eosTokenIds: eos.length > 0 ? eos : [1],
    torchDtype: top.optString('torch_dtype') ?? top.optString('dtype') ?? f.optString('torch_dtype') ?? f.optString('dtype'),
    gemma: {
      act: parseGeluAct(f),
      embedScale: Math.fround(Math.sqrt(hiddenSize)),
      attnSoftcap: softcapField(f, 'attn_logit_softcapping', d.attnSoftcap),
      finalSoftcap: softcapField(f, 'final_logit_softcapping', d.finalSoftcap),
    },
  };
}
