// The demo's bundled pieces are what they claim: the FAQ is an Excel-style Shift_JIS sheet with enough
// clean, categorised pairs; the held-out questions are paraphrases with the sheet's answers; the problems
// sheet trips the validator on each planted mistake; the model folder is complete, small and loadable.
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/data/check.js';
import { readRecords } from '../../src/train/dataset.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { bundledModelDir, readLines, sampleData } from '../../src/demo/paths.js';

const s = sampleData();

describe('sample FAQ', () => {
  it('is a Shift_JIS CSV with Japanese headers, CRLF line ends and at least 150 clean pairs in several categories', async () => {
    const bytes = fs.readFileSync(s.data);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
    const text = iconv.decode(bytes, 'cp932');
    expect(text.split('\r\n')[0]).toBe('質問,回答,分類');
    const { report, result } = await checkFiles([s.data], []);
    expect(report.examples).toBeGreaterThanOrEqual(150);
    expect(result.errors).toBe(0);
    expect(report.files[0].encoding?.toLowerCase()).toContain('shift_jis');
    expect(result.categories.length).toBeGreaterThanOrEqual(8);
  });

  it('has held-out questions worded differently from the sheet, with the sheet\'s answers as references', async () => {
    const { sources } = await checkFiles([s.data], []);
    const pairs = new Map<string, string>();
    for (const item of sources[0].items()) {
      if (item.kind === 'record') pairs.set(item.record.messages[0].content, item.record.messages[1].content);
    }
    const answers = new Set(pairs.values());
    const held = readRecords(s.heldout, 'chat');
    expect(held.length).toBeGreaterThanOrEqual(30);
    for (const r of held) {
      const [q, a] = r.messages!;
      expect(pairs.has(q.content), q.content).toBe(false);
      expect(answers.has(a.content), q.content).toBe(true);
    }
  });

  it('closing questions are everyday wordings found in neither the sheet nor the held-out set', async () => {
    const { sources } = await checkFiles([s.data], []);
    const asked = new Set<string>(readRecords(s.heldout, 'chat').map((r) => r.messages![0].content));
    for (const item of sources[0].items()) if (item.kind === 'record') asked.add(item.record.messages[0].content);
    const closing = readLines(s.questions);
    expect(closing).toEqual(expect.arrayContaining(['郵送代はいくら？', '注文を取りやめたい', '代金はいつ返ってくる？']));
    for (const q of closing) expect(asked.has(q), q).toBe(false);
  });

  it('problems sheet: the validator finds every planted mistake', async () => {
    const { result } = await checkFiles([s.problems], []);
    const codes = new Set(result.groups.map((g) => g.code));
    for (const c of ['empty_question', 'empty_answer', 'duplicate', 'near_duplicate', 'conflict', 'pii_email', 'pii_phone', 'pii_card', 'mojibake', 'template_dominance', 'ragged_row']) {
      expect(codes.has(c as never), c).toBe(true);
    }
  });
});

describe('bundled shitate-mini', () => {
  const dir = bundledModelDir();

  it('is a complete Hugging Face folder in BF16, at most 60 MB, with a licence in its model card', () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'README.md']) {
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    }
    expect(fs.statSync(path.join(dir, 'model.safetensors')).size).toBeLessThanOrEqual(60 * 2 ** 20);
    const ck = openCheckpoint(dir);
    try {
      expect(ck.tensors.get('model.embed_tokens.weight')?.dtype).toBe('BF16');
    } finally {
      ck.close();
    }
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toMatch(/^---\n(.*\n)*license: \S+/);
  });

  it('tokenizer: ChatML template ending turns with <|im_end|>, lossless on Japanese and English', () => {
    const tok = loadTokenizer(dir);
    expect(tok.eosToken).toBe('<|im_end|>');
    const chat = tok.renderChat([{ role: 'user', content: '送料は？' }], { addGenerationPrompt: true });
    expect(chat).toBe('<|im_start|>user\n送料は？<|im_end|>\n<|im_start|>assistant\n');
    for (const text of ['ご注文ありがとうございます。返品は14日以内です。', 'Refunds take 5 business days.\r\n', '🍵 ｶﾀｶﾅ and émigré']) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });
});
