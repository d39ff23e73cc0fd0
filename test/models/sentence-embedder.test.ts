// Encoder text handling and sentence embeddings: our tokenizer loader against the Rust `tokenizers` library on
// Japanese text (WordPiece and Unigram), truncation that keeps the special tokens, sentence-transformers pooling
// against the PyTorch goldens, batches equal to one text at a time, prompts, normalisation, and the refusal of a
// folder without tokenizer.json.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import rust from 'tokenizers';
import { loadEncoderTokenizer, specialFrame, textEncoder } from '../../src/models/encoder-text.js';
import { loadEncoderConfig } from '../../src/models/encoder-load.js';
import { poolHidden, SentenceEmbedder } from '../../src/models/sentence-embedder.js';
import { ShitateError } from '../../src/errors.js';
import { tinyEncoderDir } from '../helpers/tiny-encoder.js';
import { tempDir } from '../helpers/tiny-model.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
const TEXTS = ['送料はいくらですか？', '郵送代はいくら？　ＡＢＣ１２３ abc', '返品は14日以内に受け付けております。', 'Refunds within 30 days!', '', '絵文字😀と改行\r\nあり'];

describe.each(['bert', 'xlm-roberta'] as const)('%s tokenizer', (arch) => {
  const dir = tinyEncoderDir({ arch });

  it('gives the ids of the Rust tokenizers library, special tokens included', async () => {
    const ours = loadEncoderTokenizer(dir);
    const theirs = rust.Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    for (const t of TEXTS) expect(ours.encode(t), t).toEqual((await theirs.encode(t)).getIds());
  });

  it('truncates the text, not the special tokens', () => {
    const tok = loadEncoderTokenizer(dir);
    const frame = specialFrame(tok);
    expect(frame.prefix.length).toBe(1);
    expect(frame.suffix.length).toBe(1);
    const enc = textEncoder(tok, loadEncoderConfig(dir), 6);
    const ids = enc.ids(TEXTS[2].repeat(5));
    expect(ids.length).toBe(6);
    expect(ids[0]).toBe(frame.prefix[0]);
    expect(ids[5]).toBe(frame.suffix[0]);
    const b = enc.batch([ids, ids.slice(0, 3)]);
    expect(Array.from(b.mask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  });
});

describe('sentence-transformers pooling', () => {
  it.each(['bert-enc-tiny', 'xlmr-enc-tiny', 'modernbert-enc-tiny'])('mean, CLS and last-token of %s match the reference', (name) => {
    const g = JSON.parse(fs.readFileSync(path.join(FIX, name, 'golden.json'), 'utf8')) as { hidden: number[]; hidden_shape: number[]; attention_mask: number[][]; pooled_normalized: Record<string, number[]> };
    const [B, T, C] = g.hidden_shape;
    for (const mode of ['mean', 'cls', 'lasttoken'] as const) {
      const got = poolHidden(Float32Array.from(g.hidden), Int32Array.from(g.attention_mask.flat()), B, T, C, [mode], true);
      const want = g.pooled_normalized[mode];
      got.flatMap((v) => Array.from(v)).forEach((x, i) => expect(Math.abs(x - want[i]), mode).toBeLessThan(1e-5));
    }
  });
});

describe('SentenceEmbedder', () => {
  it('embeds a batch as it embeds each text alone, normalised, with the model card prompts', () => {
    const dir = tinyEncoderDir({ arch: 'bert', sentence: { pooling: 'mean', normalize: true, prompts: { query: '検索クエリ: ', passage: '検索文書: ' } } });
    const e = new SentenceEmbedder(dir);
    expect(e.prompts).toEqual({ query: '検索クエリ: ', passage: '検索文書: ' });
    const batch = e.embed(TEXTS, 'passage').vectors;
    TEXTS.forEach((t, i) => {
      const alone = e.embed([t], 'passage').vectors[0];
      expect(Math.max(...alone.map((x, j) => Math.abs(x - batch[i][j])))).toBeLessThan(1e-5);
      expect(Math.hypot(...batch[i])).toBeCloseTo(1, 5);
    });
    const q = e.embed([TEXTS[0]], 'query').vectors[0];
    expect(Math.max(...q.map((x, j) => Math.abs(x - batch[0][j])))).toBeGreaterThan(1e-4); // the prompt changes the vector
  });

  it('uses e5\'s query: / passage: convention for an e5 model without prompts, and mean pooling without modules.json', () => {
    const e5 = new SentenceEmbedder(tinyEncoderDir({ arch: 'xlm-roberta', name: 'multilingual-e5-tiny', sentence: { pooling: 'mean', normalize: true } }));
    expect(e5.prompts).toEqual({ query: 'query: ', passage: 'passage: ' });
    const plain = new SentenceEmbedder(tinyEncoderDir({ arch: 'modernbert' }));
    expect(plain.config.pooling).toEqual(['mean']);
    expect(plain.normalize).toBe(false);
    expect(plain.dims).toBe(32);
  });

  it('refuses a folder without tokenizer.json and says what to do', () => {
    const dir = tempDir();
    const src = tinyEncoderDir({ arch: 'bert' });
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\n');
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'BertJapaneseTokenizer' }));
    const err = (() => { try { new SentenceEmbedder(dir); } catch (e) { return e; } return null; })();
    expect(err).toBeInstanceOf(ShitateError);
    expect((err as ShitateError).code).toBe('E_TOKENIZER_MISSING');
    expect((err as ShitateError).hint).toMatch(/MeCab/);
  });
});
