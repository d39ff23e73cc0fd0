// Public surface of tokenizer/: loading, chat rendering, template variables and streaming decode.
export { loadTokenizer, type LoadTokenizerOptions } from './load.js';
export { FALLBACK_CHAT_TEMPLATE, findChatTemplate, renderTemplate, strftimeNow } from './chat-template.js';
export { createStreamDecoder, type StreamDecoder } from './stream.js';
export type { ChatMessage, ChatOptions, DecodeOptions, EncodeOptions, Tokenizer } from './types.js';
export { parseTemplateVars, trainingTemplateVars, hasThinkingSwitch, type TemplateVars, type TrainingVars } from './template-vars.js';
export { foldSystem, systemSupport, type SystemSupport } from './system-role.js';
export type { TokenOffsets } from './offsets.js';
export { beyondEmbedding, checkIdsFit, checkTokenizerFits } from './embedding.js';
