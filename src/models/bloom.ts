// model_type "bloom" (BLOOM, BLOOMZ): word embeddings followed by their own LayerNorm, blocks of LayerNorm +
// attention over the per-head fused query_key_value ([H][q, k, v][D]) with ALiBi, and LayerNorm + a GELU (tanh,
// bloom_gelu) MLP; biases on every linear; apply_residual_connection_post_layernorm; tied LM head. n_head / n_layer
// are BloomConfig's names for the head and layer counts. Reference: transformers' modeling_bloom.py.
import { ShitateError } from '../errors.js';
import type { Fields } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import { type Tensor, add, embedding, layernorm } from '../tensor/index.js';
import { kernelSlopes } from './alibi.js';
import { refuseField } from './config.js';
import { inputPositions } from './decoder.js';
import { defineFamily } from './family.js';
import { TRANSFORMER_PREFIX, fusedAttention, geluMlp, lnLinearSpecs, lnSpecs, type FusedAttention, type LnLinearSpecs } from './ln-blocks.js';
import { tensorSpec, type LoadedRecord, type LoadedTable, type ParamTable, type TensorSpec } from './params.js';
import { TableModel, lmHeadOutput } from './table-model.js';
import type { ForwardInput, ForwardOutput, ModelConfig } from './types.js';

export type BloomConfig = ModelConfig & { bloom: { postLnResidual: boolean } };

function bloomOf(c: ModelConfig): BloomConfig {
  if (!('bloom' in c && isRecord(c.bloom))) {
    throw new ShitateError('E_INTERNAL', `model_type ${c.modelType}: the config was not parsed by the bloom family`, 'load the model with loadModel(dir)');
  }
  return c as BloomConfig;
}

/** An integer field under BloomConfig's name or its alias (the first one present wins), else the default. */
function count(f: Fields, keys: readonly string[], fallback: number): number {
  const key = keys.find((k) => f.has(k));
  return key ? f.posInt(key) : fallback;
}

export function parseBloom(f: Fields): BloomConfig {
  if (f.has('quantization_config')) refuseField(f, 'quantization_config', 'quantized weights (GPTQ/AWQ/bitsandbytes...)');
  const C = count(f, ['n_embed', 'hidden_size'], 64);
  const H = count(f, ['n_head', 'num_attention_heads'], 8);
  const L = count(f, ['n_layer', 'num_hidden_layers'], 2);
  if (C % H !== 0) throw new ShitateError('E_CONFIG', `${f.file}: expected hidden_size (${C}) divisible by n_head (${H})`, 'the config is damaged');
  return {
    modelType: 'bloom', hiddenSize: C, intermediateSize: 4 * C, numLayers: L, numHeads: H, numKvHeads: H, headDim: C / H,
    vocabSize: f.posInt('vocab_size', 250880),
    // ALiBi has no position table; BLOOM was trained on 2048-token sequences
    maxPositions: count(f, ['max_position_embeddings', 'seq_length'], 2048),
    rmsNormEps: f.posNum('layer_norm_epsilon', 1e-5), ropeTheta: 10000, ropeScaling: null,
    tieWordEmbeddings: f.bool('tie_word_embeddings', true), slidingWindow: null,
    layerTypes: Array.from({ length: L }, () => 'full' as const), ropeLayers: Array.from({ length: L }, () => false),
    attentionBias: true, attentionOutBias: true, mlpBias: true, qkNorm: false, embeddingMultiplier: 1, attentionScale: null,
    residualMultiplier: 1, logitsScaling: 1, hiddenAct: 'gelu_pytorch_tanh',
    bosTokenId: f.has('bos_token_id') ? f.optInt('bos_token_id') : 1, eosTokenIds: f.has('eos_token_id') ? f.idList('eos_token_id') : [2],
    torchDtype: f.optString('torch_dtype') ?? f.optString('dtype'),
    bloom: { postLnResidual: f.bool('apply_residual_connection_post_layernorm', false) },
  };
}

export type BloomGlobalSpec = {
  embed: TensorSpec; // [V, C]
  embedNormW: TensorSpec; // [C], word_embeddings_layernorm
  embedNormB: TensorSpec;
  normW: TensorSpec; // [C], ln_f
  normB: TensorSpec;
  lmHead: TensorSpec | null; // [V, C]; null when tied
};

export type BloomLayerSpec = LnLinearSpecs & {
  inputNormW: TensorSpec; // [C]
  inputNormB: TensorSpec;
  postNormW: TensorSpec; // [C]
  postNormB: TensorSpec;
};

export type BloomTable = ParamTable<BloomGlobalSpec, BloomLayerSpec>;
type BloomLayer = LoadedRecord<BloomLayerSpec>;

export function bloomTable(c: ModelConfig): BloomTable {
  const [C, V] = [c.hiddenSize, c.vocabSize];
  const layers = Array.from({ length: c.numLayers }, (_, l): BloomLayerSpec => {
    const p = `transformer.h.${l}`;
    const [inputNormW, inputNormB] = lnSpecs(`${p}.input_layernorm`, C);
    const [postNormW, postNormB] = lnSpecs(`${p}.post_attention_layernorm`, C);
    return { inputNormW, inputNormB, postNormW, postNormB, ...lnLinearSpecs(p, C, 3 * C, 4 * C, true) };
  });
  const [embedNormW, embedNormB] = lnSpecs('transformer.word_embeddings_layernorm', C);
  const [normW, normB] = lnSpecs('transformer.ln_f', C);
  return {
    global: {
      embed: tensorSpec('transformer.word_embeddings.weight', [V, C]), embedNormW, embedNormB, normW, normB,
      lmHead: c.tieWordEmbeddings ? null : tensorSpec('lm_head.weight', [V, C]),
    },
    layers,
  };
}

export class BloomModel extends TableModel<BloomTable> {
  declare readonly config: BloomConfig;
  private readonly slopes: Float32Array;

  constructor(config: BloomConfig, table: BloomTable, loaded: LoadedTable<BloomTable>) {
    super(config, table, loaded);
    this.slopes = kernelSlopes(config.numHeads, 'bloom', 1 / Math.sqrt(config.headDim));
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const { batch: B, seqLen: T, ids } = input;
    const pos = inputPositions(input, c.maxPositions);
    const cache = input.cache ?? null;
    const a: FusedAttention = {
      B, T, H: c.numHeads, groups: c.numHeads, perGroup: 1, D: c.headDim, pos, segments: input.segments ?? null, cache,
      rotary: null, alibi: this.slopes,
    };
    const g = this.loaded.global;
    let x = layernorm(embedding(g.embed, ids, [B, T]), g.embedNormW, g.embedNormB, c.rmsNormEps); // [B, T, C]
    for (const [li, layer] of this.loaded.layers.entries()) x = this.block(layer, li, x, a);
    if (cache) cache.advance(T);
    return lmHeadOutput(layernorm(x, g.normW, g.normB, c.rmsNormEps), g.lmHead ?? g.embed, input);
  }

  /** One BloomBlock: dense(attention) + residual, then mlp + residual, the residual being the normed input
   *  with apply_residual_connection_post_layernorm. x [B, T, C] -> [B, T, C] */
  private block(layer: BloomLayer, li: number, x: Tensor, a: FusedAttention): Tensor {
    const { rmsNormEps: eps, bloom } = this.config;
    let h = layernorm(x, layer.inputNormW, layer.inputNormB, eps);
    const mid = add(fusedAttention(layer.qkv, layer.dense, li, h, a), bloom.postLnResidual ? h : x);
    h = layernorm(mid, layer.postNormW, layer.postNormB, eps);
    return add(geluMlp(layer.up, layer.down, h, 'tanh'), bloom.postLnResidual ? h : mid);
  }
}

export const bloom = defineFamily<BloomTable>({
  modelType: 'bloom', parseConfig: parseBloom, table: bloomTable, renames: TRANSFORMER_PREFIX,
  build: (c, t, w) => new BloomModel(bloomOf(c), t, w),
});
