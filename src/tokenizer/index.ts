// Public surface of tokenizer/: loading, chat rendering and streaming decode.
export { loadTokenizer, type LoadTokenizerOptions } from './load.js';
export { FALLBACK_CHAT_TEMPLATE, findChatTemplate, renderTemplate, strftimeNow } from './chat-template.js';
export { createStreamDecoder, type StreamDecoder } from './stream.js';
export type { ChatMessage, ChatOptions, DecodeOptions, EncodeOptions, Tokenizer } from './types.js';
