// model_type "gemma4_text" (Gemma4ForCausalLM) and "gemma4" (the multimodal Gemma 4: its text_config and
// language-model weights; vision and audio towers carried into merged folders unchanged). Config parsing: Gemma 4's
// own head dim, kv heads and proportional RoPE on global layers, per-layer input embeddings, KV sharing across the
// last layers, double-wide MLPs on those layers, keys reused as values (attention_k_eq_v) on global layers.
// The mixture-of-experts block (enable_moe_block) is refused. Reference: transformers' configuration_gemma4.py.
import { ShitateError } from '../errors.js';
import type { Fields, Json } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import { refuseField } from './config.js';
import { parseGemmaBase, ropeFromParams, textFields, type GemmaDefaults, type GemmaRope } from './gemma-config.js';
import { defineFamily, type Family } from './family.js';
import { gemma4Table, Gemma4Model, gemma4SharedTensors, type Gemma4Config, type Gemma4Table } from './gemma4-model.js';
import { MULTIMODAL_PARTS } from './gemma3.js';

/** Gemma4TextConfig's defaults. */
const GEMMA4_DEFAULTS: GemmaDefaults = {
  vocabSize: 262144, hiddenSize: 2304, intermediateSize: 9216, numLayers: 30, numHeads: 8, numKvHeads: 4, headDim: 256,
  maxPositions: 131072, slidingWindow: 512, queryPreAttnScalar: null, attnSoftcap: null, finalSoftcap: null, slidingPattern: 6,
};

/** The two RoPEs: rope_parameters per layer type; global layers default to proportional RoPE (a quarter of the
 *  frequencies, theta 1M), local ones to the default RoPE with theta 10k. */
function gemma4Ropes(f: Fields, maxPositions: number, headDim: number, globalHeadDim: number): { full: GemmaRope; sliding: GemmaRope } {
  const given = isRecord(f.obj.rope_parameters) ? f.obj.rope_parameters : {};
  const full: Json = isRecord(given.full_attention) ? given.full_attention : { rope_type: 'proportional', partial_rotary_factor: 0.25, rope_theta: 1e6 };
  const sliding: Json = isRecord(given.sliding_attention) ? given.sliding_attention : { rope_type: 'default', rope_theta: 10000 };
  const one = (key: string, p: Json, theta: number, dim: number): GemmaRope => {
    if (p.rope_type !== 'proportional') {
      if (key === 'full_attention' && dim !== headDim) {
        throw new ShitateError('E_UNSUPPORTED_MODEL', `${f.file}: rope_parameters.full_attention of type ${JSON.stringify(p.rope_type ?? 'default')} rotates head_dim (${headDim}) dimensions, but global layers have global_head_dim ${dim}`,
          'Gemma 4 global layers use rope_type "proportional"; the config is damaged or from another architecture');
      }
      return ropeFromParams(f, `rope_parameters.${key}`, p, theta, maxPositions);
    }
    const { partial_rotary_factor: fraction, ...rest } = p;
    const r = ropeFromParams(f, `rope_parameters.${key}`, { ...rest, rope_type: rest.factor === undefined ? 'default' : 'linear' }, theta, maxPositions);
    const frac = fraction === undefined ? 1 : fraction;
    if (typeof frac !== 'number' || !(frac > 0 && frac <= 1)) {
      throw new ShitateError('E_CONFIG', `${f.file}: expected rope_parameters.${key}.partial_rotary_factor in (0, 1], found ${JSON.stringify(fraction)}`, 'the config is damaged');
    }
    return { ...r, rotaryFraction: frac };
  };
  return { full: one('full_attention', full, 1e6, globalHeadDim), sliding: one('sliding_attention', sliding, 10000, headDim) };
}

/** Per layer, the layer whose keys and values it reuses: the last non-sharing layer of the same type. */
function kvSources(f: Fields, types: ('full' | 'sliding')[]): (number | null)[] {
  const L = types.length;
  const shared = f.optInt('num_kv_shared_layers') ?? 0;
  const first = L - shared;
  return types.map((t, i) => {
    if (!(i >= first && first > 0)) return null;
    const src = types.slice(0, first).lastIndexOf(t);
    if (src < 0) {
      throw new ShitateError('E_CONFIG', `${f.file}: layer ${i} shares keys and values (num_kv_shared_layers ${shared}) but no earlier layer is of its type (${t})`,
        'the config is inconsistent; compare layer_types and num_kv_shared_layers with the original');
    }
    return src;
  });
}

function parseGemma4Text(text: Fields, top: Fields, multimodal: boolean): Gemma4Config {
  if (text.bool('enable_moe_block', false)) refuseField(text, 'enable_moe_block', 'the mixture-of-experts feed-forward block (Gemma 4 26B-A4B)');
  const bidi = text.obj.use_bidirectional_attention;
  if (bidi === 'all') refuseField(text, 'use_bidirectional_attention', 'bidirectional attention over all tokens');
  if (Array.isArray(text.obj.intermediate_size)) refuseField(text, 'intermediate_size', 'a different MLP width per layer');
  const base = parseGemmaBase(text, GEMMA4_DEFAULTS, top);
  const layerTypes = [...base.layerTypes];
  layerTypes[layerTypes.length - 1] = 'full'; // transformers forces the last layer to full attention
  const globalHeadDim = text.has('global_head_dim') ? text.posInt('global_head_dim') : 512;
  const kEqV = text.bool('attention_k_eq_v', false);
  const kvSource = kvSources(text, layerTypes);
  const doubleWide = text.bool('use_double_wide_mlp', false);
  const perLayerDim = text.optInt('hidden_size_per_layer_input') ?? 256;
  const rope = gemma4Ropes(text, base.maxPositions, base.headDim, globalHeadDim);
  const bias = text.bool('attention_bias', false);
  return {
    ...base, layerTypes, ropeTheta: rope.sliding.theta, ropeScaling: rope.sliding.scaling, qkNorm: true, attentionBias: bias, attentionOutBias: bias,
    gemma: { ...base.gemma, rope, normOffset: 0, multimodal, prefix: multimodal ? 'model.language_model.' : 'model.' },
    gemma4: {
      globalHeadDim, kEqV, kvSource, perLayerDim,
      globalKvHeads: text.posInt('num_global_key_value_heads', base.numKvHeads),
      ffn: kvSource.map((s) => base.intermediateSize * (doubleWide && s !== null ? 2 : 1)),
      perLayerVocab: text.posInt('vocab_size_per_layer_input', 262144),
    },
  };
}

function gemma4Family(modelType: string, parse: (f: Fields) => Gemma4Config, multimodal: boolean): Family {
  return defineFamily<Gemma4Table>({
    modelType, parseConfig: parse, table: gemma4Table, build: (c, t, w) => new Gemma4Model(c, t, w),
    ignoredTensors: (c) => [...gemma4SharedTensors(c), ...(multimodal ? MULTIMODAL_PARTS : [])],
    ...(multimodal ? { carriedTensors: () => MULTIMODAL_PARTS } : {}),
  });
}

export const gemma4Text = gemma4Family('gemma4_text', (f) => parseGemma4Text(f, f, false), false);
export const gemma4 = gemma4Family('gemma4', (f) => parseGemma4Text(textFields(f, 'gemma4_text'), f, true), true);
