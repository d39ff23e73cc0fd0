// Falcon (7B and 40B layouts), BLOOM and the hybrids (LFM2's short convolutions, Qwen3.5's Gated DeltaNet) as tiny
// random models exported to GGUF and run by llama.cpp: f16 greedy tokens equal shitate's, q8_0 and q4_k_m load and
// generate, the chat template and end-of-turn stop are embedded, and a GGUF LoRA adapter on the f16 base decodes as
// the merged export. Falcon with ALiBi (Falcon-RW) is refused by name.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LlamaModel } from 'node-llama-cpp';
import { exportGguf } from '../../src/export/gguf-export.js';
import { exportGgufLora } from '../../src/export/gguf-lora.js';
import { readGguf } from '../../src/export/gguf-reader.js';
import { GgmlType } from '../../src/export/gguf-types.js';
import { archTensorName, ggufArchOf } from '../../src/export/gguf-arch.js';
import { decodeTensor } from '../../src/export/gguf-dequant.js';
import { fp16Bits, fp16Value } from '../../src/export/gguf-half.js';
import { encodeTensor } from '../../src/export/gguf-quants.js';
import { openSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { generate } from '../../src/generate/generate.js';
import { openModel } from '../../src/generate/open.js';
import { attachLora, saveAdapter } from '../../src/lora/index.js';
import { Rng } from '../../src/kernels/rng.js';
import { loadModel, loadModelConfig } from '../../src/models/index.js';
import { QWEN3_TOKENIZER, familyModelDir } from '../helpers/family-model.js';
import { greedy, loadGguf, teacherForced } from './llama-cpp.js';

const MINI = path.join(import.meta.dirname, '..', '..', 'models', 'shitate-mini');
const SLOW = 300_000;
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-gguf-lnh-'));
const loaded: LlamaModel[] = [];
afterAll(async () => {
  for (const m of loaded) await m.dispose();
  fs.rmSync(out, { recursive: true, force: true });
});

const IDS = { vocab_size: 8192, bos_token_id: null, eos_token_id: 8191, max_position_embeddings: 512 };
const FALCON = { ...IDS, model_type: 'falcon', hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 4, layer_norm_epsilon: 1e-5,
  bias: false, alibi: false, parallel_attn: true, rope_theta: 10000 };

/** One config per layout, around shitate-mini's byte-level tokenizer and ChatML template. */
export const LN_HYBRID: Record<string, Record<string, unknown>> = {
  // Falcon-7B: multi-query, one shared input_layernorm, exact GELU, tied head
  'falcon-7b': { ...FALCON, multi_query: true, new_decoder_architecture: false, tie_word_embeddings: true },
  // Falcon-40B: two kv groups of two query heads in the fused projection, ln_attn / ln_mlp, untied head
  'falcon-40b': { ...FALCON, new_decoder_architecture: true, num_kv_heads: 2, activation: 'gelu', tie_word_embeddings: false },
  bloom: { ...IDS, model_type: 'bloom', n_embed: 64, n_head: 4, n_layer: 4, layer_norm_epsilon: 1e-5 },
  // conv, conv, attention, conv: the attention layer reads keys of tokens the conv layers mixed
  lfm2: { ...IDS, model_type: 'lfm2', hidden_size: 64, intermediate_size: 192, num_attention_heads: 4, num_key_value_heads: 2,
    num_hidden_layers: 4, layer_types: ['conv', 'conv', 'full_attention', 'conv'], conv_L_cache: 3, norm_eps: 1e-5, rope_theta: 1000000,
    block_multiple_of: 32, tie_embedding: true },
  // linear, linear, linear, full; two key heads shared by four value heads (regrouped for llama.cpp)
  qwen3_5_text: { ...IDS, model_type: 'qwen3_5_text', hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2,
    head_dim: 16, num_hidden_layers: 4, full_attention_interval: 4, linear_num_key_heads: 2, linear_num_value_heads: 4, linear_key_head_dim: 16,
    linear_value_head_dim: 16, linear_conv_kernel_dim: 4, partial_rotary_factor: 0.25, rms_norm_eps: 1e-6, rope_theta: 10000000, tie_word_embeddings: true },
};

async function exported(dir: string, file: string, o: { quant?: 'f32' | 'f16' | 'q8_0' | 'q4_k_m'; adapter?: string } = {}): Promise<LlamaModel> {
  exportGguf({ model: dir, quant: o.quant ?? 'f16', out: file, adapter: o.adapter ?? null });
  const model = await loadGguf(file);
  loaded.push(model);
  return model;
}

async function shitateGreedy(dir: string, prompt: number[], n: number, adapter?: string): Promise<number[]> {
  const m = openModel(dir, adapter ? { adapter } : {});
  const ids: number[] = [];
  for await (const ev of generate(m, prompt, { maxNewTokens: n, temperature: 0, endIds: [] })) if (ev.type === 'done') ids.push(...ev.tokens);
  return ids;
}

/** A LoRA adapter on every linear of the model in `dir` with random A and B (B is zero at PEFT's init). */
function randomAdapter(dir: string, name: string): string {
  const { model } = loadModel(dir);
  const set = attachLora(model, { r: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', useRslora: false }, 5);
  const rng = new Rng(9);
  for (const l of set.layers.values()) l.B.data.set(Float32Array.from(l.B.data, () => 0.05 * rng.normal()));
  const adapterDir = path.join(out, `${name}-adapter`);
  saveAdapter(adapterDir, set, dir);
  return adapterDir;
}

const TEXT = 'The office is open from 9 am. 営業時間は平日9時から18時です。';

export function familySuite(families: Record<string, Record<string, unknown>>): void {
  for (const [name, config] of Object.entries(families)) {
    describe(`${name} in llama.cpp`, () => {
      const dir = familyModelDir({ config, tokenizerDir: MINI, seed: 11, std: 0.2 });

      it('f16 greedy tokens equal shitate\'s; q8_0 and q4_k_m load and generate; template and end-of-turn stop embedded', async () => {
        const m = openModel(dir);
        const prompt = m.tokenizer.encode(TEXT);
        const ours = await shitateGreedy(dir, prompt, 12);
        const f16File = path.join(out, `${name}-f16.gguf`);
        const f16 = await exported(dir, f16File);
        expect(await greedy(f16, prompt, 12)).toEqual(ours);
        const q8 = await exported(dir, path.join(out, `${name}-q8_0.gguf`), { quant: 'q8_0' });
        expect((await greedy(q8, prompt, 3))[0]).toBe(ours[0]);
        const q4 = await exported(dir, path.join(out, `${name}-q4_k_m.gguf`), { quant: 'q4_k_m' });
        const q4Tokens = await greedy(q4, prompt, 6);
        expect(q4Tokens).toHaveLength(6);
        expect(q4Tokens.every((t) => t >= 0 && t < 8192)).toBe(true);
        const meta = readGguf(f16File).metadata;
        expect(meta.get('tokenizer.chat_template')).toBe(m.tokenizer.chatTemplate);
        const imEnd = m.tokenizer.tokenToId('<|im_end|>')!;
        expect(f16.isEogToken(imEnd as never)).toBe(true);
        const chat = m.tokenizer.encodeChat([{ role: 'user', content: '返品はできますか？' }], { addGenerationPrompt: true });
        // with every other token banned the reply can only be an end token: llama.cpp yields one and stops
        const ended = await greedy(f16, chat, 8, undefined, 8192);
        expect(ended).toHaveLength(1);
        expect(f16.isEogToken(ended[0] as never)).toBe(true);
        expect(f16.isEogToken(m.tokenizer.tokenToId('<|im_start|>') as never)).toBe(false);
      }, SLOW);

      it('a GGUF LoRA adapter on the f16 base decodes as the merged export (and as shitate with the adapter)', async () => {
        const adapter = randomAdapter(dir, name);
        const prompt = openModel(dir).tokenizer.encode(TEXT);
        const base = await exported(dir, path.join(out, `${name}-base.gguf`));
        const merged = await exported(dir, path.join(out, `${name}-merged.gguf`), { adapter });
        const lora = path.join(out, `${name}-lora.gguf`);
        exportGgufLora({ model: dir, adapter, out: lora });
        const mergedTokens = await greedy(merged, prompt, 12);
        expect(mergedTokens).toEqual(await shitateGreedy(dir, prompt, 12, adapter));
        expect(await greedy(base, prompt, 12, lora)).toEqual(mergedTokens);
      }, SLOW);
    });
  }
}

familySuite(LN_HYBRID);

// the published Qwen3.5 checkpoints: the vision wrapper, its decoder under model.language_model.*
const { model_type: _t, ...qwen35Text } = LN_HYBRID.qwen3_5_text;
familySuite({ qwen3_5: { ...IDS, model_type: 'qwen3_5', tie_word_embeddings: true, text_config: { ...qwen35Text, model_type: 'qwen3_5_text' } } });

/** A copy of the model in `dir` whose weights are shitate's decoding of the GGUF types given per GGUF name (values
 *  rounded through f16 first, as the q4_k_m path quantizes them). */
function dequantizedCopy(dir: string, types: Map<string, GgmlType>): string {
  const copy = fs.mkdtempSync(path.join(out, 'deq-'));
  for (const f of fs.readdirSync(dir)) if (f !== 'model.safetensors') fs.copyFileSync(path.join(dir, f), path.join(copy, f));
  const arch = ggufArchOf(loadModelConfig(dir));
  const st = openSafetensors(path.join(dir, 'model.safetensors'));
  const tensors = [...st.header].map(([name, info]) => {
    const x = st.readF32(name);
    const type = types.get(archTensorName(arch, name) ?? '') ?? GgmlType.F32;
    const h = Float32Array.from(x, (v) => fp16Value(fp16Bits(v)));
    const width = info.shape[info.shape.length - 1];
    const data = type === GgmlType.F32 ? x : decodeTensor(type, encodeTensor(type, h, width), x.length);
    return { name, shape: info.shape, dtype: 'F32' as const, data };
  });
  st.close();
  writeSafetensors(path.join(copy, 'model.safetensors'), tensors);
  return copy;
}

/** Qwen3's tokenizer with the pre-tokenizer regex Qwen3.5 ships (combining marks stay with their letters) and one
 *  merge across a letter and its mark ("x" + U+0300), which only that split lets happen. */
function qwen35Tokenizer(): { dir: string; V: number } {
  const dir = fs.mkdtempSync(path.join(out, 'qwen35-tok-'));
  const src = path.join(import.meta.dirname, '..', '..', QWEN3_TOKENIZER);
  const tok = JSON.parse(fs.readFileSync(path.join(src, 'tokenizer.json'), 'utf8')) as { pre_tokenizer: { pretokenizers: { pattern?: { Regex: string } }[] };
    model: { vocab: Record<string, number>; merges: string[][] }; added_tokens: { id: number }[] };
  const split = tok.pre_tokenizer.pretokenizers[0].pattern!;
  split.Regex = split.Regex.replace('?\\p{L}+', '?[\\p{L}\\p{M}]+').replace('[^\\s\\p{L}\\p{N}]', '[^\\s\\p{L}\\p{M}\\p{N}]');
  expect(split.Regex).toContain('\\p{M}\\p{N}');
  fs.copyFileSync(path.join(src, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  const V = [...Object.values(tok.model.vocab), ...tok.added_tokens.map((t) => t.id)].reduce((a, b) => Math.max(a, b), 0) + 2;
  // U+0300 is the bytes CC 80, "ÌĢ" in the byte-level alphabet
  tok.model.vocab['xÌĢ'] = V - 1;
  tok.model.merges.unshift(['x', 'ÌĢ']);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok));
  return { dir, V };
}

describe('Qwen3.5 tokenizer in llama.cpp', () => {
  it('splits as llama.cpp\'s qwen35 pre-tokenizer: text with combining marks tokenizes to shitate\'s ids, <|im_end|> ends a turn', async () => {
    const { dir: tokDir, V } = qwen35Tokenizer();
    const config = { ...LN_HYBRID.qwen3_5_text, vocab_size: V, hidden_size: 32, intermediate_size: 64, bos_token_id: null, eos_token_id: 151645 };
    const dir = familyModelDir({ config, tokenizerDir: tokDir });
    const file = path.join(out, 'qwen35-tok.gguf');
    const model = await exported(dir, file);
    expect(readGguf(file).metadata.get('tokenizer.ggml.pre')).toBe('qwen35');
    const m = openModel(dir);
    // NFC-stable text (llama.cpp does not apply the tokenizer's NFC normalizer): marks that compose with nothing
    for (const text of ['Café naïve: 2024年の営業時間は9時〜18時です。', 'नमस्ते दुनिया ภาษาไทย 🙂 tab\tend', 'x\u0300\u0301!? q\u0323\u0307 x\u0300!']) {
      expect(text.normalize('NFC')).toBe(text);
      expect([...model.tokenize(text, false)]).toEqual(m.tokenizer.encode(text));
    }
    expect(m.tokenizer.encode('x\u0300!')[0]).toBe(config.vocab_size - 1);
    expect(model.isEogToken(m.tokenizer.tokenToId('<|im_end|>') as never)).toBe(true);
  }, SLOW);
});

/** llama.cpp reading a q4_k_m export agrees with float32 weights that shitate decodes from the same blocks, up to
 *  its own 8-bit activations: a small fraction of what quantizing the weights changed (seen against f16). */
async function expectBlocksReadAlike(name: string, dir: string): Promise<Map<string, GgmlType>> {
  const q4File = path.join(out, `${name}-blocks-q4_k_m.gguf`);
  const q4 = await exported(dir, q4File, { quant: 'q4_k_m' });
  const types = new Map(readGguf(q4File).tensors.map((t) => [t.name, t.type]));
  const ref = await exported(dequantizedCopy(dir, types), path.join(out, `${name}-blocks-deq-f32.gguf`), { quant: 'f32' });
  const f16 = await exported(dir, path.join(out, `${name}-blocks-f16.gguf`));
  const ids = openModel(dir).tokenizer.encode('Our support desk answers in English and Japanese. 返品は30日以内に受け付けます。 Shipping is free over 5000 yen.');
  const [q, r, h] = [await teacherForced(q4, ids), await teacherForced(ref, ids), await teacherForced(f16, ids)];
  const meanDiff = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length;
  const [toRef, toF16] = [meanDiff(q.logp, r.logp), meanDiff(q.logp, h.logp)];
  expect(toRef).toBeLessThan(0.15);
  expect(toRef).toBeLessThan(toF16 / 4);
  expect(q.top1.filter((t, i) => r.top1[i] === t).length / q.top1.length).toBeGreaterThanOrEqual(0.9);
  return types;
}

describe('BLOOM tokenizer in llama.cpp', () => {
  it('splits as llama.cpp\'s bloom pre-tokenizer: punctuation, parentheses and CJK text tokenize to shitate\'s ids', async () => {
    const tokDir = fs.mkdtempSync(path.join(out, 'bloom-tok-'));
    const tok = JSON.parse(fs.readFileSync(path.join(MINI, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number>; merges: unknown[] }; pre_tokenizer: unknown };
    // a merge only BLOOM's split allows ("[" and a letter stay in one piece)
    tok.model.vocab['[x'] = 8192;
    tok.model.merges.unshift(typeof tok.model.merges[0] === 'string' ? '[ x' : ['[', 'x']);
    tok.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: ' ?[^(\\s|[.,!?…。，、।۔،])]+' }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] };
    fs.writeFileSync(path.join(tokDir, 'tokenizer.json'), JSON.stringify(tok));
    fs.copyFileSync(path.join(MINI, 'tokenizer_config.json'), path.join(tokDir, 'tokenizer_config.json'));
    const dir = familyModelDir({ config: { ...LN_HYBRID.bloom, vocab_size: 8193 }, tokenizerDir: tokDir });
    const file = path.join(out, 'bloom-tok.gguf');
    const model = await exported(dir, file);
    expect(readGguf(file).metadata.get('tokenizer.ggml.pre')).toBe('bloom');
    const m = openModel(dir);
    expect(m.tokenizer.encode('a [x]')).toContain(8192);
    for (const text of ['Hello, world! (a|b) [x] it\'s 12.5%...', '営業時間は平日9時〜18時です。返品、交換は可能ですか？', '  two  spaces\tand\nnew lines!?']) {
      expect([...model.tokenize(text, false)]).toEqual(m.tokenizer.encode(text));
    }
  }, SLOW);
});

describe('q4_k_m blocks in llama.cpp', () => {
  it('Falcon 256 wide: Q5_K fused qkv, Falcon\'s Q5_K / Q4_K ffn_down, Q6_K head read as shitate decodes them', async () => {
    const config = { ...LN_HYBRID['falcon-7b'], hidden_size: 256, num_attention_heads: 4, num_hidden_layers: 4 };
    const types = await expectBlocksReadAlike('falcon256', familyModelDir({ config, tokenizerDir: MINI, seed: 3, std: 0.1 }));
    expect(types.get('blk.0.attn_qkv.weight')).toBe(GgmlType.Q5_K);
    expect([0, 1, 2, 3].map((i) => types.get(`blk.${i}.ffn_down.weight`))).toEqual([GgmlType.Q4_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q5_K]);
  }, SLOW);

  it('Falcon 64 wide: the fallbacks Q5_1 (qkv), Q5_0 and Q8_0 read as shitate decodes them', async () => {
    const types = await expectBlocksReadAlike('falcon64', familyModelDir({ config: LN_HYBRID['falcon-40b'], tokenizerDir: MINI, seed: 3, std: 0.1 }));
    expect(types.get('blk.0.attn_qkv.weight')).toBe(GgmlType.Q5_1);
    expect(types.get('blk.0.attn_output.weight')).toBe(GgmlType.Q5_0);
    expect(types.get('output.weight')).toBe(GgmlType.Q8_0);
  }, SLOW);
});

describe('Falcon refusals', () => {
  it('refuses Falcon-RW (ALiBi) by name, writing nothing', () => {
    const dir = familyModelDir({ config: { ...FALCON, alibi: true, bias: true, multi_query: false, parallel_attn: false }, tokenizerDir: MINI });
    const file = path.join(out, 'rw.gguf');
    expect(() => exportGguf({ model: dir, quant: 'f16', out: file })).toThrow(/alibi: true \(a Falcon-RW model\)/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('refuses Falcon\'s own pre-tokenizer, which llama.cpp splits differently around digits, writing nothing', () => {
    const tokDir = fs.mkdtempSync(path.join(out, 'falcon-tok-'));
    const tok = JSON.parse(fs.readFileSync(path.join(MINI, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    tok.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Punctuation', behavior: 'Contiguous' },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, { type: 'Digits', individual_digits: false },
      { type: 'Split', pattern: { Regex: '[0-9][0-9][0-9]' }, behavior: 'Isolated', invert: false }] };
    fs.writeFileSync(path.join(tokDir, 'tokenizer.json'), JSON.stringify(tok));
    fs.copyFileSync(path.join(MINI, 'tokenizer_config.json'), path.join(tokDir, 'tokenizer_config.json'));
    const dir = familyModelDir({ config: LN_HYBRID['falcon-7b'], tokenizerDir: tokDir });
    const file = path.join(out, 'falcon-tok.gguf');
    expect(() => exportGguf({ model: dir, quant: 'f16', out: file })).toThrow(/Falcon's pre-tokenizer .* splits differently around digit runs/);
    expect(fs.existsSync(file)).toBe(false);
  });
});
