// POST /v1/chat/completions and /v1/completions once parsed: pick the served model, render the prompt with the
// model's own chat template (the one training uses), check the token budget against the context, queue the
// generation and answer as one JSON object or as a server-sent-event stream.
import { ShitateError } from '../errors.js';
import { chatPrompt, resolveMaxNewTokens, resolveSampling, validateSampler, type GenDone, type GenerateOptions } from '../generate/index.js';
import type { Engine } from './engine.js';
import { ApiError, badParam, errorResponse, toApiError } from './errors.js';
import * as oa from './openai.js';
import type { SamplingParams } from './params.js';
import type { ServedModel } from './registry.js';
import type { GenerationRequest } from './request.js';
import type { Job } from './scheduler.js';

export interface GenerationContext {
  engine: Engine;
  /** write prompts and completions into the log (off by default: they may hold customer data) */
  logPrompts: boolean;
  log(line: string): void;
}

export function modelNotFound(id: string): ApiError {
  return new ApiError(404, `The model \`${id}\` does not exist or is not served here (GET /v1/models lists the served models)`,
    { param: 'model', code: 'model_not_found' });
}

async function promptIds(ctx: GenerationContext, served: ServedModel, req: GenerationRequest, signal: AbortSignal): Promise<number[]> {
  const { tokenizer, config } = ctx.engine.opened;
  if (req.kind === 'completion') {
    const ids = typeof req.prompt === 'string' ? tokenizer.encode(req.prompt) : req.prompt;
    const bad = ids.find((id) => id >= config.vocabSize);
    if (bad !== undefined) throw badParam('prompt', `expected token ids below the vocabulary size ${config.vocabSize}, found ${bad}`);
    if (ids.length === 0) throw badParam('prompt', 'expected at least one token, found an empty prompt');
    return ids;
  }
  const messages = served.prepareMessages ? await served.prepareMessages(req.messages, signal) : req.messages;
  try {
    return chatPrompt(tokenizer, messages);
  } catch (e) {
    if (e instanceof ShitateError) throw badParam('messages', e.message, 'invalid_messages');
    throw e;
  }
}

/** The token budget of the reply; 400 with the numbers when prompt + max_tokens exceed the context. */
function tokenBudget(ctx: GenerationContext, req: GenerationRequest, promptLen: number, maxTokens: number | undefined): number {
  const { config, generation } = ctx.engine.opened;
  const limit = config.maxPositions;
  const what = req.kind === 'chat' ? 'messages' : 'prompt';
  const fail = (detail: string): ApiError => new ApiError(400, `This model's maximum context length is ${limit} tokens. However, ${detail} ` +
    `Please reduce the length of the ${what}${maxTokens !== undefined ? ' or of max_tokens' : ''}.`, { param: what, code: 'context_length_exceeded' });
  if (promptLen >= limit) throw fail(`your ${what} resulted in ${promptLen} tokens, leaving no room for a completion.`);
  if (maxTokens !== undefined && promptLen + maxTokens > limit) {
    throw fail(`you requested ${promptLen + maxTokens} tokens (${promptLen} in the ${what}, ${maxTokens} in the completion).`);
  }
  return resolveMaxNewTokens(config, promptLen, maxTokens, generation);
}

function generateOptions(ctx: GenerationContext, s: SamplingParams, maxNewTokens: number): Omit<GenerateOptions, 'signal'> {
  const o: Omit<GenerateOptions, 'signal'> = { maxNewTokens };
  if (s.temperature !== undefined) o.temperature = s.temperature;
  if (s.topP !== undefined) o.topP = s.topP;
  if (s.topK !== undefined) o.topK = s.topK;
  if (s.minP !== undefined) o.minP = s.minP;
  if (s.repetitionPenalty !== undefined) o.repetitionPenalty = s.repetitionPenalty;
  if (s.seed !== undefined) o.seed = s.seed;
  if (s.stop !== undefined) o.stop = s.stop;
  validateSampler(resolveSampling(ctx.engine.opened.generation, { ...o, seed: o.seed ?? 0 })); // 400 now, not mid-stream
  return o;
}

/** One generation request, answered once it is done (JSON) or as it goes (SSE). */
export async function handleGeneration(ctx: GenerationContext, req: GenerationRequest, signal: AbortSignal): Promise<Response> {
  const served = ctx.engine.registry.get(req.model);
  if (!served) throw modelNotFound(req.model);
  const ids = await promptIds(ctx, served, req, signal);
  const sampling: SamplingParams = { ...served.defaults, ...req.sampling };
  const options = generateOptions(ctx, sampling, tokenBudget(ctx, req, ids.length, sampling.maxTokens));
  const meta: oa.ResponseMeta = { id: oa.newId(req.kind === 'chat' ? 'chatcmpl' : 'cmpl'), created: oa.nowSeconds(), model: served.id };
  const started = performance.now();
  const finished = (done: GenDone, text: string): void => {
    const prompt = req.kind === 'chat' ? req.messages : req.prompt;
    ctx.log(`${meta.id} ${req.kind} model=${served.id} prompt_tokens=${done.usage.promptTokens} completion_tokens=${done.usage.completionTokens} ` +
      `finish=${done.finishReason} ${Math.round(performance.now() - started)}ms` +
      (ctx.logPrompts ? ` prompt=${JSON.stringify(prompt)} completion=${JSON.stringify(text)}` : ''));
  };
  const job = { promptIds: ids, options, adapter: served.adapter, signal };
  return req.stream ? stream(ctx, req, meta, job, finished) : collect(ctx, req, meta, job, finished);
}

type JobBase = Pick<Job, 'promptIds' | 'options' | 'adapter' | 'signal'>;
type Finished = (done: GenDone, text: string) => void;

/** The error to send; failures that are not the client's fault go to the log with their stack. */
function reportable(ctx: GenerationContext, meta: oa.ResponseMeta, e: unknown): ApiError {
  const api = toApiError(e);
  if (api.status >= 500 && !(e instanceof ApiError)) ctx.log(`${meta.id} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return api;
}

const clientGone = (): ApiError => new ApiError(499, 'the client closed the request', { code: 'client_closed_request' });

function collect(ctx: GenerationContext, req: GenerationRequest, meta: oa.ResponseMeta, job: JobBase, finished: Finished): Promise<Response> {
  return new Promise((resolve) => {
    let text = '';
    ctx.engine.scheduler.submit({
      ...job,
      onEvent(ev) {
        text += ev.text;
        if (ev.type !== 'done') return;
        finished(ev, text);
        if (ev.finishReason === 'abort') return resolve(errorResponse(clientGone()));
        const u = oa.usage(ev.usage);
        const body = req.kind === 'chat' ? oa.chatCompletion(meta, text, ev.finishReason, u) : oa.textCompletion(meta, text, ev.finishReason, u);
        resolve(Response.json(body));
      },
      onError(e) {
        resolve(errorResponse(reportable(ctx, meta, e)));
      },
    });
  });
}

/** A server-sent-event body that stops writing once the client is gone (cancel() aborts the generation). */
function sseBody(abort: AbortController): { body: ReadableStream<Uint8Array>; write(obj: object | string): void; end(): void } {
  const enc = new TextEncoder();
  let open = true;
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      open = false; // the client went away: its generation stops at the next step
      abort.abort();
    },
  });
  return {
    body,
    write(obj) {
      if (open) controller?.enqueue(enc.encode(typeof obj === 'string' ? obj : oa.sse(obj)));
    },
    end() {
      if (open) controller?.close();
      open = false;
    },
  };
}

function stream(ctx: GenerationContext, req: GenerationRequest, meta: oa.ResponseMeta, job: JobBase, finished: Finished): Response {
  const abort = new AbortController();
  job.signal.addEventListener('abort', () => abort.abort(), { once: true });
  const out = sseBody(abort);
  const chat = req.kind === 'chat';
  // with include_usage every chunk carries usage: null and a last chunk carries the totals (OpenAI's
  // convention); otherwise the totals ride on the finishing chunk
  const mid = req.includeUsage ? null : undefined;
  const piece = (text: string): object => (chat ? oa.chatChunk(meta, { content: text }, null, mid) : oa.textChunk(meta, text, null, mid));
  let text = '';
  ctx.engine.scheduler.submit({
    ...job,
    signal: abort.signal,
    onEvent(ev) {
      if (ctx.logPrompts) text += ev.text;
      if (ev.text) out.write(piece(ev.text));
      if (ev.type !== 'done') return;
      finished(ev, text);
      if (ev.finishReason === 'abort') return out.end();
      const u = oa.usage(ev.usage);
      const last = req.includeUsage ? null : u;
      out.write(chat ? oa.chatChunk(meta, {}, ev.finishReason, last) : oa.textChunk(meta, '', ev.finishReason, last));
      if (req.includeUsage) out.write(oa.usageChunk(meta, chat ? 'chat.completion.chunk' : 'text_completion', u));
      out.write(oa.SSE_DONE);
      out.end();
    },
    onError(e) {
      out.write(reportable(ctx, meta, e).body());
      out.end();
    },
  });
  if (chat) out.write(oa.chatChunk(meta, { role: 'assistant', content: '' }, null, mid));
  return new Response(out.body, { headers: oa.SSE_HEADERS });
}
