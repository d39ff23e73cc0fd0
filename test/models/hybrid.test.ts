// The hybrid families beyond the golden fixtures: config reading (Qwen3.5's layer kinds, partial rotary and linear
// heads; LFM2's MLP width rule and original keys) and its refusals, the generation cache of recurrent layers (reset
// to the start, no rewinding, its size), packed training rows equal to the sequences run alone (each segment starts
// from a zero state), and the training estimate counting the hybrid blocks' activations.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, parseModelConfig, type CausalLM } from '../../src/models/index.js';
import { noGrad } from '../../src/tensor/index.js';
import { estimateTraining, shapeOf } from '../../src/train/estimate.js';
import { expectShitateError } from '../io/helpers.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');

const QWEN35 = {
  model_type: 'qwen3_5_text', vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 8, num_attention_heads: 2,
  num_key_value_heads: 1, head_dim: 16, linear_num_key_heads: 2, linear_num_value_heads: 4, linear_key_head_dim: 8, linear_value_head_dim: 8,
};

describe('hybrid configs', () => {
  it('Qwen3.5: layer kinds from full_attention_interval or layer_types, partial rotary, the vision wrapper', () => {
    const c = parseModelConfig({ ...QWEN35, rope_parameters: { rope_theta: 1e7, partial_rotary_factor: 0.5 } }) as unknown as {
      qwen35: { kinds: string[]; rotaryDim: number }; ropeTheta: number; rmsNormEps: number; tieWordEmbeddings: boolean;
    };
    expect(c.qwen35.kinds).toEqual(['linear', 'linear', 'linear', 'full', 'linear', 'linear', 'linear', 'full']);
    expect([c.qwen35.rotaryDim, c.ropeTheta, c.rmsNormEps, c.tieWordEmbeddings]).toEqual([8, 1e7, 1e-6, false]);
    // Qwen3_5TextConfig's default partial_rotary_factor is 0.25; a top-level value wins over the rope dict's
    expect((parseModelConfig(QWEN35) as unknown as { qwen35: { rotaryDim: number } }).qwen35.rotaryDim).toBe(4);
    expect((parseModelConfig({ ...QWEN35, partial_rotary_factor: 1, rope_parameters: { partial_rotary_factor: 0.5 } }) as unknown as
      { qwen35: { rotaryDim: number } }).qwen35.rotaryDim).toBe(16);
    const { model_type: _t, ...text } = QWEN35;
    const w = parseModelConfig({ model_type: 'qwen3_5', tie_word_embeddings: true, eos_token_id: 9, text_config: { ...text, eos_token_id: 7,
      num_hidden_layers: 2, layer_types: ['full_attention', 'linear_attention'] } }) as unknown as { qwen35: { kinds: string[]; prefix: string }; eosTokenIds: number[]; tieWordEmbeddings: boolean };
    expect([w.qwen35.kinds, w.qwen35.prefix, w.eosTokenIds, w.tieWordEmbeddings]).toEqual([['full', 'linear'], 'model.language_model.', [7, 9], true]);
  });

  it('Qwen3.5: refuses unknown layer kinds, value heads that do not group, an odd rotary width, quantized weights', () => {
    expectShitateError(() => parseModelConfig({ ...QWEN35, num_hidden_layers: 2, layer_types: ['linear_attention', 'sliding_attention'] }), 'E_CONFIG', 'layer_types');
    expectShitateError(() => parseModelConfig({ ...QWEN35, linear_num_value_heads: 3 }), 'E_CONFIG', 'multiple of linear_num_key_heads');
    expectShitateError(() => parseModelConfig({ ...QWEN35, partial_rotary_factor: 0.1 }), 'E_UNSUPPORTED_MODEL', 'partial_rotary_factor');
    expectShitateError(() => parseModelConfig({ model_type: 'qwen3_5', quantization_config: { quant_method: 'fp8' }, text_config: QWEN35 }),
      'E_UNSUPPORTED_MODEL', 'quantization_config');
    expectShitateError(() => parseModelConfig({ model_type: 'qwen3_5' }), 'E_CONFIG', 'text_config');
  });

  it('LFM2: the MLP width rule of the published sizes, original keys, full_attn_idxs', () => {
    const lfm = (over: Record<string, unknown>) => parseModelConfig({ model_type: 'lfm2', vocab_size: 65536, num_hidden_layers: 16, num_key_value_heads: 2, ...over }) as unknown as {
      intermediateSize: number; headDim: number; ropeTheta: number; rmsNormEps: number; tieWordEmbeddings: boolean; lfm2: { kinds: string[]; convKernel: number };
    };
    // LFM2-350M / 700M / 1.2B: block_ff_dim 6656 / 10240 / 12288 -> SwiGLU widths 4608 / 6912 / 8192
    expect([[1024, 6656], [1536, 10240], [2048, 12288]].map(([C, F]) => lfm({ hidden_size: C, num_attention_heads: 16, block_ff_dim: F }).intermediateSize))
      .toEqual([4608, 6912, 8192]);
    const c = lfm({ hidden_size: 2048, num_attention_heads: 32, num_key_value_heads: 8, block_ff_dim: 12288, full_attn_idxs: [2, 5], theta: 5e5, norm_eps: 1e-6, tie_embedding: false });
    expect([c.headDim, c.ropeTheta, c.rmsNormEps, c.tieWordEmbeddings, c.lfm2.convKernel]).toEqual([64, 5e5, 1e-6, false, 3]);
    expect(c.lfm2.kinds.slice(0, 6)).toEqual(['conv', 'conv', 'full', 'conv', 'conv', 'full']);
    expect(lfm({ hidden_size: 64, num_attention_heads: 4, intermediate_size: 100, block_auto_adjust_ff_dim: false }).intermediateSize).toBe(100);
    expectShitateError(() => lfm({ hidden_size: 64, num_attention_heads: 4, layer_types: ['mamba'] }), 'E_CONFIG', 'layer_types');
  });
});

/** Logits [T, V] of one row. */
function logitsOf(m: CausalLM, ids: number[], opts: { cache?: ReturnType<CausalLM['createCache']> } = {}): Float32Array {
  return noGrad(() => m.forward({ ids: Int32Array.from(ids), batch: 1, seqLen: ids.length, cache: opts.cache ?? null, logits: 'all' }).logits!.data);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.each(['qwen3_5-tiny', 'lfm2-tiny'])('%s: the cache of recurrent layers and packed rows', (name) => {
  const { model } = loadModel(path.join(FIX, name));
  const prompt = [5, 9, 17, 33, 2, 8, 41, 77];

  it('a cache reset to the start reproduces the first pass; it cannot be rewound part-way', () => {
    const cache = model.createCache(1, 16);
    expect(cache.recurrent).toBe(true);
    const first = logitsOf(model, prompt, { cache });
    expect(cache.length).toBe(prompt.length);
    expectShitateError(() => cache.truncate(4), 'E_CACHE', 'position 0 only');
    cache.truncate(0);
    expect(maxDiff(logitsOf(model, prompt, { cache }), first)).toBe(0);
    // the state is a fixed size: the same bytes for a cache of 16 and of 4096 positions, apart from keys and values
    const grown = model.createCache(1, 4096).bytes() - cache.bytes();
    expect(grown).toBe(2 * (4096 - 16) * model.config.numKvHeads * model.config.headDim * 4); // the one attention layer
  });

  it('two sequences packed in one row with segments give the logits each gives alone', () => {
    const other = [3, 12, 60, 7, 7, 19];
    const ids = [...prompt, ...other];
    const segments = Int32Array.from(ids, (_, i) => (i < prompt.length ? 0 : 1));
    const positions = Int32Array.from(ids, (_, i) => (i < prompt.length ? i : i - prompt.length));
    const packed = noGrad(() => model.forward({ ids: Int32Array.from(ids), batch: 1, seqLen: ids.length, segments, positions, logits: 'all' }).logits!.data);
    const V = model.config.vocabSize;
    expect(maxDiff(packed.subarray(0, prompt.length * V), logitsOf(model, prompt))).toBeLessThan(1e-5);
    expect(maxDiff(packed.subarray(prompt.length * V), logitsOf(model, other))).toBeLessThan(1e-5);
  });
});

describe('training estimate of hybrid blocks', () => {
  it('counts what a Gated DeltaNet layer keeps for backward, more than a Llama block of the same widths', () => {
    const config = parseModelConfig({ ...QWEN35, hidden_size: 1024, intermediate_size: 3584, num_attention_heads: 8, num_key_value_heads: 2, head_dim: 256,
      linear_num_key_heads: 16, linear_num_value_heads: 16, linear_key_head_dim: 128, linear_value_head_dim: 128, vocab_size: 248320 });
    const shape = shapeOf(config);
    const llama = { ...shape, activationsPerToken: undefined };
    const e = { method: 'lora' as const, loraR: 8, batchTokens: 1024 };
    expect(shape.activationsPerToken).toBeGreaterThan(40000);
    expect(estimateTraining(shape, e).activationBytes).toBeGreaterThan(1.5 * estimateTraining(llama, e).activationBytes);
  });
});
