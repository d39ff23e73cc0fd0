// Google's Gemini API over plain fetch: POST /v1beta/models/MODEL:streamGenerateContent?alt=sse; each
// event is a GenerateContentResponse with text parts, the last one carrying finishReason and usage.
import { ShitateError } from '../errors.js';
import { postJson, type Endpoint } from './http.js';
import { baseUrl, resolveKey } from './keys.js';
import { transportOf } from './openai.js';
import { parseData, sseEvents } from './sse.js';
import { splitTurns } from './turns.js';
import { abortable, estimateTokens, type ChatEvent, type ChatFinish, type ChatMessage, type GenParams, type Provider, type ProviderConfig, type Usage } from './types.js';

export function geminiBody(messages: readonly ChatMessage[], p: GenParams): Record<string, unknown> {
  const { system, turns } = splitTurns(messages);
  const body: Record<string, unknown> = {
    contents: turns.map((t) => ({ role: t.role === 'assistant' ? 'model' : 'user', parts: [{ text: t.content }] })),
  };
  if (system) body.systemInstruction = { parts: [{ text: system }] };
  const g: Record<string, unknown> = {};
  if (p.temperature !== undefined) g.temperature = p.temperature;
  if (p.topP !== undefined) g.topP = p.topP;
  if (p.topK !== undefined) g.topK = p.topK;
  if (p.maxTokens !== undefined) g.maxOutputTokens = p.maxTokens;
  if (p.stop && p.stop.length > 0) g.stopSequences = p.stop;
  if (p.seed !== undefined) g.seed = p.seed;
  if (Object.keys(g).length > 0) body.generationConfig = g;
  return body;
}

export function geminiFinish(reason: unknown): ChatFinish {
  if (reason === 'STOP') return 'stop';
  return reason === 'MAX_TOKENS' ? 'length' : 'other';
}

interface GeminiChunk {
  candidates?: { content?: { parts?: { text?: string; thought?: boolean }[] }; finishReason?: string }[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number };
  promptFeedback?: { blockReason?: string };
  error?: { message?: string; status?: string };
}

/** Folds GenerateContentResponse chunks into text deltas and the final facts. */
export class GeminiStream {
  finishReason: string | null = null;
  usage: Usage | null = null;

  constructor(private readonly ep: Endpoint) {}

  push(c: GeminiChunk): string {
    if (c.error) {
      throw new ShitateError('E_PROVIDER_STREAM', `${this.ep.who} reported ${c.error.status ?? 'an error'} mid-reply: ${c.error.message ?? ''}`, 'try again');
    }
    if (c.promptFeedback?.blockReason) this.finishReason = c.promptFeedback.blockReason;
    if (c.usageMetadata) {
      this.usage = { promptTokens: c.usageMetadata.promptTokenCount ?? 0, completionTokens: c.usageMetadata.candidatesTokenCount ?? 0 };
    }
    const cand = c.candidates?.[0];
    if (cand?.finishReason) this.finishReason = cand.finishReason;
    // "thought" parts are the model's hidden reasoning, not the reply
    return (cand?.content?.parts ?? []).filter((p) => !p.thought).map((p) => p.text ?? '').join('');
  }

  done(aborted: boolean): ChatEvent {
    const finishReason = aborted ? 'abort' : geminiFinish(this.finishReason);
    return { type: 'done', finishReason, usage: this.usage, ...(finishReason === 'other' && this.finishReason ? { detail: this.finishReason } : {}) };
  }
}

export function geminiEndpoint(cfg: ProviderConfig): Endpoint {
  const { key, hint } = resolveKey(cfg);
  return {
    who: 'the Gemini API',
    url: `${baseUrl(cfg)}/v1beta/models/${encodeURIComponent(cfg.model)}:streamGenerateContent?alt=sse`,
    headers: { 'x-goog-api-key': key ?? '' },
    keyHint: hint,
  };
}

export function geminiProvider(cfg: ProviderConfig): Provider {
  const t = transportOf(cfg);
  return {
    kind: 'gemini',
    model: cfg.model,
    countTokens: estimateTokens,
    chat(req) {
      return abortable(req.signal, (async function* (): AsyncGenerator<ChatEvent> {
        const ep = geminiEndpoint(cfg);
        const opened = await postJson(ep, geminiBody(req.messages, req.params ?? {}), t, req.signal);
        const s = new GeminiStream(ep);
        for await (const ev of sseEvents(ep, opened, t.timeoutMs, req.signal)) {
          const text = s.push(parseData(ep, ev.data) as GeminiChunk);
          if (text) yield { type: 'text', text };
        }
        yield s.done(false);
      })());
    },
  };
}
