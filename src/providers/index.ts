// Public surface of providers/: one Provider interface over the local engine, OpenAI-compatible servers,
// Anthropic and Gemini, chosen by a ProviderConfig.
import { ShitateError } from '../errors.js';
import { anthropicProvider } from './anthropic.js';
import { geminiProvider } from './gemini.js';
import { localProvider } from './local.js';
import { openaiEmbedder, openaiProvider } from './openai.js';
import { PROVIDER_KINDS, type Embedder, type Provider, type ProviderConfig } from './types.js';

export * from './types.js';
export { DEFAULT_TRANSPORT, type Transport } from './http.js';
export { DEFAULT_KEY_ENV, DEFAULT_URL, baseUrl, resolveKey } from './keys.js';
export { SseParser, type SseEvent } from './sse.js';
export { anthropicBody, AnthropicStream, ANTHROPIC_VERSION } from './anthropic.js';
export { geminiBody, GeminiStream } from './gemini.js';
export { openaiChatBody, openaiEmbedder } from './openai.js';
export { localProvider, providerFromOpened } from './local.js';

export function createProvider(cfg: ProviderConfig): Provider {
  switch (cfg.kind) {
    case 'local':
      return localProvider(cfg);
    case 'openai':
      return openaiProvider(cfg);
    case 'anthropic':
      return anthropicProvider(cfg);
    case 'gemini':
      return geminiProvider(cfg);
    default:
      throw new ShitateError('E_CONFIG', `provider: expected one of ${PROVIDER_KINDS.join(', ')}, found ${JSON.stringify((cfg as { kind: unknown }).kind)}`,
        'set provider.kind, e.g. openai for Ollama/vLLM/OpenAI');
  }
}

/** Embeddings come from OpenAI-compatible endpoints (OpenAI, Ollama, vLLM, TEI's OpenAI route). */
export function createEmbedder(cfg: Omit<ProviderConfig, 'kind'>): Embedder {
  return openaiEmbedder({ ...cfg, kind: 'openai' });
}
