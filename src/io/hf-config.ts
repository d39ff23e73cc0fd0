// config.json of the Llama family (model_type llama, mistral, qwen2) -> a typed camelCase ModelConfig.
// HF field names stop here. Defaults follow transformers' LlamaConfig, MistralConfig and Qwen2Config.
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { isRecord } from './safetensors-header.js';
import { Fields, readJsonObject, type Json } from './json-fields.js';

export const SUPPORTED_MODEL_TYPES = ['llama', 'mistral', 'qwen2'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];
export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'llama3'] as const;

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface ModelConfig {
  modelType: ModelType;
  hiddenSize: number; // C
  intermediateSize: number; // F
  numLayers: number; // L
  numHeads: number; // H
  numKvHeads: number; // Hkv
  headDim: number; // D
  vocabSize: number; // V
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean;
  /** Attention window in tokens for the layers marked 'sliding' in layerTypes; null when no layer slides. */
  slidingWindow: number | null;
  /** Per layer: full causal attention or sliding-window attention ([L]). */
  layerTypes: ('full' | 'sliding')[];
  /** Bias on q/k/v projections (qwen2 always; llama when attention_bias). */
  attentionBias: boolean;
  /** Bias on o_proj (llama when attention_bias; never qwen2 or mistral). */
  attentionOutBias: boolean;
  /** Bias on gate/up/down projections (llama mlp_bias). */
  mlpBias: boolean;
  hiddenAct: 'silu';
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** Dtype the weights were saved in ("bfloat16", "float16", "float32"), when the config says. */
  torchDtype: string | null;
}

/** Family defaults for optional fields (transformers' config classes). */
const DEFAULTS: Record<ModelType, { maxPositions: number; rmsNormEps: number; ropeTheta: number }> = {
  llama: { maxPositions: 2048, rmsNormEps: 1e-6, ropeTheta: 10000 },
  mistral: { maxPositions: 4096 * 32, rmsNormEps: 1e-6, ropeTheta: 10000 },
  qwen2: { maxPositions: 32768, rmsNormEps: 1e-6, ropeTheta: 10000 },
};

/** Reads `dir/config.json`. */
export function loadModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  const obj = readJsonObject(file, 'a Hugging Face model folder holds config.json next to the weights; download the full folder');
  return parseModelConfig(obj, file);
}

/** Validates a parsed config.json; `file` names it in errors. */
export function parseModelConfig(obj: Json, file = 'config.json'): ModelConfig {
  const f = new Fields(file, obj);
  const modelType = parseModelType(f);
  const d = DEFAULTS[modelType];
  const hiddenSize = f.posInt('hidden_size');
  const numHeads = f.posInt('num_attention_heads');
  const numKvHeads = f.posInt('num_key_value_heads', numHeads);
  const numLayers = f.posInt('num_hidden_layers');
  if (numHeads % numKvHeads !== 0) {
    throw new ShitateError('E_CONFIG', `${file}: expected num_attention_heads (${numHeads}) to be a multiple of num_key_value_heads, found ${numKvHeads}`,
      'the config is inconsistent; compare it with the original on the Hub');
  }
  const headDim = parseHeadDim(f, hiddenSize, numHeads);
  const rope = parseRope(f, d.ropeTheta);
  const { slidingWindow, layerTypes } = parseSliding(f, modelType, numLayers);
  const llamaBias = modelType === 'llama' && f.bool('attention_bias', false);
  return {
    modelType,
    hiddenSize,
    intermediateSize: f.posInt('intermediate_size'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: f.posInt('vocab_size'),
    maxPositions: f.posInt('max_position_embeddings', d.maxPositions),
    rmsNormEps: f.posNum('rms_norm_eps', d.rmsNormEps),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    slidingWindow,
    layerTypes,
    attentionBias: modelType === 'qwen2' || llamaBias,
    attentionOutBias: llamaBias,
    mlpBias: modelType === 'llama' && f.bool('mlp_bias', false),
    hiddenAct: parseAct(f),
    bosTokenId: f.optInt('bos_token_id'),
    eosTokenIds: f.idList('eos_token_id'),
    torchDtype: f.optString('torch_dtype') ?? f.optString('dtype'),
  };
}

function parseModelType(f: Fields): ModelType {
  const t = f.obj.model_type;
  if (typeof t === 'string' && (SUPPORTED_MODEL_TYPES as readonly string[]).includes(t)) return t as ModelType;
  throw new ShitateError('E_UNSUPPORTED_MODEL',
    `${f.file}: expected model_type to be one of ${SUPPORTED_MODEL_TYPES.join(', ')}, found ${t === undefined ? 'no model_type' : JSON.stringify(t)}`,
    `shitate supports the Llama family (${SUPPORTED_MODEL_TYPES.join(', ')}); pick a model of one of these types`);
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
    'the Llama-family forward in shitate implements the SwiGLU MLP only');
}

// rope_scaling (transformers 4.x) or rope_parameters (transformers 5, which also moves rope_theta inside).
// The scaling type is named by "rope_type" or the older "type"; "default" means no scaling.
function parseRope(f: Fields, defaultTheta: number): { theta: number; scaling: RopeScaling | null } {
  const params = f.obj.rope_parameters;
  const paramTheta = isRecord(params) ? new Fields(f.file, params).posNum('rope_theta', Number.NaN) : Number.NaN;
  const theta = f.has('rope_theta') ? f.posNum('rope_theta') : Number.isNaN(paramTheta) ? defaultTheta : paramTheta;
  const raw = f.has('rope_scaling') ? f.obj.rope_scaling : isRecord(params) ? params : null;
  if (raw === null) return { theta, scaling: null };
  if (!isRecord(raw)) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "rope_scaling" to be an object or null, found ${JSON.stringify(raw)}`, 'the config is damaged');
  }
  const type = raw.rope_type ?? raw.type ?? 'default';
  const s = new Fields(`${f.file} rope_scaling`, raw);
  if (type === 'default') return { theta, scaling: null };
  if (type === 'linear') return { theta, scaling: { type: 'linear', factor: s.posNum('factor') } };
  if (type === 'llama3') {
    return {
      theta,
      scaling: {
        type: 'llama3',
        factor: s.posNum('factor'),
        lowFreqFactor: s.posNum('low_freq_factor'),
        highFreqFactor: s.posNum('high_freq_factor'),
        originalMaxPositions: s.posInt('original_max_position_embeddings'),
      },
    };
  }
  throw new ShitateError('E_UNSUPPORTED_MODEL',
    `${f.file}: expected a rope scaling type among ${SUPPORTED_ROPE_TYPES.join(', ')}, found ${JSON.stringify(type)}`,
    'this model uses a long-context RoPE variant shitate does not implement; pick a model without it, or remove rope_scaling to run at the original context length');
}

// Mistral slides every layer by sliding_window (transformers' default 4096 when the key is absent, none when
// null). Qwen2 slides only when use_sliding_window, and then only layers i >= max_window_layers. An
// explicit "layer_types" list (newer configs) wins over both.
function parseSliding(f: Fields, modelType: ModelType, numLayers: number): { slidingWindow: number | null; layerTypes: ('full' | 'sliding')[] } {
  let window: number | null = null;
  let firstSliding = numLayers;
  if (modelType === 'mistral') {
    window = f.obj.sliding_window === undefined ? 4096 : f.has('sliding_window') ? f.posInt('sliding_window') : null;
    firstSliding = 0;
  } else if (modelType === 'qwen2' && f.bool('use_sliding_window', false) && f.has('sliding_window')) {
    window = f.posInt('sliding_window');
    firstSliding = f.optInt('max_window_layers') ?? 28;
  }
  let layerTypes: ('full' | 'sliding')[] = Array.from({ length: numLayers }, (_, i) => (window !== null && i >= firstSliding ? 'sliding' : 'full'));
  const explicit = f.obj.layer_types;
  if (Array.isArray(explicit) && window !== null) {
    if (explicit.length !== numLayers || !explicit.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      throw new ShitateError('E_CONFIG', `${f.file}: expected "layer_types" to list ${numLayers} of "full_attention"/"sliding_attention", found ${JSON.stringify(explicit)}`,
        'the config is damaged');
    }
    layerTypes = explicit.map((t) => (t === 'sliding_attention' ? 'sliding' : 'full'));
  }
  if (!layerTypes.includes('sliding')) window = null;
  return { slidingWindow: window, layerTypes };
}
