// One interface for every text generator shitate can talk to: the local engine and hosted APIs alike.
// A provider streams a chat reply as text deltas followed by one final event.
import type { ChatMessage } from '../tokenizer/index.js';

export type { ChatMessage };

export type ProviderKind = 'local' | 'openai' | 'anthropic' | 'gemini';
export const PROVIDER_KINDS: readonly ProviderKind[] = ['local', 'openai', 'anthropic', 'gemini'];

/** Generation settings; unset fields take the provider's (or model's) own defaults. */
export interface GenParams {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
}

export interface ChatRequest {
  messages: readonly ChatMessage[];
  params?: GenParams;
  signal?: AbortSignal;
  /** texts the reply may quote, and the bonus for quoting them (source-anchored decoding): the local engine
   *  steers its decoding with it; hosted APIs have no such control and ignore it */
  quote?: { texts: readonly string[]; strength: number } | null;
}

/** 'other' covers a provider-specific end such as a safety block. */
export type ChatFinish = 'stop' | 'length' | 'abort' | 'other';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type ChatEvent =
  | { type: 'text'; text: string }
  | { type: 'done'; finishReason: ChatFinish; usage: Usage | null; detail?: string };

export interface Provider {
  readonly kind: ProviderKind;
  /** the model name (or, for the local engine, the model folder) */
  readonly model: string;
  chat(req: ChatRequest): AsyncGenerator<ChatEvent>;
  /** tokens the text costs in a prompt: exact for the local engine, an estimate for hosted models */
  countTokens(text: string): number;
}

/** Turns texts into vectors for retrieval (an OpenAI-compatible /embeddings endpoint, or a local encoder). */
export interface Embedder {
  readonly model: string;
  /** vectors of passages (what is indexed) */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** vectors of search questions, for models that embed questions with their own prompt (e5's "query: "); absent:
   *  questions are embedded like passages */
  embedQueries?(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** How to reach a provider: URL, model and key, plus transport limits. */
export interface ProviderConfig {
  kind: ProviderKind;
  /** model name; for `local`, the Hugging Face model folder */
  model: string;
  /** API base URL (defaults per kind); unused for `local` */
  url?: string;
  /** the API key itself; prefer keyEnv so keys stay out of files */
  key?: string;
  /** the environment variable holding the key (default per kind, e.g. ANTHROPIC_API_KEY) */
  keyEnv?: string;
  /** LoRA adapter folder, `local` only */
  adapter?: string;
  /** per-request limit on waiting for the response to start, and on silence while it streams (ms) */
  timeoutMs?: number;
  /** retries after a network error, a timeout, 429 or 5xx */
  retries?: number;
  /** first retry delay (ms); doubles each retry */
  backoffMs?: number;
}

export interface ChatResult {
  text: string;
  finishReason: ChatFinish;
  usage: Usage | null;
}

/** Collects a streamed reply. */
export async function complete(p: Provider, req: ChatRequest, onText?: (t: string) => void): Promise<ChatResult> {
  let text = '';
  for await (const ev of p.chat(req)) {
    if (ev.type === 'text') {
      text += ev.text;
      onText?.(ev.text);
    } else return { text, finishReason: ev.finishReason, usage: ev.usage };
  }
  return { text, finishReason: 'other', usage: null };
}

/** Rough token count for hosted models whose tokenizer is not at hand: one per CJK character, one per
 *  four other characters (the usual rule of thumb for English BPE vocabularies). */
export function estimateTokens(text: string): number {
  let cjk = 0;
  let other = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef)) cjk++;
    else other++;
  }
  return cjk + Math.ceil(other / 4);
}

/** Wraps a reply stream so that stopping it through its AbortSignal ends it with finishReason 'abort'
 *  instead of an error, wherever the stop lands (connecting, waiting, streaming). */
export async function* abortable(signal: AbortSignal | undefined, inner: AsyncGenerator<ChatEvent>): AsyncGenerator<ChatEvent> {
  try {
    for await (const ev of inner) {
      if (ev.type === 'done' && signal?.aborted) {
        yield { ...ev, finishReason: 'abort' };
        return;
      }
      yield ev;
    }
  } catch (e) {
    if (!signal?.aborted) throw e;
    yield { type: 'done', finishReason: 'abort', usage: null };
  }
}
