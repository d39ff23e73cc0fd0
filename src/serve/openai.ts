// The response objects of OpenAI's API as this server writes them: chat completions and their stream chunks,
// text completions, usage, the model list, and the server-sent-event framing ("data: {json}\n\n", "[DONE]").
import { randomUUID } from 'node:crypto';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** OpenAI's finish reasons: 'stop' (end of turn or a stop string), 'length' (token budget) and
 *  'content_filter' (a hosted model's own safety stop). */
export type ApiFinishReason = 'stop' | 'length' | 'content_filter';

export function usage(u: { promptTokens: number; completionTokens: number }): Usage {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens };
}

export function newId(prefix: 'chatcmpl' | 'cmpl'): string {
  return `${prefix}-${randomUUID().replaceAll('-', '')}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** What every object of one response shares. */
export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
  /** this server's notes on the request (e.g. an assistant's prompt plan), sent as the `shitate` field of a
   *  chat completion and of a stream's first chunk; OpenAI clients ignore fields they do not know */
  info?: Record<string, unknown>;
  /** extra response headers */
  headers?: Record<string, string>;
}

/** `reasoning` (vLLM's reasoning_content) is given for models whose replies carry reasoning blocks; then
 *  the content is null when the reply held no answer. */
export function chatCompletion(m: ResponseMeta, text: string | null, finish: ApiFinishReason, u: Usage, reasoning?: string | null): object {
  const message = { role: 'assistant', content: text, refusal: null, ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}) };
  return {
    id: m.id, object: 'chat.completion', created: m.created, model: m.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage: u,
    ...(m.info ? { shitate: m.info } : {}),
  };
}

export interface ChatDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
}

/** One stream chunk; `usage` is left out unless given (null on every chunk when the client asked for a usage chunk). */
export function chatChunk(m: ResponseMeta, delta: ChatDelta, finish: ApiFinishReason | null,
  u?: Usage | null): object {
  const chunk: Record<string, unknown> = {
    id: m.id, object: 'chat.completion.chunk', created: m.created, model: m.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
  if (u !== undefined) chunk.usage = u;
  if (m.info && delta.role) chunk.shitate = m.info; // once, on the chunk that opens the reply
  return chunk;
}

export function textCompletion(m: ResponseMeta, text: string, finish: ApiFinishReason, u: Usage): object {
  return {
    id: m.id, object: 'text_completion', created: m.created, model: m.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    usage: u,
  };
}

export function textChunk(m: ResponseMeta, text: string, finish: ApiFinishReason | null, u?: Usage | null): object {
  const chunk: Record<string, unknown> = {
    id: m.id, object: 'text_completion', created: m.created, model: m.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
  };
  if (u !== undefined) chunk.usage = u;
  return chunk;
}

/** The chunk OpenAI sends last when stream_options.include_usage is set: no choices, the whole usage. */
export function usageChunk(m: ResponseMeta, object: 'chat.completion.chunk' | 'text_completion', u: Usage): object {
  return { id: m.id, object, created: m.created, model: m.model, choices: [], usage: u };
}

/** A model entry; `kind` (base, adapter, assistant) is this server's addition to OpenAI's fields. */
export function modelObject(id: string, created: number, ownedBy: string, kind?: string): object {
  return { id, object: 'model', created, owned_by: ownedBy, ...(kind ? { kind } : {}) };
}

export const sse = (obj: object): string => `data: ${JSON.stringify(obj)}\n\n`;
export const SSE_DONE = 'data: [DONE]\n\n';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no', // proxies (nginx) must not buffer a token stream
};

/** A server-sent-event body that stops writing once the client is gone (cancel() aborts `abort`, which
 *  stops the generation behind it). */
export function sseBody(abort: AbortController): { body: ReadableStream<Uint8Array>; write(obj: object | string): void; end(): void } {
  const enc = new TextEncoder();
  let open = true;
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      open = false;
      abort.abort();
    },
  });
  return {
    body,
    write(obj) {
      if (open) controller?.enqueue(enc.encode(typeof obj === 'string' ? obj : sse(obj)));
    },
    end() {
      if (open) controller?.close();
      open = false;
    },
  };
}
