// The tokenized preview of a prepared dataset: the first examples as `shitate train` tokenizes them for the
// chosen model (its chat template, the loss mask from train/dataset.ts, truncation to max_seq_len), as
// pieces of text marked "learned from" or not. Pieces follow whole characters: a Japanese character split
// over byte-level tokens is one piece.
import { loadGenerationConfig } from '../io/generation-config.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { endOfTurnIds } from '../tokenizer/loss-mask.js';
import { readRecords, tokenizeRecords } from '../train/dataset.js';
import { createStreamDecoder } from '../tokenizer/index.js';

export interface TokenPiece {
  text: string;
  /** the model learns to produce this piece (loss mask 1) */
  target: boolean;
  /** a special token (template marker, end of turn) */
  special: boolean;
  /** token ids in this piece */
  ids: number[];
}

export interface TokenizedExample {
  pieces: TokenPiece[];
  tokens: number;
  targets: number;
}

export interface TokenPreview {
  template: 'model' | 'fallback';
  examples: TokenizedExample[];
  truncated: number;
  appendedEos: number;
}

export function tokenPreview(modelDir: string, dataFile: string, n: number, maxSeqLen: number): TokenPreview {
  const tok = loadTokenizer(modelDir);
  const endIds = [...new Set([...loadGenerationConfig(modelDir).eosTokenIds, ...tok.eosTokenIds, ...endOfTurnIds(tok)])];
  const recs = readRecords(dataFile).slice(0, n);
  const data = tokenizeRecords(recs, tok, endIds, maxSeqLen);
  const examples = data.examples.map((ex) => {
    const dec = createStreamDecoder(tok);
    const pieces: TokenPiece[] = [];
    let pending: number[] = [];
    for (let i = 0; i < ex.ids.length; i++) {
      pending.push(ex.ids[i]);
      const text = dec.push(ex.ids[i]);
      if (!text && i < ex.ids.length - 1) continue; // part of a character: joins the next token's piece
      pieces.push({ text: text || dec.flush(), target: ex.mask[i] === 1, special: pending.some((id) => tok.specialIds.has(id)), ids: pending });
      pending = [];
    }
    return { pieces, tokens: ex.ids.length, targets: ex.mask.reduce((s, m) => s + m, 0) };
  });
  return { template: tok.templateSource, examples, truncated: data.truncated, appendedEos: data.appendedEos };
}
