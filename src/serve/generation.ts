// POST /v1/chat/completions and /v1/completions once parsed: pick the served model, render the prompt with the
// model's own chat template (the one training uses), check the token budget against the context, queue the
// generation and answer as one JSON object or as a server-sent-event stream. Models that answer chats
// elsewhere (a hosted API) go through relay.ts instead of the scheduler.
import { resolveMaxNewTokens, resolveSampling, validateSampler, type GenerateOptions, type ReasoningMode } from '../generate/index.js';
import type { ChatMessage } from '../tokenizer/index.js';
import { chatBody, chatDeltas, chatPromptIds, chatTemplateVars, replyMode } from './chat-render.js';
import type { Engine } from './engine.js';
import { ApiError, badParam, clientGone, errorResponse, toApiError } from './errors.js';
import * as oa from './openai.js';
import type { SamplingParams } from './params.js';
import type { PreparedChat, RequestContext, ServedModel } from './registry.js';
import { relayChat } from './relay.js';
import type { ChatRequest, CompletionRequest, GenerationRequest } from './request.js';
import type { Job } from './scheduler.js';

export interface GenerationContext {
  engine: Engine;
  /** write prompts and completions into the log (off by default: they may hold customer data) */
  logPrompts: boolean;
  log(line: string): void;
  /** split <think> blocks into reasoning_content for models whose template writes them (default true) */
  reasoning?: boolean;
}

export function modelNotFound(id: string): ApiError {
  return new ApiError(404, `The model \`${id}\` does not exist or is not served here (GET /v1/models lists the served models)`,
    { param: 'model', code: 'model_not_found' });
}

/** The prompt's token ids: a completion's prompt, or the (prepared) chat rendered with the chat template
 *  and its variables; for a chat, also how its reply is split into reasoning and answer. */
function promptOf(ctx: GenerationContext, served: ServedModel, req: GenerationRequest, messages: ChatMessage[] | null): { ids: number[]; mode: ReasoningMode | null } {
  if (req.kind === 'chat') {
    const vars = chatTemplateVars(ctx.engine, served, req);
    const ids = chatPromptIds(ctx.engine, messages ?? req.messages, vars);
    return { ids, mode: replyMode(ctx.engine, ids, vars, ctx.reasoning ?? true) };
  }
  return { ids: promptIds(ctx, req), mode: null };
}

function promptIds(ctx: GenerationContext, req: CompletionRequest): number[] {
  const { tokenizer, config } = ctx.engine.opened;
  const ids = typeof req.prompt === 'string' ? tokenizer.encode(req.prompt) : req.prompt;
  const bad = ids.find((id) => id >= config.vocabSize);
  if (bad !== undefined) throw badParam('prompt', `expected token ids below the vocabulary size ${config.vocabSize}, found ${bad}`);
  if (ids.length === 0) throw badParam('prompt', 'expected at least one token, found an empty prompt');
  return ids;
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

/** The finished reply's facts, from the local generator or from a relayed one. */
interface Done {
  finishReason: string;
  usage: { promptTokens: number; completionTokens: number };
}

type Finished = (done: Done, text: string) => void;

/** A model with `prepareMessages` or `chat` answers chats only: a raw completion would skip its rewrite. */
function chatOnly(served: ServedModel): ApiError {
  return new ApiError(400, `model "${served.id}" (${served.kind}) answers chats only; expected a request to POST /v1/chat/completions`,
    { param: 'model', code: 'unsupported_model' });
}

const asPrepared = (p: ChatMessage[] | PreparedChat): PreparedChat => (Array.isArray(p) ? { messages: p } : p);

/** Runs the model's after-reply step without holding up the response; a failure is logged, never sent. */
function afterReply(ctx: GenerationContext, served: ServedModel, req: ChatRequest, rc: RequestContext, id: string): void {
  if (!served.afterReply) return;
  Promise.resolve().then(() => served.afterReply?.(req.messages, rc)).catch((e: unknown) => {
    ctx.log(`${id} after-reply step of ${served.id} failed: ${e instanceof Error ? e.message : String(e)}`);
  });
}

/** One generation request, answered once it is done (JSON) or as it goes (SSE). */
export async function handleGeneration(ctx: GenerationContext, req: GenerationRequest, signal: AbortSignal): Promise<Response> {
  const served = ctx.engine.registry.get(req.model);
  if (!served) throw modelNotFound(req.model);
  if (req.kind === 'completion' && (served.prepareMessages || served.chat)) throw chatOnly(served);
  const rc: RequestContext = {
    ...(req.kind === 'chat' && req.user !== undefined ? { user: req.user } : {}),
    ...(req.sampling.maxTokens !== undefined ? { maxTokens: req.sampling.maxTokens } : {}),
    ...(req.kind === 'chat' && req.templateVars ? { templateVars: req.templateVars } : {}),
  };
  const prepared = req.kind !== 'chat' ? null : served.prepareMessages ? asPrepared(await served.prepareMessages(req.messages, signal, rc)) : { messages: req.messages };
  const messages = prepared?.messages ?? null;
  const sampling: SamplingParams = { ...served.defaults, ...req.sampling };
  const meta: oa.ResponseMeta = {
    id: oa.newId(req.kind === 'chat' ? 'chatcmpl' : 'cmpl'), created: oa.nowSeconds(), model: served.id,
    ...(prepared?.info ? { info: prepared.info } : {}), ...(prepared?.headers ? { headers: prepared.headers } : {}),
  };
  const started = performance.now();
  const finished: Finished = (done, text) => {
    const prompt = req.kind === 'chat' ? req.messages : req.prompt;
    ctx.log(`${meta.id} ${req.kind} model=${served.id} prompt_tokens=${done.usage.promptTokens} completion_tokens=${done.usage.completionTokens} ` +
      `finish=${done.finishReason} ${Math.round(performance.now() - started)}ms` +
      (ctx.logPrompts ? ` prompt=${JSON.stringify(prompt)} completion=${JSON.stringify(text)}` : ''));
    if (req.kind === 'chat' && done.finishReason !== 'abort') afterReply(ctx, served, req, rc, meta.id);
  };
  if (served.chat && req.kind === 'chat' && messages) {
    const turn = { ...rc, messages, sampling, signal };
    return relayChat(served.chat.bind(served), turn, req, { meta, finished, fail: (e) => reportable(ctx, meta, e) });
  }
  const { ids, mode } = promptOf(ctx, served, req, messages);
  // a max_tokens the request sets must fit the context (400 otherwise); the model's default only caps the budget
  const budget = tokenBudget(ctx, req, ids.length, req.sampling.maxTokens);
  const options = { ...generateOptions(ctx, sampling, Math.min(budget, req.sampling.maxTokens ?? served.defaults?.maxTokens ?? budget)),
    ...(prepared?.quote ? { quote: prepared.quote } : {}) };
  const job = { promptIds: ids, options, adapter: served.adapter, signal };
  return req.stream ? stream(ctx, req, meta, job, finished, mode) : collect(ctx, req, meta, job, finished, mode);
}

type JobBase = Pick<Job, 'promptIds' | 'options' | 'adapter' | 'signal'>;

/** The error to send; failures that are not the client's fault go to the log with their stack. */
function reportable(ctx: GenerationContext, meta: oa.ResponseMeta, e: unknown): ApiError {
  const api = toApiError(e);
  if (api.status >= 500 && !(e instanceof ApiError)) ctx.log(`${meta.id} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return api;
}

function collect(ctx: GenerationContext, req: GenerationRequest, meta: oa.ResponseMeta, job: JobBase, finished: Finished,
  mode: ReasoningMode | null): Promise<Response> {
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
        const body = req.kind === 'chat' ? chatBody(meta, text, ev.finishReason, u, mode) : oa.textCompletion(meta, text, ev.finishReason, u);
        resolve(Response.json(body, { headers: meta.headers }));
      },
      onError(e) {
        resolve(errorResponse(reportable(ctx, meta, e)));
      },
    });
  });
}

function stream(ctx: GenerationContext, req: GenerationRequest, meta: oa.ResponseMeta, job: JobBase, finished: Finished,
  mode: ReasoningMode | null): Response {
  const abort = new AbortController();
  job.signal.addEventListener('abort', () => abort.abort(), { once: true });
  const out = oa.sseBody(abort);
  const chat = req.kind === 'chat';
  // with include_usage every chunk carries usage: null and a last chunk carries the totals (OpenAI's
  // convention); otherwise the totals ride on the finishing chunk
  const mid = req.includeUsage ? null : undefined;
  const deltas = chatDeltas(mode);
  const pieces = (text: string, last: boolean): object[] => (chat ? deltas(text, last).map((d) => oa.chatChunk(meta, d, null, mid))
    : text ? [oa.textChunk(meta, text, null, mid)] : []);
  let text = '';
  ctx.engine.scheduler.submit({
    ...job,
    signal: abort.signal,
    onEvent(ev) {
      if (ctx.logPrompts) text += ev.text;
      for (const chunk of pieces(ev.text, ev.type === 'done')) out.write(chunk);
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
  return new Response(out.body, { headers: { ...oa.SSE_HEADERS, ...meta.headers } });
}
