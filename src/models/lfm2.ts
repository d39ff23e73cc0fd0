// model_type "lfm2": Liquid AI's LFM2 (350M, 700M, 1.2B, 2.6B and the LFM2.5 text models). A hybrid decoder whose
// layer_types mix gated short convolutions (in_proj to B, C, x; causal depthwise conv of B*x over conv_L_cache
// tokens; C times that; out_proj) with grouped-query attention with per-head q/k RMSNorm, each followed by a SwiGLU
// MLP whose width is adjusted from intermediate_size (block_auto_adjust_ff_dim). The config also takes the original
// LFM2 keys (block_ff_dim, theta, tie_embedding, full_attn_idxs). Reference: transformers' configuration_lfm2.py /
// modeling_lfm2.py.
import { ShitateError } from '../errors.js';
import { Fields } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import { parseDecoderBase } from './config.js';
import { defineFamily, type Family } from './family.js';
import { Lfm2Model } from './lfm2-model.js';
import { linearSpec, tensorSpec, type LinearSpec, type ParamTable, type TensorSpec } from './params.js';
import type { ModelConfig } from './types.js';

export interface Lfm2Spec {
  /** per layer: gated short convolution ('conv') or attention ('full') */
  kinds: ('conv' | 'full')[];
  /** conv_L_cache: the short convolution's kernel size */
  convKernel: number;
  convBias: boolean;
}

export type Lfm2Config = ModelConfig & { lfm2: Lfm2Spec };

export function lfm2Of(c: ModelConfig): Lfm2Config {
  if (!('lfm2' in c && isRecord(c.lfm2))) {
    throw new ShitateError('E_INTERNAL', `model_type ${c.modelType}: the config was not parsed by the lfm2 family`, 'load the model with loadModel(dir)');
  }
  return c as Lfm2Config;
}

/** Lfm2Config's defaults for fields a config may leave out. */
const DEFAULTS = { vocab_size: 65536, hidden_size: 2560, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8 };

function parseKinds(f: Fields, L: number): ('conv' | 'full')[] {
  const listed = f.obj.layer_types;
  if (listed !== undefined && listed !== null) {
    if (!Array.isArray(listed) || listed.length !== L || !listed.every((t) => t === 'conv' || t === 'full_attention')) {
      throw new ShitateError('E_CONFIG', `${f.file}: expected "layer_types" to list ${L} of "conv"/"full_attention", found ${JSON.stringify(listed)}`,
        'the config is damaged, or its layers are of a kind LFM2 does not have');
    }
    return listed.map((t) => (t === 'conv' ? 'conv' : 'full'));
  }
  const idx = f.obj.full_attn_idxs;
  if (idx === undefined || idx === null) return Array.from({ length: L }, () => 'full');
  if (!Array.isArray(idx) || !idx.every((i) => typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < L)) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "full_attn_idxs" to list layer indices below ${L}, found ${JSON.stringify(idx)}`, 'the config is damaged');
  }
  return Array.from({ length: L }, (_, i) => (idx.includes(i) ? 'full' : 'conv'));
}

/** Lfm2MLP's width: int(2F/3), times block_ffn_dim_multiplier rounded up to block_multiple_of, when auto-adjusted. */
function mlpWidth(f: Fields, F: number): number {
  if (!f.bool('block_auto_adjust_ff_dim', true)) return F;
  let w = Math.trunc((2 * F) / 3);
  const mult = f.obj.block_ffn_dim_multiplier === undefined ? 1 : f.optNum('block_ffn_dim_multiplier');
  if (mult !== null) {
    const of = f.posInt('block_multiple_of', 256);
    w = Math.trunc(mult * w);
    w = of * Math.ceil(w / of);
  }
  return w;
}

export function parseLfm2(f: Fields): Lfm2Config {
  const o = f.obj;
  const theta = o.rope_theta ?? o.theta ?? 1000000;
  const plain = new Fields(f.file, {
    ...DEFAULTS, ...o, intermediate_size: o.block_ff_dim ?? o.intermediate_size ?? 12288, rope_theta: theta,
    rms_norm_eps: o.norm_eps ?? 1e-5, tie_word_embeddings: o.tie_embedding ?? o.tie_word_embeddings ?? true,
    max_position_embeddings: o.max_position_embeddings ?? 128000,
  });
  const base = parseDecoderBase(plain, { maxPositions: 128000, rmsNormEps: 1e-5, ropeTheta: 1000000, tieWordEmbeddings: true });
  return {
    ...base, intermediateSize: mlpWidth(plain, base.intermediateSize), qkNorm: true,
    bosTokenId: f.has('bos_token_id') ? base.bosTokenId : 1, eosTokenIds: f.has('eos_token_id') ? base.eosTokenIds : [2],
    lfm2: { kinds: parseKinds(plain, base.numLayers), convKernel: plain.posInt('conv_L_cache', 3), convBias: plain.bool('conv_bias', false) },
  };
}

export type Lfm2LayerSpec = {
  operatorNorm: TensorSpec; // [C]
  // gated short convolution (null on attention layers)
  convIn: LinearSpec | null; // [3C, C]: B, C, x
  conv: TensorSpec | null; // [C, 1, K]
  convBias: TensorSpec | null; // [C] with conv_bias
  convOut: LinearSpec | null; // [C, C]
  // attention (null on conv layers)
  q: LinearSpec | null; // [H D, C]
  k: LinearSpec | null; // [Hkv D, C]
  v: LinearSpec | null; // [Hkv D, C]
  o: LinearSpec | null; // [C, H D]
  qNorm: TensorSpec | null; // [D]
  kNorm: TensorSpec | null; // [D]
  ffnNorm: TensorSpec; // [C]
  w1: LinearSpec; // [F, C] gate
  w3: LinearSpec; // [F, C] up
  w2: LinearSpec; // [C, F] down
};

export type Lfm2Table = ParamTable<{ embed: TensorSpec; norm: TensorSpec; lmHead: TensorSpec | null }, Lfm2LayerSpec>;

export function lfm2Table(config: ModelConfig): Lfm2Table {
  const c = lfm2Of(config);
  const [C, F, V, H, Hkv, D] = [c.hiddenSize, c.intermediateSize, c.vocabSize, c.numHeads, c.numKvHeads, c.headDim];
  const { convKernel: K, convBias: bias } = c.lfm2;
  const layers = c.lfm2.kinds.map((kind, l): Lfm2LayerSpec => {
    const p = `model.layers.${l}`;
    const cv = kind === 'conv';
    return {
      operatorNorm: tensorSpec(`${p}.operator_norm.weight`, [C]),
      convIn: cv ? linearSpec(`${p}.conv.in_proj`, 3 * C, C, bias) : null,
      conv: cv ? tensorSpec(`${p}.conv.conv.weight`, [C, 1, K]) : null,
      convBias: cv && bias ? tensorSpec(`${p}.conv.conv.bias`, [C]) : null,
      convOut: cv ? linearSpec(`${p}.conv.out_proj`, C, C, bias) : null,
      q: cv ? null : linearSpec(`${p}.self_attn.q_proj`, H * D, C, false),
      k: cv ? null : linearSpec(`${p}.self_attn.k_proj`, Hkv * D, C, false),
      v: cv ? null : linearSpec(`${p}.self_attn.v_proj`, Hkv * D, C, false),
      o: cv ? null : linearSpec(`${p}.self_attn.out_proj`, C, H * D, false),
      qNorm: cv ? null : tensorSpec(`${p}.self_attn.q_layernorm.weight`, [D]),
      kNorm: cv ? null : tensorSpec(`${p}.self_attn.k_layernorm.weight`, [D]),
      ffnNorm: tensorSpec(`${p}.ffn_norm.weight`, [C]),
      w1: linearSpec(`${p}.feed_forward.w1`, F, C, false),
      w3: linearSpec(`${p}.feed_forward.w3`, F, C, false),
      w2: linearSpec(`${p}.feed_forward.w2`, C, F, false),
    };
  });
  return {
    global: {
      embed: tensorSpec('model.embed_tokens.weight', [V, C]),
      norm: tensorSpec('model.embedding_norm.weight', [C]),
      lmHead: c.tieWordEmbeddings ? null : tensorSpec('lm_head.weight', [V, C]),
    },
    layers,
  };
}

/** Floats a layer keeps per token for backward, averaged over the layer kinds (the training estimate). Short conv:
 *  block input and residual, in_proj's output and its three parts, B*x, the conv output, C times it, out_proj's
 *  output; attention: q, k (normed, rotated), v, attention output, out_proj's; both: the SwiGLU MLP. */
function activationsPerToken(config: ModelConfig): number {
  const c = lfm2Of(config);
  const [C, F, HD, KD] = [c.hiddenSize, c.intermediateSize, c.numHeads * c.headDim, c.numKvHeads * c.headDim];
  const conv = 3 * C + 6 * C + 3 * C;
  const full = 3 * C + 4 * HD + 5 * KD;
  const nConv = c.lfm2.kinds.filter((k) => k === 'conv').length;
  return 2 * C + 3 * F + (nConv * conv + (c.lfm2.kinds.length - nConv) * full) / c.lfm2.kinds.length;
}

export const lfm2: Family = defineFamily<Lfm2Table>({
  modelType: 'lfm2', parseConfig: parseLfm2, table: lfm2Table, build: (c, t, w) => new Lfm2Model(lfm2Of(c), t, w), activationsPerToken,
});
