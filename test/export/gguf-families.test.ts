// Every family the exporter covers, as a tiny random model, loads in llama.cpp and decodes greedily as
// shitate does; real tokenizers (Llama 3 BPE, Qwen BPE, SentencePiece-style Llama 2) tokenize plain text and
// rendered chats to shitate's ids and stop on their end-of-turn token; unsupported input is refused cleanly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LlamaModel } from 'node-llama-cpp';
import { exportGguf } from '../../src/export/gguf-export.js';
import { readGguf } from '../../src/export/gguf-reader.js';
import { openModel } from '../../src/generate/open.js';
import { generate } from '../../src/generate/generate.js';
import { endOfTurnIds } from '../../src/tokenizer/loss-mask.js';
import type { ChatMessage } from '../../src/tokenizer/index.js';
import { familyModelDir } from '../helpers/family-model.js';
import { MISTRAL_V01, tokenizerDir, withTemplate, type TokenizerName } from '../helpers/templates.js';
import { chatIds, greedy, loadGguf, renderNative } from './llama-cpp.js';

const MINI = path.join(import.meta.dirname, '..', '..', 'models', 'shitate-mini');
const SLOW = 300_000;
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-gguf-fam-'));
const loaded: LlamaModel[] = [];
afterAll(async () => {
  for (const m of loaded) await m.dispose();
  fs.rmSync(out, { recursive: true, force: true });
});

const BASE = { hidden_act: 'silu', hidden_size: 64, intermediate_size: 128, max_position_embeddings: 512, num_attention_heads: 4,
  num_hidden_layers: 4, num_key_value_heads: 2, rms_norm_eps: 1e-5, rope_theta: 10000, torch_dtype: 'float32' };
const MINI_IDS = { vocab_size: 8192, bos_token_id: null, eos_token_id: 8191 };
const GEMMA = { ...BASE, ...MINI_IDS, num_hidden_layers: 6, head_dim: 16, query_pre_attn_scalar: 16, sliding_window: 8, hidden_activation: 'gelu_pytorch_tanh',
  tie_word_embeddings: true };

/** One config per model_type, around shitate-mini's byte-level tokenizer (small vocabulary, fast). */
const FAMILIES: Record<string, Record<string, unknown>> = {
  llama: { ...BASE, ...MINI_IDS, model_type: 'llama', tie_word_embeddings: false, attention_bias: true },
  mistral: { ...BASE, ...MINI_IDS, model_type: 'mistral', tie_word_embeddings: false, sliding_window: 4096 },
  qwen2: { ...BASE, ...MINI_IDS, model_type: 'qwen2', tie_word_embeddings: true },
  qwen3: { ...BASE, ...MINI_IDS, model_type: 'qwen3', head_dim: 32, tie_word_embeddings: true },
  smollm3: { ...BASE, ...MINI_IDS, model_type: 'smollm3', tie_word_embeddings: true, no_rope_layer_interval: 4 },
  granite: { ...BASE, ...MINI_IDS, model_type: 'granite', tie_word_embeddings: true, embedding_multiplier: 12, attention_multiplier: 0.03,
    residual_multiplier: 0.22, logits_scaling: 8 },
  // sliding windows of 8 tokens, so the prompt crosses them
  gemma2: { ...GEMMA, model_type: 'gemma2', attn_logit_softcapping: 50, final_logit_softcapping: 30, rope_theta: 10000 },
  gemma3_text: { ...GEMMA, model_type: 'gemma3_text', rope_theta: 1000000, rope_local_base_freq: 10000, sliding_window_pattern: 6 },
  // partial rotary, LongRoPE (short factors: llama.cpp's context stays below the original length)
  phi3: { ...BASE, ...MINI_IDS, model_type: 'phi3', tie_word_embeddings: false, partial_rotary_factor: 0.5, max_position_embeddings: 4096,
    original_max_position_embeddings: 1024, rope_scaling: { type: 'longrope', short_factor: [1, 1.3, 1.6, 1.9], long_factor: [2, 3, 4, 5] } },
};

async function exported(dir: string, name: string, quant: 'f16' | 'q8_0' = 'f16'): Promise<{ file: string; model: LlamaModel }> {
  const file = path.join(out, `${name}-${quant}.gguf`);
  exportGguf({ model: dir, quant, out: file });
  const model = await loadGguf(file);
  loaded.push(model);
  return { file, model };
}

async function shitateGreedy(dir: string, prompt: number[], n: number): Promise<number[]> {
  const m = openModel(dir);
  const ids: number[] = [];
  for await (const ev of generate(m, prompt, { maxNewTokens: n, temperature: 0, endIds: [] })) if (ev.type === 'done') ids.push(...ev.tokens);
  return ids;
}

describe('each family in llama.cpp', () => {
  for (const [type, config] of Object.entries(FAMILIES)) {
    it(`${type}: f16 greedy tokens equal shitate's, q8_0 loads and starts the same`, async () => {
      const dir = familyModelDir({ config, tokenizerDir: MINI, seed: 11 });
      const prompt = openModel(dir).tokenizer.encode('The office is open from 9 am. 営業時間は平日9時から18時です。');
      const ours = await shitateGreedy(dir, prompt, 12);
      const f16 = await exported(dir, type);
      expect(await greedy(f16.model, prompt, 12)).toEqual(ours);
      const q8 = await exported(dir, type, 'q8_0');
      expect((await greedy(q8.model, prompt, 3))[0]).toBe(ours[0]);
    }, SLOW);
  }
});

const chat: ChatMessage[] = [{ role: 'system', content: 'You answer for ACME.' }, { role: 'user', content: '返品はできますか？' },
  { role: 'assistant', content: 'はい、30日以内なら可能です。' }, { role: 'user', content: 'Shipping cost?' }];

/** Real tokenizers: [model_type, tokenizer, template override, its end-of-turn token]. */
const REAL: [string, TokenizerName, string | null, string][] = [
  ['llama', 'llama3_2', null, '<|eot_id|>'],
  ['qwen2', 'qwen2_5', null, '<|im_end|>'],
  ['mistral', 'llama2', MISTRAL_V01, '</s>'],
  ['gemma3_text', 'gemma3', null, '<end_of_turn>'],
];

describe('real tokenizers in llama.cpp', () => {
  for (const [type, tokName, template, eot] of REAL) {
    it(`${tokName}: text and chats tokenize to shitate's ids, ${eot} ends generation`, async () => {
      const tokDir = template ? withTemplate(tokName, template) : tokenizerDir(tokName);
      const json = JSON.parse(fs.readFileSync(path.join(tokDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens: { id: number }[] };
      let V = 0;
      for (const id of [...Object.values(json.model.vocab), ...json.added_tokens.map((t) => t.id)]) V = Math.max(V, id + 1);
      const shape = type === 'gemma3_text' ? { head_dim: 8, query_pre_attn_scalar: 8, hidden_activation: 'gelu_pytorch_tanh' } : {};
      const dir = familyModelDir({ config: { ...BASE, ...shape, num_hidden_layers: 1, hidden_size: 32, intermediate_size: 64, model_type: type, vocab_size: V, tie_word_embeddings: true }, tokenizerDir: tokDir });
      const m = openModel(dir);
      const { file, model } = await exported(dir, tokName);
      for (const text of ['The office is open from 9 am to 6 pm.', '  営業時間は平日9時〜18時です。\n\nお問い合わせ: support@example.jp 12345!', 'ｶﾀｶﾅ and emoji 🙂 tab\tend']) {
        const expected = m.tokenizer.encode(text);
        const bosFirst = m.tokenizer.bosTokenId !== null && expected[0] === m.tokenizer.bosTokenId;
        expect([...(bosFirst ? [m.tokenizer.bosTokenId!] : []), ...model.tokenize(text, false)]).toEqual(expected);
      }
      const embedded = readGguf(file).metadata.get('tokenizer.chat_template') as string;
      const conv = template === MISTRAL_V01 ? chat.slice(1) : type === 'gemma3_text' ? chat.slice(1) : chat;
      const rendered = await renderNative(embedded, { messages: conv, add_generation_prompt: true, bos_token: m.tokenizer.bosToken ?? '', eos_token: m.tokenizer.eosToken ?? '' });
      if (!/strftime_now/.test(embedded)) expect(rendered).toBe(m.tokenizer.renderChat(conv, { addGenerationPrompt: true }));
      expect(chatIds(model, m.tokenizer.renderChat(conv, { addGenerationPrompt: true }), m.tokenizer.bosToken)).toEqual(m.tokenizer.encodeChat(conv, { addGenerationPrompt: true }));
      const end = m.tokenizer.tokenToId(eot)!;
      expect(endOfTurnIds(m.tokenizer)).toEqual([end]);
      expect(model.isEogToken(end as never)).toBe(true);
    }, SLOW);
  }
});

describe('refusals', () => {
  it('refuses a family llama.cpp cannot run and a tokenizer it cannot represent, writing nothing', () => {
    const dir = familyModelDir({ config: FAMILIES.qwen2, tokenizerDir: MINI, seed: 3 });
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-gguf-bad-'));
    for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(bad, f));
    const tok = JSON.parse(fs.readFileSync(path.join(bad, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(bad, 'tokenizer.json'), JSON.stringify({ ...tok, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, use_regex: true } }));
    const file = path.join(out, 'refused.gguf');
    expect(() => exportGguf({ model: bad, quant: 'f16', out: file })).toThrow(/pre-tokenizer/);
    const cfg = { ...FAMILIES.qwen3, attention_bias: true };
    expect(() => exportGguf({ model: familyModelDir({ config: cfg, tokenizerDir: MINI }), quant: 'f16', out: file })).toThrow(/q\/k\/v projection bias/);
    const odd = familyModelDir({ config: { ...FAMILIES.qwen2, hidden_size: 40, num_attention_heads: 4, num_key_value_heads: 2 }, tokenizerDir: MINI });
    expect(() => exportGguf({ model: odd, quant: 'q4_k_m', out: file })).toThrow(/multiple of 32/);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
