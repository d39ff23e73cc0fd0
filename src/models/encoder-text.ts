// Texts into encoder batches: the model's tokenizer.json (WordPiece for BERT, Unigram / SentencePiece for XLM-R,
// BPE for ModernBERT), truncation that keeps the special tokens the post-processor adds ([CLS] ... [SEP],
// <s> ... </s>), right padding with the model's pad id and the attention mask. A folder without tokenizer.json is
// refused with what to do for the tokenizer it has.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { readJsonObject } from '../io/json-fields.js';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import type { EncoderConfig, EncoderInput } from './encoder-types.js';

/** Why a folder has no usable tokenizer.json, and what to do for the files it has instead. */
function missingTokenizer(dir: string): ShitateError {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cls = fs.existsSync(cfgFile) ? String(readJsonObject(cfgFile, '').tokenizer_class ?? '') : '';
  const found = names.filter((n) => /^(vocab\.txt|sentencepiece\.bpe\.model|spiece\.model|tokenizer\.model|vocab\.json)$/.test(n));
  const what = `${dir}: expected tokenizer.json, found ${found.length > 0 ? `only ${found.join(', ')}` : 'no tokenizer files'}`;
  if (cls === 'BertJapaneseTokenizer') {
    return new ShitateError('E_TOKENIZER_MISSING', what,
      'this model splits words with MeCab (BertJapaneseTokenizer), which has no tokenizer.json; pick a Japanese encoder that ships one (e.g. a ModernBERT or XLM-R based model such as ruri or multilingual-e5), or one with a character-level WordPiece tokenizer.json');
  }
  return new ShitateError('E_TOKENIZER_MISSING', what,
    found.length > 0
      ? 'create it once with transformers: AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR) writes tokenizer.json from these files'
      : 'download tokenizer.json and tokenizer_config.json from the model page into the model folder');
}

/** The tokenizer of an encoder folder. */
export function loadEncoderTokenizer(dir: string): Tokenizer {
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) throw missingTokenizer(dir);
  return loadTokenizer(dir);
}

/** The special tokens the tokenizer's post-processor puts around one text: found by encoding a probe with and
 *  without them (BERT: [CLS] | [SEP], XLM-R: <s> | </s>). */
export function specialFrame(tok: Tokenizer): { prefix: number[]; suffix: number[] } {
  for (const probe of ['a', 'hello', '0']) {
    const plain = tok.encode(probe, { addSpecialTokens: false });
    const full = tok.encode(probe, { addSpecialTokens: true });
    if (plain.length === 0) continue;
    for (let i = 0; i + plain.length <= full.length; i++) {
      if (plain.every((id, j) => full[i + j] === id)) return { prefix: full.slice(0, i), suffix: full.slice(i + plain.length) };
    }
  }
  return { prefix: [], suffix: [] };
}

/** The longest input the model takes: max_position_embeddings, less RoBERTa's offset of padding_idx + 1. */
export function modelMaxLength(c: EncoderConfig): number {
  return c.arch === 'roberta' ? c.maxPositions - c.padTokenId - 1 : c.maxPositions;
}

export interface TextEncoder {
  readonly tokenizer: Tokenizer;
  readonly maxLength: number;
  /** token ids of one text, truncated to maxLength with its special tokens kept */
  ids(text: string): number[];
  /** already tokenized text (no special tokens) truncated and framed by the special tokens */
  frame(ids: readonly number[]): number[];
  /** a right-padded batch of already tokenized rows */
  batch(rows: readonly (readonly number[])[]): EncoderInput;
}

export function textEncoder(tok: Tokenizer, c: EncoderConfig, maxLength?: number): TextEncoder {
  const frame = specialFrame(tok);
  const limit = Math.min(maxLength ?? Infinity, modelMaxLength(c));
  const room = Math.max(0, limit - frame.prefix.length - frame.suffix.length);
  const pad = tok.padTokenId ?? c.padTokenId;
  return {
    tokenizer: tok,
    maxLength: limit,
    ids: (text) => [...frame.prefix, ...tok.encode(text, { addSpecialTokens: false }).slice(0, room), ...frame.suffix],
    frame: (ids) => [...frame.prefix, ...ids.slice(0, room), ...frame.suffix],
    batch(rows) {
      const B = rows.length;
      const T = Math.max(1, ...rows.map((r) => r.length));
      const ids = new Int32Array(B * T).fill(pad);
      const mask = new Int32Array(B * T);
      rows.forEach((r, b) => {
        ids.set(r, b * T);
        mask.fill(1, b * T, b * T + r.length);
      });
      return { ids, mask, typeIds: null, batch: B, seqLen: T };
    },
  };
}
