// The tokenizer contract the rest of shitate uses: ids in and out, special tokens, and chat rendering with
// the model's own template (the same string in training, generation, evaluation and export).
import type { TokenOffsets } from './offsets.js';

/** One chat turn. Extra fields (tool_calls, reasoning_content, ...) pass through to the template. */
export interface ChatMessage {
  role: string; // 'system' | 'user' | 'assistant' | 'tool' for the stock templates
  content: string;
  [field: string]: unknown;
}

export interface ChatOptions {
  /** Append the opening of an assistant turn, so the model writes the reply (default false). */
  addGenerationPrompt?: boolean;
  /** Extra template variables, as transformers' apply_chat_template(**kwargs) (e.g. enable_thinking). */
  templateVars?: Record<string, unknown>;
}

export interface EncodeOptions {
  /** Add the tokenizer's own special tokens (e.g. bos) as its post-processor says (default true). */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (bos, eos, <|im_start|>, ...) from the text (default false). */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** The folder it was loaded from. */
  readonly dir: string;
  /** Number of token ids (highest id + 1, added tokens included). May be below the model's vocab_size,
   *  whose embedding is often padded. */
  readonly vocabSize: number;
  /** Ids below this come from the tokenizer model's own vocabulary; the ids from here up are added tokens.
   *  A model whose vocab_size is below it cannot be the tokenizer's model. */
  readonly baseVocabSize: number;
  readonly bosToken: string | null;
  readonly bosTokenId: number | null;
  readonly eosToken: string | null;
  readonly eosTokenId: number | null;
  /** The tokenizer's end tokens (its eos); generation adds generation_config's own. */
  readonly eosTokenIds: number[];
  readonly padTokenId: number | null;
  /** Every id that is a special token (added tokens marked special, and bos/eos/pad/unk). */
  readonly specialIds: ReadonlySet<number>;
  /** The model's chat template, or null when it ships none. */
  readonly chatTemplate: string | null;
  /** 'model' when chats render with the model's template, 'fallback' when with FALLBACK_CHAT_TEMPLATE. */
  readonly templateSource: 'model' | 'fallback';
  /** the file the template came from (tokenizer_config.json, chat_template.jinja, ...), null for the fallback */
  readonly templateFile: string | null;
  /** the Unicode normal form the tokenizer's normalizer applies (NFC for Qwen), or null */
  readonly unicodeForm: 'NFC' | 'NFD' | 'NFKC' | 'NFKD' | null;

  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  tokenToId(token: string): number | null;
  /** Character offsets in `text` of `ids`, which must be encode(text, { addSpecialTokens: false }); null when
   *  the normalizer rewrites characters so that tokens cannot be traced back to the text. */
  tokenOffsets(text: string, ids: readonly number[]): TokenOffsets | null;
  idToToken(id: number): string | null;
  /** The conversation as the template renders it (transformers' apply_chat_template(tokenize=False)). */
  renderChat(messages: readonly ChatMessage[], opts?: ChatOptions): string;
  /** The rendered conversation tokenized without adding special tokens again, as transformers'
   *  apply_chat_template(tokenize=True) does: the template already wrote them. */
  encodeChat(messages: readonly ChatMessage[], opts?: ChatOptions): number[];
}
