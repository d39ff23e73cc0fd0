// Gemma 2, 3 and 4 against the PyTorch port of their modeling files (scripts/reference/gemma_ref.py): logits and
// loss, greedy tokens recomputed and through the KV cache (sliding-window layers decoded far past their window,
// KV-sharing layers reading an earlier layer's cache); the multimodal Gemma 3 in both checkpoint layouts, its vision
// tower carried through merge; published configs parsed to their real sizes. The adapters: families.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { countParams, loadModel, parameterTable, parseModelConfig, saveModelFolder, shiftLabels, type CausalLM } from '../../src/models/index.js';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { openSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { ADAPTER_WEIGHTS, loadAdapter } from '../../src/lora/index.js';
import { noGrad } from '../../src/tensor/index.js';
import { gemmaOf } from '../../src/models/gemma-config.js';
import { gemma4Of } from '../../src/models/gemma4-model.js';
import { tempDir } from '../io/helpers.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
const GEMMA = ['gemma2-tiny', 'gemma3-tiny', 'gemma3-mm-tiny', 'gemma4-tiny'];

interface Golden {
  input_ids: number[][];
  labels: number[][];
  logits: number[];
  loss: number;
  greedy: { prompt: number[]; max_new_tokens: number; tokens: number[] };
}

const golden = (name: string) => JSON.parse(fs.readFileSync(path.join(FIX, name, 'golden.json'), 'utf8')) as Golden;

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Logits of the last position after each of n greedy steps: by full recompute, or one prefill + one token per
 *  step through the model's own cache. */
function decode(m: CausalLM, prompt: number[], n: number, cached: boolean): { tokens: number[]; logits: Float32Array[] } {
  const cache = cached ? m.createCache(1, prompt.length + n) : null;
  const ids = [...prompt];
  const rows: Float32Array[] = [];
  let step = Int32Array.from(prompt);
  for (let i = 0; i < n; i++) {
    const input = cached ? step : Int32Array.from(ids);
    const { logits } = noGrad(() => m.forward({ ids: input, batch: 1, seqLen: input.length, cache, logits: 'last' }));
    rows.push(logits!.data.slice());
    const next = argmax(logits!.data);
    ids.push(next);
    step = Int32Array.of(next);
  }
  return { tokens: ids.slice(prompt.length), logits: rows };
}

describe.each(GEMMA)('%s matches the PyTorch reference', (name) => {
  const g = golden(name);
  const B = g.input_ids.length;
  const T = g.input_ids[0].length;
  const ids = Int32Array.from(g.input_ids.flat());

  it('logits within 1e-4 and loss within 1e-5 relative', () => {
    const { model } = loadModel(path.join(FIX, name));
    const targets = shiftLabels(Int32Array.from(g.labels.flat()), B, T);
    const { logits, loss } = noGrad(() => model.forward({ ids, batch: B, seqLen: T, targets, logits: 'all' }));
    const d = maxAbs(logits!.data, g.logits);
    console.log(`${name}: logits max abs diff ${d.toExponential(2)}, loss ${loss!.item()} vs ${g.loss}`);
    expect(logits!.size).toBe(g.logits.length);
    expect(d).toBeLessThan(1e-4);
    expect(Math.abs(loss!.item() - g.loss) / g.loss).toBeLessThan(1e-5);
  });

  it('greedy tokens equal the reference, recomputed and through the KV cache', () => {
    const { model } = loadModel(path.join(FIX, name));
    const { prompt, max_new_tokens: n, tokens } = g.greedy;
    expect(decode(model, prompt, n, false).tokens).toEqual(tokens);
    expect(decode(model, prompt, n, true).tokens).toEqual(tokens);
  });

  it('KV-cache decoding far past the sliding window equals full recompute', () => {
    const { model } = loadModel(path.join(FIX, name));
    const window = model.config.slidingWindow!;
    const n = 5 * window;
    const full = decode(model, [5, 9, 13], n, false);
    const cached = decode(model, [5, 9, 13], n, true);
    expect(cached.tokens).toEqual(full.tokens);
    const worst = Math.max(...full.logits.map((row, i) => maxAbs(cached.logits[i], row)));
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('the multimodal Gemma 3 checkpoint layouts', () => {
  const base = path.join(FIX, 'gemma3-mm-tiny');
  const g = golden('gemma3-mm-tiny');
  const ids = Int32Array.from(g.input_ids.flat());
  const logitsOf = (dir: string) => noGrad(() => loadModel(dir).model.forward({ ids, batch: 2, seqLen: g.input_ids[0].length })).logits!.data;

  it('reads transformers 4.50 names (language_model.model.*) as today\'s and leaves the vision tower unused', () => {
    const stored = [...openCheckpoint(base).tensors.keys()];
    expect(stored.some((n) => n.startsWith('language_model.model.layers.0.'))).toBe(true);
    const loaded = loadModel(base);
    expect(loaded.ignoredTensors).toEqual([]);
    expect(loaded.model.linears()[0].name).toBe('model.language_model.layers.0.self_attn.q_proj');
    expect(loaded.model.namedWeights().every((w) => w.name.startsWith('model.language_model.'))).toBe(true);
  });

  it('the same weights under 5.x names give the same logits', () => {
    const ck = openCheckpoint(base);
    const dir = tempDir('shitate-gemma3-5x-');
    for (const f of ['config.json', 'generation_config.json']) fs.copyFileSync(path.join(base, f), path.join(dir, f));
    const rename = (n: string) => n.replace(/^language_model\.model\./, 'model.language_model.').replace(/^(vision_tower|multi_modal_projector)\./, 'model.$1.');
    writeSafetensors(path.join(dir, 'model.safetensors'), [...ck.tensors.entries()].map(([n, t]) => ({ name: rename(n), shape: [...t.shape], dtype: 'F32' as const, data: ck.readF32(n) })));
    ck.close();
    expect(maxAbs(logitsOf(dir), logitsOf(base))).toBe(0);
  });

  it('a merged folder keeps the vision tower (under today\'s names) and reloads', () => {
    const { model } = loadModel(base);
    const out = path.join(tempDir('shitate-gemma3-merge-'), 'merged');
    saveModelFolder(out, model, base, 'BF16');
    const names = [...openCheckpoint(out).tensors.keys()];
    expect(names).toContain('model.vision_tower.vision_model.embeddings.patch_embedding.weight');
    expect(names).toContain('model.multi_modal_projector.mm_input_projection_weight');
    expect(maxAbs(logitsOf(out), logitsOf(base))).toBe(0); // bf16 weights round-trip exactly
  });

  it('a tensor that belongs to no part is still refused', () => {
    const dir = tempDir('shitate-gemma3-stray-');
    for (const f of ['config.json', 'generation_config.json']) fs.copyFileSync(path.join(base, f), path.join(dir, f));
    const ck = openCheckpoint(base);
    const tensors = [...ck.tensors.entries()].map(([n, t]) => ({ name: n, shape: [...t.shape], dtype: 'F32' as const, data: ck.readF32(n) }));
    ck.close();
    tensors.push({ name: 'language_model.model.layers.0.self_attn.v_norm.weight', shape: [16], dtype: 'F32', data: new Float32Array(16) });
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
    expect(() => loadModel(dir)).toThrow(/model\.language_model\.layers\.0\.self_attn\.v_norm\.weight/);
  });
});

describe('a PEFT adapter of the multimodal Gemma 3', () => {
  it('loads with 4.50 module names and LoRA on the vision tower, which it leaves out with a warning', () => {
    const ref = path.join(FIX, 'gemma3-mm-tiny-lora');
    const g = JSON.parse(fs.readFileSync(path.join(ref, 'lora_golden.json'), 'utf8')) as { input_ids: number[][]; logits: number[] };
    const dir = tempDir('shitate-gemma3-peft-');
    fs.copyFileSync(path.join(ref, 'adapter_config.json'), path.join(dir, 'adapter_config.json'));
    const st = openSafetensors(path.join(ref, ADAPTER_WEIGHTS));
    const tensors = [...st.header.entries()].map(([n, info]) => ({
      name: n.replace('base_model.model.model.language_model.', 'base_model.model.language_model.model.'),
      shape: [...info.shape], dtype: 'F32' as const, data: st.readF32(n),
    }));
    st.close();
    const vision = 'base_model.model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj';
    tensors.push({ name: `${vision}.lora_A.weight`, shape: [4, 8], dtype: 'F32', data: new Float32Array(32).fill(0.5) });
    tensors.push({ name: `${vision}.lora_B.weight`, shape: [8, 4], dtype: 'F32', data: new Float32Array(32).fill(0.5) });
    writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors);
    const { model } = loadModel(path.join(FIX, 'gemma3-mm-tiny'));
    const warnings: string[] = [];
    const set = loadAdapter(dir, model, false, { onWarning: (m) => warnings.push(m) });
    expect(warnings.join('\n')).toMatch(/1 module\(s\) outside the language model \(model\.vision_tower\./);
    expect(set.params().length).toBe(tensors.length - 2);
    const ids = Int32Array.from(g.input_ids.flat());
    const { logits } = noGrad(() => model.forward({ ids, batch: g.input_ids.length, seqLen: g.input_ids[0].length }));
    expect(maxAbs(logits!.data, g.logits)).toBeLessThan(1e-4);
  });
});

describe('published Gemma configs', () => {
  it('gemma-2-2b: 2,614,341,888 parameters, soft-caps 50 / 30, every other layer sliding', () => {
    const c = parseModelConfig({
      architectures: ['Gemma2ForCausalLM'], attention_bias: false, attention_dropout: 0, attn_logit_softcapping: 50, bos_token_id: 2,
      cache_implementation: 'hybrid', eos_token_id: [1, 107], final_logit_softcapping: 30, head_dim: 256, hidden_act: 'gelu_pytorch_tanh',
      hidden_activation: 'gelu_pytorch_tanh', hidden_size: 2304, initializer_range: 0.02, intermediate_size: 9216, max_position_embeddings: 8192,
      model_type: 'gemma2', num_attention_heads: 8, num_hidden_layers: 26, num_key_value_heads: 4, pad_token_id: 0, query_pre_attn_scalar: 256,
      rms_norm_eps: 1e-6, rope_theta: 10000, sliding_window: 4096, torch_dtype: 'float32', transformers_version: '4.42.4', use_cache: true, vocab_size: 256000,
    });
    expect(countParams(parameterTable(c)).total).toBe(2_614_341_888);
    expect(c.layerTypes.slice(0, 4)).toEqual(['sliding', 'full', 'sliding', 'full']);
    expect(c).toMatchObject({ slidingWindow: 4096, attentionScale: 1 / 16, eosTokenIds: [1, 107], tieWordEmbeddings: true });
  });

  it('gemma-3-1b-it: 999,885,952 parameters, 5 local : 1 global, RoPE 10k local and 1M global', () => {
    const c = parseModelConfig({
      architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0, attn_logit_softcapping: null, bos_token_id: 2,
      cache_implementation: 'hybrid', eos_token_id: [1, 106], final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh',
      hidden_size: 1152, initializer_range: 0.02, intermediate_size: 6912, max_position_embeddings: 32768, model_type: 'gemma3_text',
      num_attention_heads: 4, num_hidden_layers: 26, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
      rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1000000, sliding_window: 512, sliding_window_pattern: 6,
      torch_dtype: 'bfloat16', transformers_version: '4.50.0.dev0', use_cache: true, vocab_size: 262144,
    });
    expect(countParams(parameterTable(c)).total).toBe(999_885_952);
    expect(c.layerTypes.map((t) => (t === 'full' ? 'G' : 'l')).join('')).toBe('lllllGlllllGlllllGlllllGll');
    expect(c).toMatchObject({ qkNorm: true, slidingWindow: 512, maxPositions: 32768, torchDtype: 'bfloat16' });
  });

  it('gemma-3-4b-it: the sparse text_config takes Gemma3TextConfig defaults; linear rope scaling on global layers only', () => {
    const c = parseModelConfig({
      architectures: ['Gemma3ForConditionalGeneration'], boi_token_index: 255999, eoi_token_index: 256000, eos_token_id: [1, 106],
      image_token_index: 262144, initializer_range: 0.02, mm_tokens_per_image: 256, model_type: 'gemma3',
      text_config: {
        hidden_size: 2560, intermediate_size: 10240, model_type: 'gemma3_text', num_hidden_layers: 34, rope_scaling: { factor: 8, rope_type: 'linear' },
        sliding_window: 1024,
      },
      torch_dtype: 'bfloat16', transformers_version: '4.50.0.dev0',
      vision_config: { hidden_size: 1152, image_size: 896, intermediate_size: 4304, model_type: 'siglip_vision_model', num_attention_heads: 16, num_hidden_layers: 27, patch_size: 14, vision_use_head: false },
    });
    expect(c).toMatchObject({ vocabSize: 262208, numHeads: 8, numKvHeads: 4, headDim: 256, maxPositions: 131072, eosTokenIds: [1, 106], bosTokenId: 2 });
    expect(countParams(parameterTable(c)).total).toBe(3_880_263_168);
    expect(parameterTable(c).global).toMatchObject({ embed: { name: 'model.language_model.embed_tokens.weight' } });
    expect(gemmaOf(c).gemma.rope).toEqual({
      full: { theta: 1_000_000, scaling: { type: 'linear', factor: 8 }, rotaryFraction: 1 },
      sliding: { theta: 10_000, scaling: null, rotaryFraction: 1 },
    });
  });

  it('a Gemma 4 E2B-shaped text config: KV sharing from the last layer of each type, double-wide MLPs there', () => {
    const types = Array.from({ length: 35 }, (_, i) => ((i + 1) % 5 === 0 ? 'full_attention' : 'sliding_attention'));
    const c = parseModelConfig({
      model_type: 'gemma4', text_config: {
        hidden_size: 1536, intermediate_size: 6144, num_hidden_layers: 35, num_attention_heads: 8, num_key_value_heads: 1, head_dim: 256,
        global_head_dim: 512, num_kv_shared_layers: 20, use_double_wide_mlp: true, hidden_size_per_layer_input: 256, sliding_window: 512,
        final_logit_softcapping: 30, layer_types: types, vocab_size: 262144,
      },
    });
    const g4 = gemma4Of(c).gemma4;
    // layers 15-34 share: sliding ones reuse layer 13's keys and values, global ones (19, 24, ...) layer 14's
    expect(g4.kvSource.slice(13, 17)).toEqual([null, null, 13, 13]);
    expect([g4.kvSource[19], g4.kvSource[34]]).toEqual([14, 14]);
    expect([g4.ffn[14], g4.ffn[15]]).toEqual([6144, 12288]);
    const table = parameterTable(c);
    expect(table.layers[20]).toMatchObject({ k: null, v: null, kNorm: null });
    expect(table.global).toMatchObject({ perLayerEmbed: { shape: [262144, 35 * 256] } });
  });

  it('refuses what it does not implement, naming the field', () => {
    const tiny = { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, vocab_size: 64 };
    expect(() => parseModelConfig({ model_type: 'gemma4_text', ...tiny, enable_moe_block: true })).toThrow(/enable_moe_block/);
    expect(() => parseModelConfig({ model_type: 'gemma3_text', ...tiny, use_bidirectional_attention: true })).toThrow(/use_bidirectional_attention/);
    expect(() => parseModelConfig({ model_type: 'gemma2', ...tiny, hidden_activation: 'relu' })).toThrow(/hidden_activation/);
    expect(() => parseModelConfig({ model_type: 'gemma3', ...tiny })).toThrow(/text_config/);
    // the modeling files read hidden_activation only: an older hidden_act beside it changes nothing
    expect(parseModelConfig({ model_type: 'gemma2', ...tiny, hidden_act: 'gelu' }).hiddenAct).toBe('gelu_pytorch_tanh');
    expect(parseModelConfig({ model_type: 'gemma2', ...tiny, hidden_activation: 'gelu' }).hiddenAct).toBe('gelu');
  });
});
