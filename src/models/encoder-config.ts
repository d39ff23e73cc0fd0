// config.json of the encoder families: the BERT-style fields (bert, roberta, xlm-roberta) and ModernBERT's
// (rotary per layer type, local/global alternation, bias switches), both into one EncoderConfig; plus id2label and
// the refusals of settings that would change the math in ways not implemented here.
import { ShitateError } from '../errors.js';
import { isRecord } from '../io/safetensors-header.js';
import type { Fields } from '../io/json-fields.js';
import { refuseField } from './config.js';
import type { EncoderArch, EncoderConfig } from './encoder-types.js';

/** GELU names of transformers' ACT2FN: exact erf, or the tanh approximation. */
function geluKind(f: Fields, key: string, fallback: string): 'erf' | 'tanh' {
  const a = f.obj[key] ?? fallback;
  if (a === 'gelu' || a === 'gelu_python') return 'erf';
  if (a === 'gelu_new' || a === 'gelu_pytorch_tanh' || a === 'gelu_fast') return 'tanh';
  throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: expected "${key}" to be a GELU (gelu, gelu_new, gelu_pytorch_tanh), found ${JSON.stringify(a)}`,
    'the encoders here implement GELU feed-forward blocks; this checkpoint uses another activation');
}

/** id2label as a list by id; null when absent or only transformers' LABEL_i defaults. */
export function parseLabels(f: Fields): string[] | null {
  const raw = f.obj.id2label;
  if (!isRecord(raw)) return null;
  const entries = Object.entries(raw).map(([k, v]) => [Number(k), String(v)] as const);
  const n = entries.length;
  const labels = new Array<string>(n);
  for (const [i, name] of entries) {
    if (!Number.isInteger(i) || i < 0 || i >= n || labels[i] !== undefined) {
      throw new ShitateError('E_CONFIG', `${f.file}: expected id2label keys 0..${n - 1}, found ${JSON.stringify(Object.keys(raw))}`, 'fix id2label so that every class id from 0 appears once');
    }
    labels[i] = name;
  }
  return labels.every((l, i) => l === `LABEL_${i}`) ? null : labels;
}

function refuseCommon(f: Fields): void {
  if (f.has('quantization_config')) refuseField(f, 'quantization_config', 'quantized weights');
  if (f.obj.is_decoder === true) refuseField(f, 'is_decoder', 'a causal (decoder) use of the encoder');
  if (f.obj.add_cross_attention === true) refuseField(f, 'add_cross_attention', 'cross-attention layers');
  const pt = f.obj.problem_type;
  if (pt !== undefined && pt !== null && pt !== 'single_label_classification') {
    refuseField(f, 'problem_type', 'regression or multi-label classification (single-label classification is implemented)');
  }
}

function heads(f: Fields, C: number): { H: number; D: number } {
  const H = f.posInt('num_attention_heads');
  if (C % H !== 0) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected hidden_size (${C}) divisible by num_attention_heads (${H}), found remainder ${C % H}`, 'compare config.json with the original on the Hub');
  }
  return { H, D: C / H };
}

/** BERT, RoBERTa and XLM-RoBERTa (their config classes share the fields; defaults are BertConfig's). */
export function parseBertStyle(f: Fields, arch: Extract<EncoderArch, 'bert' | 'roberta'>): EncoderConfig {
  refuseCommon(f);
  const pos = f.obj.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute') refuseField(f, 'position_embedding_type', 'relative position embeddings (relative_key / relative_key_query)');
  const C = f.posInt('hidden_size', 768);
  const { H, D } = heads(f, C);
  const hiddenDropout = f.optNonNegNum('hidden_dropout_prob') ?? 0.1;
  return {
    modelType: String(f.obj.model_type), arch,
    hiddenSize: C, intermediateSize: f.posInt('intermediate_size', 3072), numLayers: f.posInt('num_hidden_layers', 12),
    numHeads: H, headDim: D, vocabSize: f.posInt('vocab_size'), maxPositions: f.posInt('max_position_embeddings', 512),
    typeVocabSize: f.optInt('type_vocab_size') ?? 2, layerNormEps: f.posNum('layer_norm_eps', 1e-12),
    hiddenAct: geluKind(f, 'hidden_act', 'gelu'), padTokenId: f.optInt('pad_token_id') ?? (arch === 'roberta' ? 1 : 0),
    hiddenDropout, classifierDropout: f.optNonNegNum('classifier_dropout') ?? hiddenDropout,
    initializerRange: f.posNum('initializer_range', 0.02), labels: parseLabels(f),
    layerWindows: [], ropeThetas: [], normBias: true, attentionBias: true, mlpBias: true, classifierBias: true,
    classifierPooling: 'cls', headAct: 'erf', torchDtype: f.optString('dtype') ?? f.optString('torch_dtype'),
  };
}

/** RoPE theta per layer type: 5.x rope_parameters {full_attention, sliding_attention}, else 4.x global/local_rope_theta
 *  (a null local theta means the global one, as the 4.x modeling file reads it). */
function modernBertThetas(f: Fields): { full: number; sliding: number } {
  const rp = f.obj.rope_parameters;
  const global = f.optNum('global_rope_theta') ?? 160_000;
  const local = f.has('local_rope_theta') ? f.posNum('local_rope_theta') : f.obj.local_rope_theta === null ? global : 10_000;
  if (!isRecord(rp)) return { full: global, sliding: local };
  const of = (key: string, fallback: number): number => {
    const p = rp[key];
    if (p === undefined || p === null) return fallback;
    if (!isRecord(p) || (p.rope_type !== undefined && p.rope_type !== 'default')) refuseField(f, 'rope_parameters', `RoPE scaling on ${key} layers`);
    return typeof p.rope_theta === 'number' && p.rope_theta > 0 ? p.rope_theta : fallback;
  };
  return { full: of('full_attention', global), sliding: of('sliding_attention', local) };
}

/** Per layer: global (full_attention) or local. The window follows global_attn_every_n_layers as the attention
 *  module reads it; layer_types, when given, must agree. */
function modernBertLayers(f: Fields, L: number): boolean[] {
  const every = f.posInt('global_attn_every_n_layers', 3);
  const local = Array.from({ length: L }, (_, i) => i % every !== 0);
  const lt = f.obj.layer_types;
  if (Array.isArray(lt)) {
    const fromTypes = lt.map((t) => t === 'sliding_attention');
    if (lt.length !== L || fromTypes.some((x, i) => x !== local[i])) {
      throw new ShitateError('E_CONFIG', `${f.file}: expected layer_types to follow global_attn_every_n_layers ${every} over ${L} layers, found ${JSON.stringify(lt)}`,
        'use the config.json the model was published with');
    }
  }
  return local;
}

export function parseModernBert(f: Fields): EncoderConfig {
  refuseCommon(f);
  const C = f.posInt('hidden_size', 768);
  const { H, D } = heads(f, C);
  const L = f.posInt('num_hidden_layers', 22);
  const local = modernBertLayers(f, L);
  const half = Math.floor(f.posInt('local_attention', 128) / 2);
  const theta = modernBertThetas(f);
  const pooling = f.obj.classifier_pooling ?? 'cls';
  if (pooling !== 'cls' && pooling !== 'mean') refuseField(f, 'classifier_pooling', 'a pooling other than cls or mean');
  return {
    modelType: String(f.obj.model_type), arch: 'modernbert',
    hiddenSize: C, intermediateSize: f.posInt('intermediate_size', 1152), numLayers: L, numHeads: H, headDim: D,
    vocabSize: f.posInt('vocab_size', 50368), maxPositions: f.posInt('max_position_embeddings', 8192), typeVocabSize: 0,
    layerNormEps: f.posNum('norm_eps', 1e-5), hiddenAct: geluKind(f, 'hidden_activation', 'gelu'),
    padTokenId: f.optInt('pad_token_id') ?? 50283, hiddenDropout: 0, classifierDropout: f.optNonNegNum('classifier_dropout') ?? 0,
    initializerRange: f.posNum('initializer_range', 0.02), labels: parseLabels(f),
    layerWindows: local.map((l) => (l ? half : -1)), ropeThetas: local.map((l) => (l ? theta.sliding : theta.full)),
    normBias: f.bool('norm_bias', false), attentionBias: f.bool('attention_bias', false), mlpBias: f.bool('mlp_bias', false),
    classifierBias: f.bool('classifier_bias', false), classifierPooling: pooling === 'mean' ? 'mean' : 'cls',
    headAct: geluKind(f, 'classifier_activation', 'gelu'),
    torchDtype: f.optString('dtype') ?? f.optString('torch_dtype'),
  };
}
