// The commands on the newer families (tiny random Qwen3, SmolLM3, Granite, Gemma 2/3/4, Phi-3, Falcon, BLOOM, Qwen3.5 and LFM2 around the
// test BPE tokenizer):
// `shitate train` writes a PEFT adapter, `merge` writes a folder whose logits equal base + adapter, `eval`
// compares base and adapter, `estimate` counts the family's exact parameters, and the server answers a chat
// through the adapter.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { countParams, loadModel, parameterTable } from '../../src/models/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { openModel } from '../../src/generate/index.js';
import { createHandler, Engine } from '../../src/serve/index.js';
import { noGrad } from '../../src/tensor/index.js';
import { tempDir, tinyModelDir, writeJsonl } from '../helpers/tiny-model.js';
import { familyModelDir } from '../helpers/family-model.js';
import { runCli } from './run-cli.js';

const rows = Array.from({ length: 8 }, (_, i) => ({
  messages: [{ role: 'user', content: `Question ${i % 4}?` }, { role: 'assistant', content: `Answer number ${i % 4}.` }],
}));

/** A family's config over the tiny test tokenizer's vocabulary (V) and end token. */
function familyDir(extraOf: (V: number) => Record<string, unknown>): string {
  const tok = tinyModelDir();
  const base = JSON.parse(fs.readFileSync(path.join(tok, 'config.json'), 'utf8')) as { vocab_size: number; eos_token_id: number };
  const extra = extraOf(base.vocab_size);
  return familyModelDir({
    tokenizerDir: tok, embedStd: 0.5,
    config: {
      hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8,
      max_position_embeddings: 512, rms_norm_eps: 1e-6, vocab_size: base.vocab_size, eos_token_id: base.eos_token_id, bos_token_id: null,
      torch_dtype: 'float32', ...extra,
    },
  });
}

const FAMILIES: [string, (V: number) => Record<string, unknown>][] = [
  ['qwen3', () => ({ model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], tie_word_embeddings: true, rope_parameters: { rope_theta: 1e6, rope_type: 'default' } })],
  ['smollm3', () => ({ model_type: 'smollm3', architectures: ['SmolLM3ForCausalLM'], no_rope_layers: [1, 0], rope_theta: 5e6 })],
  ['granite', () => ({
    model_type: 'granite', architectures: ['GraniteForCausalLM'], embedding_multiplier: 6, attention_multiplier: 0.25, residual_multiplier: 0.5,
    logits_scaling: 2, tie_word_embeddings: false,
  })],
  ['gemma2', () => ({
    model_type: 'gemma2', architectures: ['Gemma2ForCausalLM'], hidden_activation: 'gelu_pytorch_tanh', query_pre_attn_scalar: 8,
    sliding_window: 4, attn_logit_softcapping: 20, final_logit_softcapping: 10,
  })],
  // the multimodal Gemma 3's language model (text_config over Gemma3TextConfig's defaults), no vision tower here
  ['gemma3', (V) => ({
    model_type: 'gemma3', architectures: ['Gemma3ForConditionalGeneration'], text_config: {
      model_type: 'gemma3_text', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      head_dim: 8, max_position_embeddings: 512, query_pre_attn_scalar: 8, sliding_window: 4, sliding_window_pattern: 2, vocab_size: V,
    },
  })],
  ['gemma4_text', (V) => ({
    model_type: 'gemma4_text', architectures: ['Gemma4ForCausalLM'], global_head_dim: 16, hidden_size_per_layer_input: 4, sliding_window: 4,
    layer_types: ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention'], num_hidden_layers: 4, num_kv_shared_layers: 2,
    final_logit_softcapping: 15, vocab_size_per_layer_input: V,
  })],
  // fused projections: the default targets resolve to qkv_proj / gate_up_proj and query_key_value / dense / ...
  ['phi3', () => ({
    model_type: 'phi3', architectures: ['Phi3ForCausalLM'], partial_rotary_factor: 0.5, original_max_position_embeddings: 16,
    rope_scaling: { type: 'longrope', short_factor: [1, 1.2], long_factor: [2, 3] }, sliding_window: 8, tie_word_embeddings: false,
  })],
  ['falcon with ALiBi', () => ({
    model_type: 'falcon', architectures: ['FalconForCausalLM'], alibi: true, multi_query: false, parallel_attn: false, bias: true,
  })],
  ['bloom', () => ({ model_type: 'bloom', architectures: ['BloomForCausalLM'], n_head: 4, n_layer: 2 })],
  // hybrids: Gated DeltaNet and gated attention (Qwen3.5, also as its vision wrapper), gated short convolutions (LFM2)
  ['qwen3_5_text', () => ({
    model_type: 'qwen3_5_text', architectures: ['Qwen3_5ForCausalLM'], num_hidden_layers: 4, full_attention_interval: 2, linear_num_key_heads: 2,
    linear_num_value_heads: 4, linear_key_head_dim: 8, linear_value_head_dim: 8, rope_parameters: { rope_theta: 1e7, partial_rotary_factor: 0.25 },
    tie_word_embeddings: true,
  })],
  ['qwen3_5', (V) => ({
    model_type: 'qwen3_5', architectures: ['Qwen3_5ForConditionalGeneration'], tie_word_embeddings: false, text_config: {
      hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, vocab_size: V,
      layer_types: ['linear_attention', 'full_attention'], linear_num_key_heads: 2, linear_num_value_heads: 2, linear_key_head_dim: 8,
      linear_value_head_dim: 8, max_position_embeddings: 512,
    },
  })],
  ['lfm2', () => ({
    model_type: 'lfm2', architectures: ['Lfm2ForCausalLM'], block_ff_dim: 96, block_multiple_of: 16, layer_types: ['conv', 'full_attention'],
    conv_L_cache: 3, norm_eps: 1e-5, tie_embedding: true,
  })],
];

describe.each(FAMILIES)('shitate on %s', (_name, extra) => {
  it('train, merge, eval, estimate and serve', async () => {
    const model = familyDir(extra);
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), rows);
    const out = path.join(dir, 'run');
    expect(await run(['train', '--model', model, '--data', data, '--out', out, '--max-steps', '4', '--batch-tokens', '256', '--learning-rate', '0.02'])).toBe(0);
    const adapter = path.join(out, 'adapter');
    const peft = JSON.parse(fs.readFileSync(path.join(adapter, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(peft).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM' });

    const merged = path.join(dir, 'merged');
    expect(await run(['merge', '--model', model, '--adapter', adapter, '--out', merged])).toBe(0);
    const ids = Int32Array.from([5, 9, 17, 33, 2, 8]);
    const a = loadModel(model);
    loadAdapter(adapter, a.model);
    const withAdapter = noGrad(() => a.model.forward({ ids, batch: 1, seqLen: ids.length }).logits!.data);
    const fused = noGrad(() => loadModel(merged).model.forward({ ids, batch: 1, seqLen: ids.length }).logits!.data);
    let diff = 0;
    for (let i = 0; i < fused.length; i++) diff = Math.max(diff, Math.abs(fused[i] - withAdapter[i]));
    expect(diff).toBeLessThan(1e-4);

    const evalOut = path.join(dir, 'eval');
    expect(await run(['eval', '--model', model, '--adapter', adapter, '--data', data, '--out', evalOut, '--max-tokens', '6', '--samples', '0', '--limit', '2'])).toBe(0);
    expect(fs.readdirSync(evalOut)).toEqual(expect.arrayContaining(['eval.json', 'eval.html']));

    const est = await runCli(['estimate', '--model', model, '--no-measure', '--json']);
    expect(est.code, est.stderr).toBe(0);
    const j = JSON.parse(est.stdout) as { params: number; engineSupported: boolean; cpu: unknown };
    expect(j.params).toBe(countParams(parameterTable(a.config)).total);
    expect(j.engineSupported).toBe(true);
    expect(j.cpu).not.toBeNull();

    const engine = new Engine(openModel(model), { baseId: 'base', adapters: [{ name: 'faq', dir: adapter }] });
    try {
      const handler = createHandler(engine, { log: () => undefined });
      const res = await handler(new Request('http://local/v1/chat/completions', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'faq', messages: [{ role: 'user', content: 'Question 1?' }], max_tokens: 5, temperature: 0 }),
      }));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { usage: { completion_tokens: number }; choices: { message: { content: string } }[] };
      expect(body.usage.completion_tokens).toBeGreaterThan(0);
      expect(typeof body.choices[0].message.content).toBe('string');
    } finally {
      await engine.close();
    }
  });
});
