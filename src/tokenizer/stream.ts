// Incremental detokenizer for streaming generation: push ids one by one, get back only text that is
// complete. A multi-byte character split across byte-level tokens (common for Japanese and emoji) decodes to
// U+FFFD until its last byte arrives, so text ending in U+FFFD is held back.
import type { DecodeOptions, Tokenizer } from './types.js';

export interface StreamDecoder {
  /** Adds one token id; returns the newly completed text ('' while a character is incomplete). */
  push(id: number): string;
  /** Returns whatever is still held back (an incomplete tail decodes with U+FFFD), e.g. at end of stream. */
  flush(): string;
}

/**
 * Decodes a short window instead of the whole sequence: text(prefix + new) minus text(prefix). The prefix
 * (the tokens before the last emitted point) gives decoders that treat the first token specially
 * (SentencePiece's leading-space strip) the same context they have in a full decode.
 */
export function createStreamDecoder(tok: Pick<Tokenizer, 'decode'>, opts: DecodeOptions = {}): StreamDecoder {
  let ids: number[] = [];
  let prefixOffset = 0; // start of the context window
  let readOffset = 0; // ids before this are already emitted

  const step = (force: boolean): string => {
    const prefixText = tok.decode(ids.slice(prefixOffset, readOffset), opts);
    const fullText = tok.decode(ids.slice(prefixOffset), opts);
    if (fullText.length <= prefixText.length || (!force && fullText.endsWith('\uFFFD'))) return '';
    const delta = fullText.slice(prefixText.length);
    // Advance, dropping ids no window needs any more: memory stays bounded on long streams.
    ids = ids.slice(readOffset);
    prefixOffset = 0;
    readOffset = ids.length;
    return delta;
  };

  return {
    push(id: number): string {
      ids.push(id);
      return step(false);
    },
    flush(): string {
      return step(true);
    },
  };
}
