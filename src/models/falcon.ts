// model_type "falcon" (Falcon-7B/40B/180B, Falcon-11B, Falcon-RW): LayerNorm decoders with a fused query_key_value
// in one of three layouts (new_decoder_architecture: kv groups; multi_query: one kv head; otherwise per head),
// parallel attention + MLP sharing one input_layernorm or with ln_attn / ln_mlp, or sequential blocks with a
// post_attention_layernorm; GELU; linear biases when `bias`; RoPE, or ALiBi when `alibi`. Defaults: FalconConfig's.
// (Falcon 3 checkpoints are model_type "llama" and load as Llama.) Reference: transformers' modeling_falcon.py.
import { ShitateError } from '../errors.js';
import type { Fields } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import { refuseField } from './config.js';
import { defineFamily } from './family.js';
import { FalconModel } from './falcon-model.js';
import { TRANSFORMER_PREFIX, lnLinearSpecs, lnSpecs, type LnLinearSpecs } from './ln-blocks.js';
import { tensorSpec, type ParamTable, type TensorSpec } from './params.js';
import { parseRope } from './rope.js';
import type { ModelConfig } from './types.js';

export interface FalconSpec {
  /** the fused query_key_value holds `groups` groups of (perGroup query heads, one key, one value) */
  groups: number;
  perGroup: number;
  /** separate: ln_attn + ln_mlp; shared: one input_layernorm feeds parallel attention and MLP; sequential:
   *  attention, residual, post_attention_layernorm, MLP */
  norms: 'separate' | 'shared' | 'sequential';
  alibi: boolean;
  act: 'erf' | 'tanh';
}

export type FalconConfig = ModelConfig & { falcon: FalconSpec };

export function falconOf(c: ModelConfig): FalconConfig {
  if (!('falcon' in c && isRecord(c.falcon))) {
    throw new ShitateError('E_INTERNAL', `model_type ${c.modelType}: the config was not parsed by the falcon family`, 'load the model with loadModel(dir)');
  }
  return c as FalconConfig;
}

/** transformers' ACT2FN names of the GELUs Falcon configs use. */
const ACTS: Record<string, 'erf' | 'tanh'> = { gelu: 'erf', gelu_new: 'tanh', gelu_pytorch_tanh: 'tanh', gelu_fast: 'tanh' };

function unsupported(f: Fields, what: string): never {
  throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: expected a Falcon layout transformers can run, found ${what}`,
    'transformers\' Falcon fails on this combination too; compare config.json with the original on the Hub');
}

/** The layer arrangement and the fused projection's grouping. */
function layout(f: Fields, H: number): Pick<FalconSpec, 'groups' | 'perGroup' | 'norms'> {
  const newArch = f.bool('new_decoder_architecture', false);
  const parallel = f.bool('parallel_attn', true);
  const nLn = f.optInt('num_ln_in_parallel_attn') ?? (newArch ? 2 : null);
  if (nLn !== null && nLn !== 1 && nLn !== 2) unsupported(f, `num_ln_in_parallel_attn ${nLn}`);
  if (newArch && !parallel) unsupported(f, 'new_decoder_architecture without parallel_attn');
  if (!newArch && parallel && nLn === 2) unsupported(f, 'num_ln_in_parallel_attn 2 without new_decoder_architecture');
  const norms = !parallel ? 'sequential' : nLn === 2 ? 'separate' : 'shared';
  if (newArch) {
    const kv = f.has('num_kv_heads') ? f.posInt('num_kv_heads') : f.posInt('n_head_kv', H);
    if (H % kv !== 0) throw new ShitateError('E_CONFIG', `${f.file}: expected num_attention_heads (${H}) to be a multiple of num_kv_heads, found ${kv}`, 'the config is damaged');
    return { groups: kv, perGroup: H / kv, norms };
  }
  return f.bool('multi_query', true) ? { groups: 1, perGroup: H, norms } : { groups: H, perGroup: 1, norms };
}

export function parseFalcon(f: Fields): FalconConfig {
  if (f.has('quantization_config')) refuseField(f, 'quantization_config', 'quantized weights (GPTQ/AWQ/bitsandbytes...)');
  // FalconConfig: n_embed, when given, replaces hidden_size; n_head / n_layer are the older spellings
  const C = f.has('n_embed') ? f.posInt('n_embed') : f.posInt('hidden_size', 4544);
  const H = f.has('num_attention_heads') ? f.posInt('num_attention_heads') : f.posInt('n_head', 71);
  const L = f.has('num_hidden_layers') ? f.posInt('num_hidden_layers') : f.posInt('n_layer', 32);
  if (C % H !== 0) throw new ShitateError('E_CONFIG', `${f.file}: expected hidden_size (${C}) divisible by num_attention_heads (${H})`, 'the config is damaged');
  const D = C / H;
  const alibi = f.bool('alibi', false);
  if (!alibi && D % 2 !== 0) throw new ShitateError('E_CONFIG', `${f.file}: expected an even head dimension for rotary embedding, found ${D}`, 'the config is damaged');
  const activation = f.optString('activation') ?? 'gelu';
  const act = ACTS[activation];
  if (!act) {
    throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: expected activation ${Object.keys(ACTS).map((a) => `"${a}"`).join(', ')}, found ${JSON.stringify(activation)}`,
      'shitate runs Falcon with its GELU MLP; this activation is not implemented');
  }
  const spec: FalconSpec = { ...layout(f, H), alibi, act };
  const maxPositions = f.posInt('max_position_embeddings', 2048);
  // with ALiBi the rotary embedding transformers builds is never applied, so its fields do not matter
  const rope = alibi ? { theta: 10000, scaling: null } : parseRope(f, 10000, maxPositions);
  const bias = f.bool('bias', false);
  return {
    modelType: 'falcon', hiddenSize: C, intermediateSize: f.posInt('ffn_hidden_size', 4 * C), numLayers: L, numHeads: H,
    numKvHeads: spec.groups, headDim: D, vocabSize: f.posInt('vocab_size', 65024), maxPositions,
    rmsNormEps: f.posNum('layer_norm_epsilon', 1e-5), ropeTheta: rope.theta, ropeScaling: rope.scaling,
    tieWordEmbeddings: f.bool('tie_word_embeddings', true), slidingWindow: null,
    layerTypes: Array.from({ length: L }, () => 'full' as const), ropeLayers: Array.from({ length: L }, () => !alibi),
    attentionBias: bias, attentionOutBias: bias, mlpBias: bias, qkNorm: false, embeddingMultiplier: 1, attentionScale: null,
    residualMultiplier: 1, logitsScaling: 1, hiddenAct: act === 'erf' ? 'gelu' : 'gelu_pytorch_tanh',
    bosTokenId: f.has('bos_token_id') ? f.optInt('bos_token_id') : 11,
    eosTokenIds: f.has('eos_token_id') ? f.idList('eos_token_id') : [11],
    torchDtype: f.optString('torch_dtype') ?? f.optString('dtype'), falcon: spec,
  };
}

export type FalconGlobalSpec = {
  embed: TensorSpec; // [V, C]
  normW: TensorSpec; // [C], ln_f
  normB: TensorSpec;
  lmHead: TensorSpec | null; // [V, C]; null when tied
};

export type FalconLayerSpec = LnLinearSpecs & {
  attnNormW: TensorSpec; // [C]: ln_attn or input_layernorm
  attnNormB: TensorSpec;
  mlpNormW: TensorSpec | null; // [C]: ln_mlp or post_attention_layernorm; null when shared
  mlpNormB: TensorSpec | null;
};

export type FalconTable = ParamTable<FalconGlobalSpec, FalconLayerSpec>;

const NORM_NAMES = { separate: ['ln_attn', 'ln_mlp'], shared: ['input_layernorm', null], sequential: ['input_layernorm', 'post_attention_layernorm'] } as const;

export function falconTable(config: ModelConfig): FalconTable {
  const c = falconOf(config);
  const { groups: G, perGroup: n, norms } = c.falcon;
  const [C, F, V, D] = [c.hiddenSize, c.intermediateSize, c.vocabSize, c.headDim];
  const layers = Array.from({ length: c.numLayers }, (_, l): FalconLayerSpec => {
    const p = `transformer.h.${l}`;
    const [attn, mlp] = NORM_NAMES[norms];
    const [attnNormW, attnNormB] = lnSpecs(`${p}.${attn}`, C);
    const [mlpNormW, mlpNormB] = mlp ? lnSpecs(`${p}.${mlp}`, C) : [null, null];
    return { attnNormW, attnNormB, mlpNormW, mlpNormB, ...lnLinearSpecs(p, C, G * (n + 2) * D, F, c.attentionBias) };
  });
  const [normW, normB] = lnSpecs('transformer.ln_f', C);
  return {
    global: {
      embed: tensorSpec('transformer.word_embeddings.weight', [V, C]), normW, normB,
      lmHead: c.tieWordEmbeddings ? null : tensorSpec('lm_head.weight', [V, C]),
    },
    layers,
  };
}

export const falcon = defineFamily<FalconTable>({
  modelType: 'falcon', parseConfig: parseFalcon, table: falconTable, renames: TRANSFORMER_PREFIX,
  build: (c, t, w) => new FalconModel(falconOf(c), t, w),
});
