// Chats answered by another service (a served model's `chat`, e.g. a hosted API): its reply mapped onto
// OpenAI's chat completion, whole or as server-sent events with the same chunk shapes local generations use.
import { ApiError, clientGone, errorResponse } from './errors.js';
import * as oa from './openai.js';
import type { ChatTurn, ReplyEvent } from './registry.js';
import type { ChatRequest } from './request.js';

type ReplyDone = Extract<ReplyEvent, { type: 'done' }>;
type ChatFn = (turn: ChatTurn) => AsyncIterable<ReplyEvent>;

export interface RelayHooks {
  meta: oa.ResponseMeta;
  /** called once with the final event and the whole text */
  finished(done: ReplyDone, text: string): void;
  /** the error to send for a failure */
  fail(e: unknown): ApiError;
}

/** A provider's own end (e.g. a safety block) is what OpenAI calls content_filter. */
const finishOf = (r: ReplyDone['finishReason']): oa.ApiFinishReason => (r === 'length' ? 'length' : r === 'other' ? 'content_filter' : 'stop');

const noEnd = (): ApiError => new ApiError(502, 'the upstream reply ended without saying how it finished', { code: 'upstream_incomplete' });

export function relayChat(chat: ChatFn, turn: ChatTurn, req: ChatRequest, h: RelayHooks): Promise<Response> {
  return req.stream ? relayStream(chat, turn, req, h) : relayWhole(chat, turn, h);
}

async function relayWhole(chat: ChatFn, turn: ChatTurn, h: RelayHooks): Promise<Response> {
  let text = '';
  let done: ReplyDone | null = null;
  try {
    for await (const ev of chat(turn)) {
      if (ev.type === 'text') text += ev.text;
      else done = ev;
    }
  } catch (e) {
    return errorResponse(h.fail(e));
  }
  if (!done) return errorResponse(h.fail(noEnd()));
  h.finished(done, text);
  if (done.finishReason === 'abort') return errorResponse(clientGone());
  return Response.json(oa.chatCompletion(h.meta, text, finishOf(done.finishReason), oa.usage(done.usage)), { headers: h.meta.headers });
}

async function relayStream(chat: ChatFn, turn: ChatTurn, req: ChatRequest, h: RelayHooks): Promise<Response> {
  const abort = new AbortController();
  turn.signal.addEventListener('abort', () => abort.abort(), { once: true });
  const it = chat({ ...turn, signal: abort.signal })[Symbol.asyncIterator]();
  // the first event comes before the answer starts, so an upstream that fails at once (refused key,
  // unreachable host) gets a real error status instead of an error inside a 200 stream
  let first: IteratorResult<ReplyEvent>;
  try {
    first = await it.next();
  } catch (e) {
    throw h.fail(e);
  }
  const out = oa.sseBody(abort);
  const { meta } = h;
  // with include_usage every chunk carries usage: null and a last chunk the totals (as local generations do)
  const mid = req.includeUsage ? null : undefined;
  let text = '';
  /** writes one event; false once the reply is over */
  const write = (ev: ReplyEvent): boolean => {
    if (ev.type === 'text') {
      text += ev.text;
      if (ev.text) out.write(oa.chatChunk(meta, { content: ev.text }, null, mid));
      return true;
    }
    h.finished(ev, text);
    if (ev.finishReason !== 'abort') {
      const u = oa.usage(ev.usage);
      out.write(oa.chatChunk(meta, {}, finishOf(ev.finishReason), req.includeUsage ? null : u));
      if (req.includeUsage) out.write(oa.usageChunk(meta, 'chat.completion.chunk', u));
      out.write(oa.SSE_DONE);
    }
    out.end();
    return false;
  };
  out.write(oa.chatChunk(meta, { role: 'assistant', content: '' }, null, mid));
  void pump(it, first, write, (e) => {
    out.write(h.fail(e).body());
    out.end();
  });
  return new Response(out.body, { headers: { ...oa.SSE_HEADERS, ...meta.headers } });
}

/** Feeds the rest of the reply to `write`; a failure (or a reply with no end) goes to `fail`. */
async function pump(it: AsyncIterator<ReplyEvent>, first: IteratorResult<ReplyEvent>, write: (ev: ReplyEvent) => boolean,
  fail: (e: unknown) => void): Promise<void> {
  try {
    for (let r = first; !r.done; r = await it.next()) {
      if (!write(r.value)) {
        await it.return?.();
        return;
      }
    }
    fail(noEnd());
  } catch (e) {
    fail(e);
  }
}
