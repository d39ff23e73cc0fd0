// Any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, another shitate): chat completions streamed over
// SSE, and /embeddings for retrieval.
import { ShitateError } from '../errors.js';
import { DEFAULT_TRANSPORT, postJson, readJson, type Endpoint, type Transport } from './http.js';
import { baseUrl, resolveKey } from './keys.js';
import { parseData, sseEvents } from './sse.js';
import {
  abortable, estimateTokens, type ChatEvent, type ChatFinish, type ChatMessage, type ChatRequest, type Embedder, type GenParams, type Provider,
  type ProviderConfig, type Usage,
} from './types.js';

export function transportOf(cfg: ProviderConfig): Transport {
  return {
    timeoutMs: cfg.timeoutMs ?? DEFAULT_TRANSPORT.timeoutMs,
    retries: cfg.retries ?? DEFAULT_TRANSPORT.retries,
    backoffMs: cfg.backoffMs ?? DEFAULT_TRANSPORT.backoffMs,
  };
}

function endpoint(cfg: ProviderConfig, pathname: string): Endpoint {
  const { key, hint } = resolveKey(cfg);
  return {
    who: 'the OpenAI-compatible server',
    url: `${baseUrl(cfg)}${pathname}`,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    keyHint: hint,
  };
}

/** The request body for /chat/completions. */
export function openaiChatBody(model: string, messages: readonly ChatMessage[], p: GenParams, stream: boolean, official: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { model, messages: messages.map((m) => ({ role: m.role, content: m.content })), stream };
  if (stream) body.stream_options = { include_usage: true };
  if (p.temperature !== undefined) body.temperature = p.temperature;
  if (p.topP !== undefined) body.top_p = p.topP;
  // top_k is an extension (vLLM, Ollama, shitate); api.openai.com refuses it
  if (p.topK !== undefined && !official) body.top_k = p.topK;
  if (p.maxTokens !== undefined) body.max_tokens = p.maxTokens;
  if (p.stop && p.stop.length > 0) body.stop = p.stop;
  if (p.seed !== undefined) body.seed = p.seed;
  return body;
}

export function openaiFinish(reason: unknown): ChatFinish {
  return reason === 'stop' ? 'stop' : reason === 'length' ? 'length' : 'other';
}

interface Chunk {
  choices?: { delta?: { content?: string | null }; message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

function usageOf(u: Chunk['usage']): Usage | null {
  return u && typeof u.prompt_tokens === 'number' ? { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens ?? 0 } : null;
}

/** Maps one streamed chunk (or a whole non-streamed completion) to text and end facts. */
export function readOpenaiChunk(ep: Endpoint, c: Chunk): { text: string; finish: string | null; usage: Usage | null } {
  if (c.error) {
    throw new ShitateError('E_PROVIDER_STREAM', `${ep.who} reported an error mid-reply: ${c.error.message ?? JSON.stringify(c.error)}`, 'try again');
  }
  const ch = c.choices?.[0];
  return { text: ch?.delta?.content ?? ch?.message?.content ?? '', finish: ch?.finish_reason ?? null, usage: usageOf(c.usage) };
}

export function openaiProvider(cfg: ProviderConfig): Provider {
  const t = transportOf(cfg);
  const official = (() => {
    try {
      return new URL(baseUrl(cfg)).hostname === 'api.openai.com';
    } catch {
      return false;
    }
  })();
  return {
    kind: 'openai',
    model: cfg.model,
    countTokens: estimateTokens,
    chat(req: ChatRequest) {
      return abortable(req.signal, (async function* (): AsyncGenerator<ChatEvent> {
        const ep = endpoint(cfg, '/chat/completions');
        const opened = await postJson(ep, openaiChatBody(cfg.model, req.messages, req.params ?? {}, true, official), t, req.signal);
        // a server that ignores `stream` answers with one JSON completion
        if ((opened.response.headers.get('content-type') ?? '').includes('application/json')) {
          const r = readOpenaiChunk(ep, (await readJson(ep, opened, t)) as Chunk);
          if (r.text) yield { type: 'text', text: r.text };
          yield { type: 'done', finishReason: openaiFinish(r.finish), usage: r.usage };
          return;
        }
        let finish: string | null = null;
        let usage: Usage | null = null;
        for await (const ev of sseEvents(ep, opened, t.timeoutMs, req.signal)) {
          if (ev.data === '[DONE]') break;
          const r = readOpenaiChunk(ep, parseData(ep, ev.data) as Chunk);
          if (r.text) yield { type: 'text', text: r.text };
          finish = r.finish ?? finish;
          usage = r.usage ?? usage;
        }
        yield { type: 'done', finishReason: openaiFinish(finish), usage };
      })());
    },
  };
}

interface EmbeddingsBody {
  data?: { embedding?: number[]; index?: number }[];
}

/** Embeddings from POST {url}/embeddings, in batches, in input order. */
export function openaiEmbedder(cfg: ProviderConfig, batch = 64): Embedder {
  const t = transportOf(cfg);
  return {
    model: cfg.model,
    async embed(texts, signal) {
      const ep = { ...endpoint(cfg, '/embeddings'), who: 'the embeddings endpoint' };
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batch) {
        const input = texts.slice(i, i + batch);
        const body = (await readJson(ep, await postJson(ep, { model: cfg.model, input }, t, signal), t)) as EmbeddingsBody;
        const rows = body.data ?? [];
        if (rows.length !== input.length || rows.some((r) => !Array.isArray(r.embedding))) {
          throw new ShitateError('E_PROVIDER_RESPONSE', `${ep.who}: expected ${input.length} embeddings, found ${rows.length}`,
            'check that the model is an embedding model');
        }
        const sorted = [...rows].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
        for (const r of sorted) out.push(Float32Array.from(r.embedding ?? []));
      }
      return out;
    },
  };
}
