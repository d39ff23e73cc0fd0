// A tokenizer may know a few more ids than the model has embedding rows: Gemma-3-1b's tokenizer has 262145
// (the last one an image placeholder) and its config says vocab_size 262144. transformers accepts that, and
// so does shitate, refusing only an id beyond the embedding that actually occurs in data or a prompt.
import { ShitateError } from '../errors.js';
import type { Tokenizer } from './types.js';

/** Refuses a tokenizer whose own vocabulary (added tokens aside) is larger than the embedding: then it
 *  belongs to another model. */
export function checkTokenizerFits(tok: Tokenizer, vocabSize: number, dir: string): void {
  if (tok.baseVocabSize > vocabSize) {
    throw new ShitateError('E_TOKENIZER', `${dir}: expected a tokenizer vocabulary within the model's vocab_size of ${vocabSize}, found ${tok.baseVocabSize} tokens (added tokens aside)`,
      'tokenizer.json and the weights come from different models; re-download the model folder');
  }
}

/** The error for a token id the model has no embedding for; `where` says whose ids (a file:line, "the prompt"). */
export function beyondEmbedding(tok: Tokenizer, id: number, vocabSize: number, where: string): ShitateError {
  return new ShitateError('E_TOKEN_ID', `${where}: expected token ids the model has embeddings for (below its vocab_size ${vocabSize}), ` +
    `found ${id} (${JSON.stringify(tok.idToToken(id))})`,
    'the tokenizer knows a few tokens beyond the model\'s embedding (e.g. an image placeholder a text model cannot read); take that text out');
}

/** Throws when one of `ids` is beyond the embedding. */
export function checkIdsFit(tok: Tokenizer, ids: readonly number[], vocabSize: number, where: string): void {
  if (tok.vocabSize <= vocabSize) return;
  const bad = ids.find((id) => id >= vocabSize);
  if (bad !== undefined) throw beyondEmbedding(tok, bad, vocabSize, where);
}
