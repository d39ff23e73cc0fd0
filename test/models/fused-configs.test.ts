// Phi-3, Falcon and BLOOM configs: the published config.json of real checkpoints (values typed from their Hub pages)
// parse to the right layout and exact parameter counts; LongRoPE, partial rotary and the Falcon layouts as
// transformers 5 reads them; what transformers cannot run (or this engine does not implement) is refused by name.
import { describe, expect, it } from 'vitest';
import { countParams, parameterTable, parseModelConfig, tableTensors } from '../../src/models/index.js';
import { alibiSlopes, kernelSlopes } from '../../src/models/alibi.js';
import type { FalconConfig } from '../../src/models/falcon.js';
import type { Phi3Config } from '../../src/models/phi3.js';
import { expectShitateError } from '../io/helpers.js';

const factors = (n: number, base: number) => Array.from({ length: n }, (_, i) => base + i / 16);

const PHI3_MINI_4K = {
  architectures: ['Phi3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 1, embd_pdrop: 0.0, eos_token_id: 32000,
  hidden_act: 'silu', hidden_size: 3072, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 4096, model_type: 'phi3',
  num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 32, original_max_position_embeddings: 4096, pad_token_id: 32000,
  resid_pdrop: 0.0, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 10000.0, sliding_window: 2047, tie_word_embeddings: false,
  torch_dtype: 'bfloat16', transformers_version: '4.40.2', use_cache: true, vocab_size: 32064,
};

const PHI4_MINI = {
  architectures: ['Phi3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 199999, embd_pdrop: 0.0, eos_token_id: 199999,
  full_attn_mod: 1, hidden_act: 'silu', hidden_size: 3072, initializer_range: 0.02, intermediate_size: 8192, interpolate_factor: 1,
  lm_head_bias: false, max_position_embeddings: 131072, mlp_bias: false, model_type: 'phi3', num_attention_heads: 24, num_hidden_layers: 32,
  num_key_value_heads: 8, original_max_position_embeddings: 4096, pad_token_id: 199999, partial_rotary_factor: 0.75, resid_pdrop: 0.0,
  rms_norm_eps: 1e-5, rope_scaling: { long_factor: factors(48, 1), short_factor: factors(48, 0.5), type: 'longrope' }, rope_theta: 10000.0,
  sliding_window: 262144, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0', use_cache: true, vocab_size: 200064,
};

const FALCON_7B = {
  alibi: false, apply_residual_connection_post_layernorm: false, architectures: ['FalconForCausalLM'], attention_dropout: 0.0, bias: false,
  bos_token_id: 11, eos_token_id: 11, hidden_dropout: 0.0, hidden_size: 4544, initializer_range: 0.02, layer_norm_epsilon: 1e-5,
  model_type: 'falcon', multi_query: true, new_decoder_architecture: false, num_attention_heads: 71, num_hidden_layers: 32,
  parallel_attn: true, torch_dtype: 'bfloat16', transformers_version: '4.27.4', use_cache: true, vocab_size: 65024,
};

const FALCON_40B = {
  ...FALCON_7B, hidden_size: 8192, new_decoder_architecture: true, num_attention_heads: 128, num_hidden_layers: 60, num_kv_heads: 8,
};

const FALCON_RW_1B = {
  ...FALCON_7B, alibi: true, bias: true, bos_token_id: 1, eos_token_id: 2, hidden_size: 2048, multi_query: false, num_attention_heads: 32,
  num_hidden_layers: 24, parallel_attn: false, vocab_size: 50304,
};

const FALCON_11B = {
  ...FALCON_40B, activation: 'gelu', ffn_hidden_size: 16384, hidden_size: 4096, max_position_embeddings: 8192, num_attention_heads: 32,
  num_hidden_layers: 60, num_ln_in_parallel_attn: 1, rope_scaling: null, rope_theta: 500042.0, transformers_version: '4.40.0',
};

const BLOOM_560M = {
  apply_residual_connection_post_layernorm: false, architectures: ['BloomForCausalLM'], attention_dropout: 0.0, attention_softmax_in_fp32: true,
  bias_dropout_fusion: true, bos_token_id: 1, eos_token_id: 2, hidden_dropout: 0.0, hidden_size: 1024, initializer_range: 0.02,
  layer_norm_epsilon: 1e-5, masked_softmax_fusion: true, model_type: 'bloom', n_head: 16, n_inner: null, n_layer: 24, offset_alibi: 100,
  pad_token_id: 3, pretraining_tp: 1, skip_bias_add: true, skip_bias_add_qkv: false, slow_but_exact: false, unk_token_id: 0, use_cache: true,
  vocab_size: 250880,
};

const params = (c: Record<string, unknown>) => countParams(parameterTable(parseModelConfig(c)));

describe('published Phi-3 configs', () => {
  it('Phi-3-mini-4k-instruct: 3,821,079,552 parameters, untied, every layer slides over 2047 tokens, no rope scaling', () => {
    const c = parseModelConfig(PHI3_MINI_4K) as Phi3Config;
    expect(params(PHI3_MINI_4K).total).toBe(3_821_079_552);
    expect(c).toMatchObject({ headDim: 96, numKvHeads: 32, slidingWindow: 2047, tieWordEmbeddings: false, eosTokenIds: [32000] });
    expect(c.layerTypes).toEqual(Array(32).fill('sliding'));
    expect(c.phi3.rope).toEqual({ theta: 10000, rotaryDim: 96, longrope: null });
    const names = tableTensors(parameterTable(c)).map((t) => t.name);
    expect(names).toContain('model.layers.0.self_attn.qkv_proj.weight');
    expect(names).toContain('model.layers.31.mlp.gate_up_proj.weight');
  });

  it('Phi-4-mini-instruct: 3,836,021,760 parameters, tied, 96 of 128 head dims rotate, LongRoPE with factor 128k / 4k', () => {
    const c = parseModelConfig(PHI4_MINI) as Phi3Config;
    expect(params(PHI4_MINI).total).toBe(3_836_021_760);
    expect(c).toMatchObject({ headDim: 128, numHeads: 24, numKvHeads: 8, tieWordEmbeddings: true, maxPositions: 131072 });
    const { rotaryDim, longrope } = c.phi3.rope;
    expect(rotaryDim).toBe(96);
    expect(longrope).toMatchObject({ originalMaxPositions: 4096, short: factors(48, 0.5), long: factors(48, 1) });
    expect(longrope!.attentionFactor).toBeCloseTo(Math.sqrt(1 + Math.log(32) / Math.log(4096)), 12);
  });

  it('LongRoPE as transformers 5 reads it: "su" and "yarn" are longrope, an explicit factor or attention_factor wins', () => {
    const rs = PHI4_MINI.rope_scaling;
    for (const type of ['su', 'yarn']) {
      expect((parseModelConfig({ ...PHI4_MINI, rope_scaling: { ...rs, type } }) as Phi3Config).phi3.rope.longrope).not.toBeNull();
    }
    const withFactor = parseModelConfig({ ...PHI4_MINI, rope_scaling: { ...rs, factor: 4 } }) as Phi3Config;
    expect(withFactor.phi3.rope.longrope!.attentionFactor).toBeCloseTo(Math.sqrt(1 + Math.log(4) / Math.log(4096)), 12);
    const given = parseModelConfig({ ...PHI4_MINI, rope_scaling: { ...rs, attention_factor: 1.25 } }) as Phi3Config;
    expect(given.phi3.rope.longrope!.attentionFactor).toBe(1.25);
    // 5.x layout: rope_parameters holds theta and the partial factor; the top-level original length wins
    const { rope_scaling: _r, rope_theta: _t, partial_rotary_factor: _p, ...rest } = PHI4_MINI;
    const v5 = parseModelConfig({ ...rest, original_max_position_embeddings: 8192, rope_parameters: {
      ...rs, rope_type: 'longrope', rope_theta: 250000, partial_rotary_factor: 0.5, original_max_position_embeddings: 4096,
      long_factor: factors(32, 1), short_factor: factors(32, 1) } }) as Phi3Config;
    expect(v5.phi3.rope).toMatchObject({ theta: 250000, rotaryDim: 64, longrope: { originalMaxPositions: 8192 } });
  });

  it('refuses other rope types, factor lists of the wrong length and odd rotary widths', () => {
    expectShitateError(() => parseModelConfig({ ...PHI3_MINI_4K, rope_scaling: { type: 'linear', factor: 2 } }), 'E_UNSUPPORTED_MODEL', 'longrope', 'linear');
    expectShitateError(() => parseModelConfig({ ...PHI4_MINI, rope_scaling: { ...PHI4_MINI.rope_scaling, long_factor: [1, 2] } }), 'E_CONFIG', 'long_factor', '48');
    expectShitateError(() => parseModelConfig({ ...PHI4_MINI, partial_rotary_factor: 0.7 }), 'E_CONFIG', 'partial_rotary_factor');
    expectShitateError(() => parseModelConfig({ ...PHI4_MINI, quantization_config: { quant_method: 'awq' } }), 'E_UNSUPPORTED_MODEL', 'quantization_config');
  });
});

describe('published Falcon configs', () => {
  it('falcon-7b: multi-query (one kv head), one LayerNorm for parallel attention and MLP, 6,921,720,704 parameters (tied)', () => {
    const c = parseModelConfig(FALCON_7B) as FalconConfig;
    expect(c.falcon).toEqual({ groups: 1, perGroup: 71, norms: 'shared', alibi: false, act: 'erf' });
    expect(c).toMatchObject({ headDim: 64, numKvHeads: 1, intermediateSize: 4 * 4544, tieWordEmbeddings: true, eosTokenIds: [11], hiddenAct: 'gelu' });
    expect(params(FALCON_7B).total).toBe(6_921_720_704);
  });

  it('falcon-40b: 8 kv groups of 16 query heads, ln_attn and ln_mlp, 41,303,293,952 parameters (tied)', () => {
    const c = parseModelConfig(FALCON_40B) as FalconConfig;
    expect(c.falcon).toMatchObject({ groups: 8, perGroup: 16, norms: 'separate' });
    expect(params(FALCON_40B).total).toBe(41_303_293_952);
    expect(tableTensors(parameterTable(c)).map((t) => t.name)).toContain('transformer.h.59.ln_mlp.bias');
  });

  it('falcon-rw-1b: ALiBi, per-head [q, k, v], sequential blocks, biases, 1,311,625,216 parameters', () => {
    const c = parseModelConfig(FALCON_RW_1B) as FalconConfig;
    expect(c.falcon).toEqual({ groups: 32, perGroup: 1, norms: 'sequential', alibi: true, act: 'erf' });
    expect(c).toMatchObject({ numKvHeads: 32, attentionBias: true, mlpBias: true, ropeLayers: Array(24).fill(false) });
    expect(params(FALCON_RW_1B).total).toBe(1_311_625_216);
  });

  it('falcon-11B: grouped layout with one LayerNorm (num_ln_in_parallel_attn 1), ffn 16384, rope theta 500042', () => {
    const c = parseModelConfig(FALCON_11B) as FalconConfig;
    expect(c.falcon).toMatchObject({ groups: 8, perGroup: 4, norms: 'shared' });
    expect(c).toMatchObject({ ropeTheta: 500042, maxPositions: 8192, intermediateSize: 16384 });
    expect(params(FALCON_11B).total).toBe(10_836_484_096);
  });

  it('refuses layouts transformers cannot run and activations it does not implement, naming them', () => {
    expectShitateError(() => parseModelConfig({ ...FALCON_40B, parallel_attn: false }), 'E_UNSUPPORTED_MODEL', 'new_decoder_architecture without parallel_attn');
    expectShitateError(() => parseModelConfig({ ...FALCON_7B, num_ln_in_parallel_attn: 2 }), 'E_UNSUPPORTED_MODEL', 'num_ln_in_parallel_attn 2');
    expectShitateError(() => parseModelConfig({ ...FALCON_7B, activation: 'relu' }), 'E_UNSUPPORTED_MODEL', 'activation', 'relu');
    expectShitateError(() => parseModelConfig({ ...FALCON_7B, rope_scaling: { type: 'dynamic', factor: 2 } }), 'E_UNSUPPORTED_MODEL', 'dynamic');
    expect((parseModelConfig({ ...FALCON_7B, activation: 'gelu_new' }) as FalconConfig).falcon.act).toBe('tanh');
  });
});

describe('published BLOOM configs', () => {
  it('bloom-560m: n_head / n_layer, 559,214,592 parameters, ALiBi on every layer, tied', () => {
    const c = parseModelConfig(BLOOM_560M);
    expect(c).toMatchObject({ numHeads: 16, numLayers: 24, headDim: 64, intermediateSize: 4096, tieWordEmbeddings: true, bosTokenId: 1, eosTokenIds: [2] });
    expect(params(BLOOM_560M).total).toBe(559_214_592);
    // the newer names load the same model
    const { n_head: _h, n_layer: _l, ...rest } = BLOOM_560M;
    expect(params({ ...rest, num_attention_heads: 16, num_hidden_layers: 24 }).total).toBe(559_214_592);
  });
});

describe('ALiBi slopes', () => {
  it('as build_alibi_tensor computes them, for power-of-two and other head counts', () => {
    expect(Array.from(alibiSlopes(8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i));
    expect(Array.from(alibiSlopes(6))).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
    const s12 = alibiSlopes(12);
    expect(Array.from(s12.subarray(8))).toEqual([0.5, 1.5, 2.5, 3.5].map((p) => Math.fround(Math.fround(2 ** -0.5) ** (2 * p))));
    // Falcon rounds the slopes to bfloat16 (2^-0.5 is not a bfloat16 number) and folds in the 1/sqrt(D) scale, twice
    // (transformers adds the bias in the attention and again through the causal mask)
    const f = kernelSlopes(12, 'falcon', 0.125);
    expect(f[8]).toBe(Math.fround(2 * 0.70703125 * 0.125));
    expect(kernelSlopes(12, 'bloom', 0.125)).toEqual(s12);
  });
});
