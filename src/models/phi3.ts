// model_type "phi3": Phi-3, Phi-3.5, Phi-4 and Phi-4-mini. The Llama block with fused projections — qkv_proj
// [q | k | v] and gate_up_proj [gate | up], each one linear layer as PEFT targets it — partial rotary embedding
// (partial_rotary_factor), LongRoPE (short/long factors, attention factor, original_max_position_embeddings) and
// sliding-window attention on every layer when the config sets sliding_window. Defaults: Phi3Config's.
// Reference: transformers' modeling_phi3.py / configuration_phi3.py.
import { ShitateError } from '../errors.js';
import { Fields } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import type { DecoderGlobalSpec } from './blocks.js';
import { parseDecoderBase } from './config.js';
import { defineFamily } from './family.js';
import { parsePhi3Rope, type Phi3Rope } from './longrope.js';
import { linearSpec, tensorSpec, type LinearSpec, type ParamTable, type TensorSpec } from './params.js';
import { Phi3Model } from './phi3-model.js';
import type { ModelConfig } from './types.js';

export type Phi3Config = ModelConfig & { phi3: { rope: Phi3Rope } };

export function isPhi3Config(c: ModelConfig): c is Phi3Config {
  return 'phi3' in c && isRecord(c.phi3);
}

export function phi3Of(c: ModelConfig): Phi3Config {
  if (!isPhi3Config(c)) {
    throw new ShitateError('E_INTERNAL', `model_type ${c.modelType}: the config was not parsed by the phi3 family`, 'load the model with loadModel(dir)');
  }
  return c;
}

export function parsePhi3(f: Fields): Phi3Config {
  // the shared fields without the RoPE ones, which Phi-3 reads its own way (partial rotary, LongRoPE)
  const plain = new Fields(f.file, { ...f.obj, rope_scaling: null, rope_parameters: null, rope_theta: null, partial_rotary_factor: null });
  const base = parseDecoderBase(plain, { maxPositions: 4096, rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: false });
  const rope = parsePhi3Rope(f, base.headDim, base.maxPositions);
  const window = f.has('sliding_window') ? f.posInt('sliding_window') : null;
  return {
    ...base, ropeTheta: rope.theta, slidingWindow: window,
    layerTypes: base.layerTypes.map(() => (window === null ? 'full' : 'sliding')),
    phi3: { rope },
  };
}

export type Phi3LayerSpec = {
  inputNorm: TensorSpec; // [C]
  qkv: LinearSpec; // [(H + 2 Hkv) D, C]
  o: LinearSpec; // [C, H D]
  postNorm: TensorSpec; // [C]
  gateUp: LinearSpec; // [2F, C]
  down: LinearSpec; // [C, F]
};

export type Phi3Table = ParamTable<DecoderGlobalSpec, Phi3LayerSpec>;

export function phi3Table(c: ModelConfig): Phi3Table {
  const [C, F, V, H, Hkv, D] = [c.hiddenSize, c.intermediateSize, c.vocabSize, c.numHeads, c.numKvHeads, c.headDim];
  const layers = Array.from({ length: c.numLayers }, (_, l): Phi3LayerSpec => {
    const p = `model.layers.${l}`;
    return {
      inputNorm: tensorSpec(`${p}.input_layernorm.weight`, [C]),
      qkv: linearSpec(`${p}.self_attn.qkv_proj`, (H + 2 * Hkv) * D, C, false),
      o: linearSpec(`${p}.self_attn.o_proj`, C, H * D, false),
      postNorm: tensorSpec(`${p}.post_attention_layernorm.weight`, [C]),
      gateUp: linearSpec(`${p}.mlp.gate_up_proj`, 2 * F, C, false),
      down: linearSpec(`${p}.mlp.down_proj`, C, F, false),
    };
  });
  return {
    global: {
      embed: tensorSpec('model.embed_tokens.weight', [V, C]),
      norm: tensorSpec('model.norm.weight', [C]),
      lmHead: c.tieWordEmbeddings ? null : tensorSpec('lm_head.weight', [V, C]),
    },
    layers,
  };
}

export const phi3 = defineFamily<Phi3Table>({
  modelType: 'phi3', parseConfig: parsePhi3, table: phi3Table, build: (c, t, w) => new Phi3Model(phi3Of(c), t, w),
});
