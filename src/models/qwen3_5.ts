// model_type "qwen3_5_text" (Qwen3.5's language model) and "qwen3_5" (the published Qwen3.5 checkpoints: a vision
// wrapper whose text_config is the language model; the vision tower and the multi-token-prediction head are carried
// into merged folders unchanged). A hybrid decoder: layer_types mixes Gated DeltaNet linear attention (fused q/k/v
// projection through a causal conv, the gated delta rule, a gated RMSNorm) with gated full attention (an output gate
// beside each query head, partial rotary), three to one by default; every RMSNorm but the gated one scales by (1 + w).
// Reference: transformers' configuration_qwen3_5.py / modeling_qwen3_5.py.
import { ShitateError } from '../errors.js';
import { Fields } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import { parseDecoderBase, refuseField } from './config.js';
import { defineFamily, type Family } from './family.js';
import { textFields } from './gemma-config.js';
import { linearSpec, tensorSpec, type LinearSpec, type ParamTable, type TensorSpec } from './params.js';
import { Qwen35Model } from './qwen3_5-model.js';
import { parseRope } from './rope.js';
import type { ModelConfig, RopeScaling } from './types.js';

export interface Qwen35Spec {
  /** where the decoder's tensors live: "model." or, in the vision wrapper, "model.language_model." */
  prefix: string;
  /** per layer: Gated DeltaNet ('linear') or gated softmax attention ('full') */
  kinds: ('linear' | 'full')[];
  /** rotary dims of each attention head: head_dim * partial_rotary_factor */
  rotaryDim: number;
  ropeScaling: RopeScaling | null;
  /** the linear-attention layers: query/key heads, value heads, their dims, the conv kernel */
  kHeads: number;
  vHeads: number;
  kDim: number;
  vDim: number;
  convKernel: number;
}

export type Qwen35Config = ModelConfig & { qwen35: Qwen35Spec };

export function qwen35Of(c: ModelConfig): Qwen35Config {
  if (!('qwen35' in c && isRecord(c.qwen35))) {
    throw new ShitateError('E_INTERNAL', `model_type ${c.modelType}: the config was not parsed by the qwen3_5 family`, 'load the model with loadModel(dir)');
  }
  return c as Qwen35Config;
}

/** Qwen3_5TextConfig's defaults for fields a config may leave out. */
const TEXT_DEFAULTS = {
  vocab_size: 248320, hidden_size: 4096, intermediate_size: 12288, num_hidden_layers: 32, num_attention_heads: 16,
  num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 32768,
};

const LAYER_KINDS: Record<string, 'linear' | 'full'> = { linear_attention: 'linear', full_attention: 'full' };

function parseKinds(f: Fields, L: number): ('linear' | 'full')[] {
  const listed = f.obj.layer_types;
  if (listed === undefined || listed === null) {
    const every = f.posInt('full_attention_interval', 4);
    return Array.from({ length: L }, (_, i) => ((i + 1) % every === 0 ? 'full' : 'linear'));
  }
  if (!Array.isArray(listed) || listed.length !== L || !listed.every((t) => typeof t === 'string' && t in LAYER_KINDS)) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "layer_types" to list ${L} of "linear_attention"/"full_attention", found ${JSON.stringify(listed)}`,
      'the config is damaged, or its layers are of a kind Qwen3.5 does not have');
  }
  return listed.map((t) => LAYER_KINDS[String(t)]);
}

/** The language model's config: `text` is the config itself or the wrapper's text_config, `top` the whole file. */
function parseQwen35Text(text: Fields, top: Fields, multimodal: boolean): Qwen35Config {
  if (top !== text && top.has('quantization_config')) refuseField(top, 'quantization_config', 'quantized weights (GPTQ/AWQ/bitsandbytes...)');
  const rp = isRecord(text.obj.rope_parameters) ? text.obj.rope_parameters : {};
  const partial = text.optNum('partial_rotary_factor') ?? new Fields(`${text.file} rope_parameters`, rp).optNum('partial_rotary_factor') ?? 0.25;
  const { partial_rotary_factor: _p, ...rest } = rp;
  const plain = new Fields(text.file, {
    ...TEXT_DEFAULTS, ...text.obj, rope_parameters: rest, partial_rotary_factor: null, rope_scaling: null,
    tie_word_embeddings: text.obj.tie_word_embeddings ?? top.obj.tie_word_embeddings ?? false,
  });
  const base = parseDecoderBase(plain, { maxPositions: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
  const rope = parseRope(plain, 10000, base.maxPositions);
  const rotaryDim = Math.floor(base.headDim * partial);
  if (!(rotaryDim > 0 && rotaryDim % 2 === 0)) refuseField(text, 'partial_rotary_factor', `rotary dims head_dim * factor = ${base.headDim * partial} must be a positive even number`);
  const linear = {
    kHeads: plain.posInt('linear_num_key_heads', 16), vHeads: plain.posInt('linear_num_value_heads', 32),
    kDim: plain.posInt('linear_key_head_dim', 128), vDim: plain.posInt('linear_value_head_dim', 128),
    convKernel: plain.posInt('linear_conv_kernel_dim', 4),
  };
  if (linear.vHeads % linear.kHeads !== 0) {
    throw new ShitateError('E_CONFIG', `${text.file}: expected linear_num_value_heads to be a multiple of linear_num_key_heads (${linear.kHeads}), found ${linear.vHeads}`,
      'the config is inconsistent; compare it with the original on the Hub');
  }
  const bias = plain.bool('attention_bias', false);
  const eos = [...new Set([...text.idList('eos_token_id'), ...(top === text ? [] : top.idList('eos_token_id'))])];
  return {
    ...base, modelType: String(top.obj.model_type), ropeTheta: rope.theta, ropeScaling: null, qkNorm: true,
    attentionBias: bias, attentionOutBias: bias, eosTokenIds: eos,
    torchDtype: base.torchDtype ?? top.optString('torch_dtype') ?? top.optString('dtype'),
    qwen35: {
      prefix: multimodal ? 'model.language_model.' : 'model.', kinds: parseKinds(plain, base.numLayers), rotaryDim,
      ropeScaling: rope.scaling, ...linear,
    },
  };
}

export type Qwen35LayerSpec = {
  inputNorm: TensorSpec; // [C], (1 + w)
  // linear attention (null on full-attention layers)
  conv: TensorSpec | null; // [2 Hk Dk + Hv Dv, 1, K]
  dtBias: TensorSpec | null; // [Hv]
  aLog: TensorSpec | null; // [Hv]
  gatedNorm: TensorSpec | null; // [Dv], plain w
  out: LinearSpec | null; // [C, Hv Dv]
  inQkv: LinearSpec | null; // [2 Hk Dk + Hv Dv, C]
  inZ: LinearSpec | null; // [Hv Dv, C]
  inB: LinearSpec | null; // [Hv, C]
  inA: LinearSpec | null; // [Hv, C]
  // full attention (null on linear-attention layers)
  q: LinearSpec | null; // [H 2D, C]: per head D query rows then D gate rows
  k: LinearSpec | null; // [Hkv D, C]
  v: LinearSpec | null; // [Hkv D, C]
  o: LinearSpec | null; // [C, H D]
  qNorm: TensorSpec | null; // [D], (1 + w)
  kNorm: TensorSpec | null; // [D], (1 + w)
  gate: LinearSpec; // [F, C]
  up: LinearSpec; // [F, C]
  down: LinearSpec; // [C, F]
  postNorm: TensorSpec; // [C], (1 + w)
};

export type Qwen35Table = ParamTable<{ embed: TensorSpec; norm: TensorSpec; lmHead: TensorSpec | null }, Qwen35LayerSpec>;

export function qwen35Table(config: ModelConfig): Qwen35Table {
  const c = qwen35Of(config);
  const s = c.qwen35;
  const [C, F, V, H, Hkv, D] = [c.hiddenSize, c.intermediateSize, c.vocabSize, c.numHeads, c.numKvHeads, c.headDim];
  const [Kd, Vd, Hv] = [s.kHeads * s.kDim, s.vHeads * s.vDim, s.vHeads];
  const bias = c.attentionBias;
  const layers = s.kinds.map((kind, l): Qwen35LayerSpec => {
    const p = `${s.prefix}layers.${l}`;
    const lin = kind === 'linear';
    const la = `${p}.linear_attn`;
    const sa = `${p}.self_attn`;
    return {
      inputNorm: tensorSpec(`${p}.input_layernorm.weight`, [C]),
      conv: lin ? tensorSpec(`${la}.conv1d.weight`, [2 * Kd + Vd, 1, s.convKernel]) : null,
      dtBias: lin ? tensorSpec(`${la}.dt_bias`, [Hv]) : null,
      aLog: lin ? tensorSpec(`${la}.A_log`, [Hv]) : null,
      gatedNorm: lin ? tensorSpec(`${la}.norm.weight`, [s.vDim]) : null,
      out: lin ? linearSpec(`${la}.out_proj`, C, Vd, false) : null,
      inQkv: lin ? linearSpec(`${la}.in_proj_qkv`, 2 * Kd + Vd, C, false) : null,
      inZ: lin ? linearSpec(`${la}.in_proj_z`, Vd, C, false) : null,
      inB: lin ? linearSpec(`${la}.in_proj_b`, Hv, C, false) : null,
      inA: lin ? linearSpec(`${la}.in_proj_a`, Hv, C, false) : null,
      q: lin ? null : linearSpec(`${sa}.q_proj`, H * D * 2, C, bias),
      k: lin ? null : linearSpec(`${sa}.k_proj`, Hkv * D, C, bias),
      v: lin ? null : linearSpec(`${sa}.v_proj`, Hkv * D, C, bias),
      o: lin ? null : linearSpec(`${sa}.o_proj`, C, H * D, bias),
      qNorm: lin ? null : tensorSpec(`${sa}.q_norm.weight`, [D]),
      kNorm: lin ? null : tensorSpec(`${sa}.k_norm.weight`, [D]),
      gate: linearSpec(`${p}.mlp.gate_proj`, F, C, false),
      up: linearSpec(`${p}.mlp.up_proj`, F, C, false),
      down: linearSpec(`${p}.mlp.down_proj`, C, F, false),
      postNorm: tensorSpec(`${p}.post_attention_layernorm.weight`, [C]),
    };
  });
  return {
    global: {
      embed: tensorSpec(`${s.prefix}embed_tokens.weight`, [V, C]),
      norm: tensorSpec(`${s.prefix}norm.weight`, [C]),
      lmHead: c.tieWordEmbeddings ? null : tensorSpec('lm_head.weight', [V, C]),
    },
    layers,
  };
}

/** Floats a layer keeps per token for backward, averaged over the layer kinds (the training estimate). Linear
 *  attention: the block input and residual, the q/k/v projection, its conv output and the three parts cut from it,
 *  the L2-normed q and k, z, the delta rule's output, its norm and gate, the chunk-start states (Hv Dk Dv per 64
 *  tokens), the out_proj output; gated attention: q_proj's query-and-gate output, query, gate, their norms and
 *  rotations, k and v likewise, attention and gated outputs; both: the SwiGLU MLP. */
function activationsPerToken(config: ModelConfig): number {
  const c = qwen35Of(config);
  const s = c.qwen35;
  const [C, F, HD, KD] = [c.hiddenSize, c.intermediateSize, c.numHeads * c.headDim, c.numKvHeads * c.headDim];
  const [Kd, Vd] = [s.kHeads * s.kDim, s.vHeads * s.vDim];
  const linear = 3 * C + 3 * (2 * Kd + Vd) + 2 * Kd + 4 * Vd + (s.vHeads * s.kDim * s.vDim) / 64 + 4 * s.vHeads;
  const full = 3 * C + 2 * HD + 6 * HD + 4 * KD;
  const mlp = 2 * C + 3 * F;
  const nLinear = s.kinds.filter((k) => k === 'linear').length;
  return mlp + (nLinear * linear + (s.kinds.length - nLinear) * full) / s.kinds.length;
}

/** The multi-token-prediction head the published checkpoints ship (transformers and this engine leave it unused). */
const MTP: readonly RegExp[] = [/^mtp\./];
/** The vision tower of the wrapper. */
const VISION: readonly RegExp[] = [/^model\.visual\./];

export const qwen35Text: Family = defineFamily<Qwen35Table>({
  modelType: 'qwen3_5_text', parseConfig: (f) => parseQwen35Text(f, f, false), table: qwen35Table,
  build: (c, t, w) => new Qwen35Model(qwen35Of(c), t, w), ignoredTensors: MTP, carriedTensors: () => MTP, activationsPerToken,
});

export const qwen35: Family = defineFamily<Qwen35Table>({
  modelType: 'qwen3_5',
  parseConfig: (f) => {
    if (f.obj.text_config === undefined) {
      throw new ShitateError('E_CONFIG', `${f.file}: expected "text_config" in a model_type "qwen3_5" config (Qwen3.5 with its vision tower), found none`,
        'pass the original config.json of the model; a text-only Qwen3.5 has model_type "qwen3_5_text"');
    }
    return parseQwen35Text(textFields(f, 'qwen3_5_text'), f, true);
  },
  table: qwen35Table, build: (c, t, w) => new Qwen35Model(qwen35Of(c), t, w),
  ignoredTensors: [...VISION, ...MTP], carriedTensors: () => [...VISION, ...MTP], activationsPerToken,
  // transformers builds this checkpoint as Qwen3_5ForCausalLM (AutoModelForCausalLM), whose decoder layers sit at
  // model.layers.*: PEFT adapters trained that way name them so, and so are the ones saved here; adapters of
  // Qwen3_5ForConditionalGeneration (model.language_model.layers.*) load too
  renames: [[/^model\.layers\./, 'model.language_model.layers.']],
  peftRenames: [[/^model\.language_model\./, 'model.']],
});
