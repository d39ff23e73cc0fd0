// config.json / generation_config.json parsing: the published configs of four real models (values typed
// from their Hub pages), family defaults, rope scaling variants, sliding windows, and refusals.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGenerationConfig, parseGenerationConfig, resolveEosTokenIds } from '../../src/io/index.js';
import { loadModelConfig, parseModelConfig } from '../../src/models/index.js';
import { expectShitateError, tempDir } from '../io/helpers.js';

const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0,
  hidden_act: 'silu', hidden_size: 576, initializer_range: 0.041666666666666664, intermediate_size: 1536,
  is_llama_config: true, max_position_embeddings: 8192, model_type: 'llama', num_attention_heads: 9,
  num_hidden_layers: 30, num_key_value_heads: 3, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_interleaved: false,
  rope_scaling: null, rope_theta: 100000, tie_word_embeddings: true, torch_dtype: 'bfloat16',
  transformers_version: '4.40.1', use_cache: true, vocab_size: 49152,
};

const LLAMA_32_1B = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000,
  eos_token_id: 128001, head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02,
  intermediate_size: 8192, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama',
  num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1, rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0',
  use_cache: true, vocab_size: 128256,
};

const MISTRAL_7B_V01 = {
  architectures: ['MistralForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 4096,
  initializer_range: 0.02, intermediate_size: 14336, max_position_embeddings: 32768, model_type: 'mistral',
  num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 8, rms_norm_eps: 1e-5, rope_theta: 10000.0,
  sliding_window: 4096, tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.34.0.dev0',
  use_cache: true, vocab_size: 32000,
};

const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643,
  hidden_act: 'silu', hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768,
  max_window_layers: 24, model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2,
  rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16',
  transformers_version: '4.40.1', use_cache: true, use_mrope: false, use_sliding_window: false, vocab_size: 151936,
};

describe('parseModelConfig on published configs', () => {
  it('SmolLM2-135M: head_dim from hidden/heads, tied embeddings, GQA 9/3', () => {
    const c = parseModelConfig(SMOLLM2_135M);
    expect(c).toMatchObject({
      modelType: 'llama', hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3,
      headDim: 576 / 9, vocabSize: 49152, maxPositions: 8192, rmsNormEps: 1e-5, ropeTheta: 100000, ropeScaling: null,
      tieWordEmbeddings: true, slidingWindow: null, attentionBias: false, attentionOutBias: false, mlpBias: false,
      hiddenAct: 'silu', bosTokenId: 0, eosTokenIds: [0], torchDtype: 'bfloat16',
    });
    expect(c.layerTypes).toEqual(Array(30).fill('full'));
  });

  it('Llama-3.2-1B: explicit head_dim and llama3 rope scaling (rope_type key)', () => {
    const c = parseModelConfig(LLAMA_32_1B);
    expect(c).toMatchObject({ headDim: 64, numKvHeads: 8, ropeTheta: 500000, maxPositions: 131072, eosTokenIds: [128001] });
    expect(c.ropeScaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
  });

  it('Mistral-7B-v0.1: every layer slides over 4096 tokens, untied embeddings', () => {
    const c = parseModelConfig(MISTRAL_7B_V01);
    expect(c).toMatchObject({ modelType: 'mistral', headDim: 128, slidingWindow: 4096, tieWordEmbeddings: false, attentionBias: false, bosTokenId: 1, eosTokenIds: [2] });
    expect(c.layerTypes).toEqual(Array(32).fill('sliding'));
    // transformers' MistralConfig defaults sliding_window to 4096 when the key is absent; null disables it
    const { sliding_window: _dropped, ...noKey } = MISTRAL_7B_V01;
    expect(parseModelConfig(noKey).slidingWindow).toBe(4096);
    expect(parseModelConfig({ ...MISTRAL_7B_V01, sliding_window: null }).slidingWindow).toBeNull();
  });

  it('Qwen2.5-0.5B: q/k/v bias, no sliding window when use_sliding_window is false', () => {
    const c = parseModelConfig(QWEN25_05B);
    expect(c).toMatchObject({ modelType: 'qwen2', headDim: 64, numKvHeads: 2, attentionBias: true, attentionOutBias: false, slidingWindow: null, ropeTheta: 1e6, rmsNormEps: 1e-6 });
    const swa = parseModelConfig({ ...QWEN25_05B, use_sliding_window: true, sliding_window: 4096, max_window_layers: 20 });
    expect(swa.slidingWindow).toBe(4096);
    expect(swa.layerTypes.indexOf('sliding')).toBe(20);
    expect(swa.layerTypes.filter((t) => t === 'sliding')).toHaveLength(4);
  });
});

describe('rope scaling', () => {
  it('accepts the older "type" key, and "default" means none', () => {
    expect(parseModelConfig({ ...SMOLLM2_135M, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(parseModelConfig({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'default' } }).ropeScaling).toBeNull();
  });

  it('reads transformers 5 rope_parameters (theta inside)', () => {
    const { rope_theta: _t, rope_scaling: _s, ...rest } = LLAMA_32_1B;
    const c = parseModelConfig({ ...rest, rope_parameters: { ...LLAMA_32_1B.rope_scaling, rope_theta: 500000 } });
    expect(c.ropeTheta).toBe(500000);
    expect(c.ropeScaling?.type).toBe('llama3');
  });

  it('refuses dynamic and longrope scaling, listing the supported ones', () => {
    for (const type of ['dynamic', 'longrope']) {
      expectShitateError(() => parseModelConfig({ ...QWEN25_05B, rope_scaling: { type, factor: 4 } }, 'cfg/config.json'),
        'E_UNSUPPORTED_MODEL', 'cfg/config.json', `"${type}"`, 'default, linear, llama3, yarn');
    }
  });

  it('names a missing llama3 field', () => {
    expectShitateError(() => parseModelConfig({ ...LLAMA_32_1B, rope_scaling: { rope_type: 'llama3', factor: 8 } }),
      'E_CONFIG', 'low_freq_factor', 'missing');
  });
});

describe('refusals', () => {
  it('an unsupported model_type, listing the supported ones', () => {
    expectShitateError(() => parseModelConfig({ ...SMOLLM2_135M, model_type: 'gpt2' }, 'x/config.json'),
      'E_UNSUPPORTED_MODEL', 'x/config.json', '"gpt2"', 'llama, mistral, qwen2');
  });

  it('a missing required field, by its HF name', () => {
    const { hidden_size: _h, ...rest } = SMOLLM2_135M;
    expectShitateError(() => parseModelConfig(rest), 'E_CONFIG', '"hidden_size"', 'missing');
    expectShitateError(() => parseModelConfig({ ...SMOLLM2_135M, num_hidden_layers: '30' }), 'E_CONFIG', '"num_hidden_layers"', '"30"');
  });

  it('inconsistent head counts and an unsupported activation', () => {
    expectShitateError(() => parseModelConfig({ ...SMOLLM2_135M, num_key_value_heads: 4 }), 'E_CONFIG', 'num_key_value_heads', '4');
    expectShitateError(() => parseModelConfig({ ...SMOLLM2_135M, hidden_size: 577 }), 'E_CONFIG', 'head_dim');
    expectShitateError(() => parseModelConfig({ ...SMOLLM2_135M, hidden_act: 'gelu' }), 'E_UNSUPPORTED_MODEL', '"gelu"');
  });
});

describe('loading from a folder', () => {
  it('reads config.json and generation_config.json; eos from both, generation_config first', () => {
    const dir = tempDir('shitate-cfg-');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...QWEN25_05B, eos_token_id: 151643 }));
    // Qwen2.5-0.5B-Instruct's generation_config.json
    fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({
      bos_token_id: 151643, pad_token_id: 151643, do_sample: true, eos_token_id: [151645, 151643],
      repetition_penalty: 1.1, temperature: 0.7, top_p: 0.8, top_k: 20, transformers_version: '4.37.0',
    }));
    const c = loadModelConfig(dir);
    const g = loadGenerationConfig(dir);
    expect(g).toEqual({
      bosTokenId: 151643, eosTokenIds: [151645, 151643], padTokenId: 151643, temperature: 0.7, topP: 0.8, topK: 20,
      repetitionPenalty: 1.1, maxNewTokens: null, maxLength: null, doSample: true,
    });
    expect(resolveEosTokenIds(c, g)).toEqual([151645, 151643]);
    expect(resolveEosTokenIds({ eosTokenIds: [2] }, g, [7, 2])).toEqual([151645, 151643, 2, 7]);
  });

  it('a folder without generation_config.json gets all-null defaults', () => {
    const g = loadGenerationConfig(tempDir('shitate-cfg-'));
    expect(g.eosTokenIds).toEqual([]);
    expect(g.temperature).toBeNull();
  });

  it('Llama-3.2-1B generation_config: a single eos int becomes a list', () => {
    const g = parseGenerationConfig({ _from_model_config: true, bos_token_id: 128000, do_sample: true, eos_token_id: 128001, temperature: 0.6, top_p: 0.9 });
    expect(g.eosTokenIds).toEqual([128001]);
    expect(g.topK).toBeNull();
    expectShitateError(() => parseGenerationConfig({ eos_token_id: ['x'] }, 'g.json'), 'E_CONFIG', 'g.json', 'eos_token_id');
    expect(parseGenerationConfig({ temperature: 0 }).temperature).toBe(0);
    expectShitateError(() => parseGenerationConfig({ temperature: -1 }), 'E_CONFIG', 'temperature', '-1');
  });

  it('names the file on missing and invalid config.json', () => {
    const dir = tempDir('shitate-cfg-');
    expectShitateError(() => loadModelConfig(dir), 'E_NOT_FOUND', path.join(dir, 'config.json'));
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama",');
    expectShitateError(() => loadModelConfig(dir), 'E_JSON', path.join(dir, 'config.json'));
  });
});

// Published configs of the newer families (values typed from their Hub pages)
const QWEN3_06B = {
  architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
  head_dim: 128, hidden_act: 'silu', hidden_size: 1024, initializer_range: 0.02, intermediate_size: 3072, max_position_embeddings: 40960,
  max_window_layers: 28, model_type: 'qwen3', num_attention_heads: 16, num_hidden_layers: 28, num_key_value_heads: 8, rms_norm_eps: 1e-6,
  rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'bfloat16',
  transformers_version: '4.51.0', use_cache: true, use_sliding_window: false, vocab_size: 151936,
};

const SMOLLM3_3B = {
  architectures: ['SmolLM3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: null, eos_token_id: 128012,
  hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 11008, layer_types: Array(36).fill('full_attention'),
  max_position_embeddings: 65536, max_window_layers: 28, mlp_bias: false, model_type: 'smollm3', no_rope_layer_interval: 4,
  no_rope_layers: Array.from({ length: 36 }, (_, i) => ((i + 1) % 4 === 0 ? 0 : 1)), num_attention_heads: 16, num_hidden_layers: 36,
  num_key_value_heads: 4, pad_token_id: 128004, pretraining_tp: 2, rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 5000000.0,
  sliding_window: null, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.54.0.dev0', use_cache: false,
  use_sliding_window: false, vocab_size: 128256,
};

const GRANITE_31_2B = {
  architectures: ['GraniteForCausalLM'], attention_bias: false, attention_dropout: 0.1, attention_multiplier: 0.015625, bos_token_id: 0,
  embedding_multiplier: 12.0, eos_token_id: 0, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192,
  logits_scaling: 8.0, max_position_embeddings: 131072, mlp_bias: false, model_type: 'granite', num_attention_heads: 32,
  num_hidden_layers: 40, num_key_value_heads: 8, pad_token_id: 0, residual_multiplier: 0.22, rms_norm_eps: 1e-5, rope_scaling: null,
  rope_theta: 5000000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.47.0', use_cache: true, vocab_size: 49155,
};

describe('Qwen3, SmolLM3 and Granite configs', () => {
  it('Qwen3-0.6B: explicit head_dim, q/k norms, no biases, tied; head_dim defaults to 128, not hidden/heads', () => {
    const c = parseModelConfig(QWEN3_06B);
    expect(c).toMatchObject({
      modelType: 'qwen3', headDim: 128, qkNorm: true, attentionBias: false, attentionOutBias: false, mlpBias: false,
      tieWordEmbeddings: true, ropeTheta: 1e6, slidingWindow: null, eosTokenIds: [151645], maxPositions: 40960,
    });
    const { head_dim: _d, ...noHeadDim } = QWEN3_06B;
    expect(parseModelConfig(noHeadDim).headDim).toBe(128);
    expect(parseModelConfig({ ...QWEN3_06B, attention_bias: true })).toMatchObject({ attentionBias: true, attentionOutBias: true });
  });

  it('Qwen3 as transformers 5 writes it: rope_parameters (theta inside wins), dtype, layer_types', () => {
    const { rope_theta: _t, rope_scaling: _s, torch_dtype: _d, ...rest } = QWEN3_06B;
    const v5 = { ...rest, dtype: 'bfloat16', rope_parameters: { rope_theta: 1000000, rope_type: 'default' }, layer_types: Array(28).fill('full_attention') };
    expect(parseModelConfig(v5)).toMatchObject({ ropeTheta: 1e6, ropeScaling: null, torchDtype: 'bfloat16', slidingWindow: null });
    expect(parseModelConfig({ ...v5, rope_theta: 10000 }).ropeTheta).toBe(1e6);
  });

  it('Qwen3 with YaRN as its model card adds it: the factor becomes max_position_embeddings / original (transformers 5)', () => {
    const card = { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 32768 };
    expect(parseModelConfig({ ...QWEN3_06B, rope_scaling: card }).ropeScaling).toEqual({
      type: 'yarn', factor: 40960 / 32768, originalMaxPositions: 32768, attentionFactor: 0.1 * Math.log(40960 / 32768) + 1,
      betaFast: 32, betaSlow: 1, truncate: true,
    });
    const long = parseModelConfig({ ...QWEN3_06B, max_position_embeddings: 131072, rope_scaling: card }).ropeScaling;
    expect(long).toMatchObject({ factor: 4, attentionFactor: 0.1 * Math.log(4) + 1 });
    const { original_max_position_embeddings: _o, ...noOriginal } = card;
    expect(parseModelConfig({ ...QWEN3_06B, rope_scaling: { ...noOriginal, attention_factor: 1, beta_fast: 16 } }).ropeScaling)
      .toMatchObject({ factor: 4, originalMaxPositions: 40960, attentionFactor: 1, betaFast: 16 });
  });

  it('SmolLM3-3B: every 4th layer without RoPE, tied, theta 5e6; no_rope_layers derived from the interval when absent', () => {
    const c = parseModelConfig(SMOLLM3_3B);
    expect(c).toMatchObject({ modelType: 'smollm3', headDim: 128, ropeTheta: 5e6, tieWordEmbeddings: true, bosTokenId: null, slidingWindow: null });
    expect(c.ropeLayers.filter((r) => !r)).toHaveLength(9);
    expect(c.ropeLayers.slice(0, 8)).toEqual([true, true, true, false, true, true, true, false]);
    const { no_rope_layers: _n, rope_theta: _t, tie_word_embeddings: _w, layer_types: _l, ...bare } = SMOLLM3_3B;
    const d = parseModelConfig({ ...bare, no_rope_layer_interval: 3 });
    expect(d.ropeLayers.slice(0, 6)).toEqual([true, true, false, true, true, false]);
    expect(d).toMatchObject({ ropeTheta: 2e6, tieWordEmbeddings: true });
    // with use_sliding_window, the NoPE layers are the sliding ones
    const swa = parseModelConfig({ ...bare, use_sliding_window: true, sliding_window: 4096 });
    expect(swa.slidingWindow).toBe(4096);
    expect(swa.layerTypes.map((t) => t === 'sliding')).toEqual(swa.ropeLayers.map((r) => !r));
    expectShitateError(() => parseModelConfig({ ...SMOLLM3_3B, no_rope_layers: [1, 0] }), 'E_CONFIG', 'no_rope_layers', '36');
  });

  it('Granite-3.1-2B: the four multipliers', () => {
    const c = parseModelConfig(GRANITE_31_2B);
    expect(c).toMatchObject({
      modelType: 'granite', embeddingMultiplier: 12, attentionScale: 0.015625, residualMultiplier: 0.22, logitsScaling: 8,
      headDim: 64, tieWordEmbeddings: true, ropeTheta: 5e6,
    });
    const { attention_multiplier: _a, ...noMult } = GRANITE_31_2B;
    expect(parseModelConfig(noMult).attentionScale).toBe(1); // GraniteConfig's default, not 1/sqrt(D)
    expect(parseModelConfig(SMOLLM2_135M)).toMatchObject({ embeddingMultiplier: 1, attentionScale: null, residualMultiplier: 1, logitsScaling: 1, qkNorm: false });
  });

  it('refuses what would change the math unnoticed, naming the field', () => {
    expectShitateError(() => parseModelConfig({ ...QWEN3_06B, quantization_config: { quant_method: 'awq', bits: 4 } }), 'E_UNSUPPORTED_MODEL', 'quantization_config');
    expectShitateError(() => parseModelConfig({ ...SMOLLM2_135M, partial_rotary_factor: 0.5 }), 'E_UNSUPPORTED_MODEL', 'partial_rotary_factor', '0.5');
    expectShitateError(() => parseModelConfig({ ...LLAMA_32_1B, final_logit_softcapping: 30 }), 'E_UNSUPPORTED_MODEL', 'final_logit_softcapping');
    const { rope_theta: _t, rope_scaling: _s, ...rest } = QWEN3_06B;
    expectShitateError(() => parseModelConfig({ ...rest, rope_parameters: { full_attention: { rope_theta: 1e6 }, sliding_attention: { rope_theta: 1e4 } } }),
      'E_UNSUPPORTED_MODEL', 'rope_parameters', 'full_attention');
    expect(parseModelConfig({ ...SMOLLM2_135M, partial_rotary_factor: 1.0, pretraining_tp: 2 }).headDim).toBe(64);
  });
});
