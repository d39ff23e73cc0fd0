// Assistant profiles served as models: a request's `model` names an assistant and gets its system prompt,
// knowledge sources and memory (per OpenAI `user`). Profiles on the served local model run through the
// scheduler with their adapter (loaded once); profiles on a hosted API are relayed to it.
import fs from 'node:fs';
import path from 'node:path';
import {
  cutParts, listProfiles, loadProfile, modelWindow, planInfo, quoteOf, resolveAssistant, type Profile, type ResolvedAssistant, type TurnOptions,
} from '../assistants/index.js';
import { ShitateError } from '../errors.js';
import { chatPrompt, resolveMaxNewTokens, type GenEvent, type GenerateOptions } from '../generate/index.js';
import { abortable, resolveKey, type ChatEvent, type ChatRequest, type GenParams, type Provider } from '../providers/index.js';
import { projectHome } from '../rag/index.js';
import type { AdapterSlot } from './adapters.js';
import type { Engine } from './engine.js';
import { ApiError, badParam } from './errors.js';
import { nowSeconds } from './openai.js';
import type { SamplingParams } from './params.js';
import type { ChatTurn, PreparedChat, ReplyEvent, RequestContext, ServedModel } from './registry.js';
import type { ChatMessage } from '../tokenizer/index.js';

export interface AssistantServeOptions {
  /** the assistants to serve, or 'all' for every profile in the project folder */
  names: readonly string[] | 'all';
  /** the project folder (default: SHITATE_HOME, else ./.shitate) */
  home?: string;
  /** told which profiles 'all' skipped (those for another local model) */
  note?: (line: string) => void;
}

export interface ServedAssistants {
  readonly ids: readonly string[];
  /** resolves once every after-reply step started so far (e.g. facts extracted to memory) has finished */
  settled(): Promise<void>;
  /** stops serving them and closes their knowledge bases and memory; close the engine first, so pending
   *  after-reply generations end rather than wait */
  close(): Promise<void>;
}

const realOrResolved = (p: string): string => {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};

/** Why a local profile cannot run here (it names another model), or null. */
function otherModel(engine: Engine, p: Profile): string | null {
  if (realOrResolved(p.provider.model) === realOrResolved(engine.opened.dir)) return null;
  return `it runs on the local model ${p.provider.model}, and this server runs ${engine.opened.dir}`;
}

/** The adapter a local profile names: an adapter the server already holds (by folder or by name), else its
 *  folder loaded once as a slot of its own (named by the path, which no served model id can be). */
function adapterSlot(engine: Engine, p: Profile): AdapterSlot | null {
  const a = p.provider.adapter;
  if (!a) return null;
  if (!fs.existsSync(a)) {
    const named = engine.bank.get(a);
    if (named) return named;
    const served = engine.bank.list().filter((s) => !s.name.startsWith('@')).map((s) => s.name);
    throw new ShitateError('E_ADAPTER', `serve: assistant "${p.id}": provider.adapter: expected an adapter folder or a served adapter's name, ` +
      `found ${JSON.stringify(a)} (no such folder; served adapters: ${served.join(', ') || 'none'})`, 'fix provider.adapter, or serve it with --adapter NAME=DIR');
  }
  const real = realOrResolved(a);
  return engine.bank.list().find((s) => realOrResolved(s.dir) === real) ?? engine.bank.load(`@${real}`, real);
}

/** The served model as a provider: its generations are scheduler jobs (with the assistant's adapter), so
 *  they never run beside the scheduler on the shared model. Used for memory extraction and token counts. */
function schedulerProvider(engine: Engine, slot: AdapterSlot | null, label: string): Provider {
  return {
    kind: 'local',
    model: label,
    countTokens: (text) => engine.opened.tokenizer.encode(text).length,
    chat: (req) => abortable(req.signal, jobEvents(engine, slot, req)),
  };
}

async function* jobEvents(engine: Engine, slot: AdapterSlot | null, req: ChatRequest): AsyncGenerator<ChatEvent> {
  const { tokenizer, config, generation, templateVars } = engine.opened;
  const ids = chatPrompt(tokenizer, req.messages, { ...slot?.templateVars, ...templateVars });
  const p = req.params ?? {};
  const budget = resolveMaxNewTokens(config, ids.length, undefined, generation);
  const { temperature, topP, topK, stop, seed } = p;
  const options: Omit<GenerateOptions, 'signal'> = { temperature, topP, topK, stop, seed, maxNewTokens: Math.min(budget, p.maxTokens ?? budget) };
  const abort = new AbortController();
  req.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const queue: GenEvent[] = [];
  const state: { failure: { e: unknown } | null } = { failure: null };
  let wake: (() => void) | null = null;
  const poke = (): void => {
    wake?.();
    wake = null;
  };
  engine.scheduler.submit({
    promptIds: ids, options, adapter: slot, signal: abort.signal,
    onEvent: (ev) => void (queue.push(ev), poke()),
    onError: (e) => void ((state.failure = { e }), poke()),
  });
  try {
    for (;;) {
      for (let ev = queue.shift(); ev; ev = queue.shift()) {
        if (ev.text) yield { type: 'text', text: ev.text };
        if (ev.type === 'done') {
          yield { type: 'done', finishReason: ev.finishReason, usage: ev.usage };
          return;
        }
      }
      if (state.failure) throw state.failure.e;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    abort.abort(); // a consumer that stops early stops the generation too
  }
}

/** Keys echoed by an upstream error (exactly, or in the masked forms APIs print) never reach a client. */
const KEYLIKE = /\b(?:sk|pk|rk)[-_][A-Za-z0-9_\-*.]{4,}|\bAIza[A-Za-z0-9_-]{8,}/g;

function redact(text: string, secret: string | null): string {
  return (secret ? text.split(secret).join('[redacted]') : text).replace(KEYLIKE, '[redacted]');
}

/** A provider failure as the gateway error a client should see: 502 (504 for a timeout), naming the problem. */
function upstreamError(a: ResolvedAssistant, e: unknown, secret: string | null): unknown {
  if (!(e instanceof ShitateError)) return e; // ApiErrors pass through; anything else is a bug and a 500
  const status = e.code === 'E_PROVIDER_TIMEOUT' ? 504 : 502;
  return new ApiError(status, redact(`assistant "${a.id}": its ${a.provider.kind} provider (model ${a.provider.model}) failed: ${e.message}`, secret),
    { type: 'upstream_error', code: e.code.replace(/^E_/, '').toLowerCase() });
}

/** The request's sampling for a hosted API; settings only the local sampler has are refused by name. */
function hostedParams(id: string, s: SamplingParams): GenParams {
  const only: [string, number | undefined][] = [['min_p', s.minP], ['repetition_penalty', s.repetitionPenalty]];
  for (const [field, v] of only) {
    if (v !== undefined) throw badParam(field, `assistant "${id}" answers through a hosted API that has no ${field}; expected it unset`, 'unsupported_parameter');
  }
  const { temperature, topP, topK, maxTokens, stop, seed } = s;
  const p: GenParams = { temperature, topP, topK: topK === 0 ? undefined : topK, maxTokens, stop, seed };
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as GenParams;
}

async function* hostedReply(a: ResolvedAssistant, turn: ChatTurn, secret: string | null): AsyncGenerator<ReplyEvent> {
  const params = hostedParams(a.id, turn.sampling);
  let text = '';
  try {
    for await (const ev of a.provider.chat({ messages: turn.messages, params, signal: turn.signal })) {
      if (ev.type === 'text') {
        text += ev.text;
        yield ev;
        continue;
      }
      // some APIs send no usage; the provider's own estimate stands in
      const usage = ev.usage ?? { promptTokens: a.provider.countTokens(turn.messages.map((m) => m.content).join('\n')), completionTokens: a.provider.countTokens(text) };
      yield { type: 'done', finishReason: ev.finishReason, usage };
    }
  } catch (e) {
    throw upstreamError(a, e, secret);
  }
}

const turnOf = (ctx: RequestContext, signal?: AbortSignal): TurnOptions =>
  ({ ...(ctx.user ? { userId: ctx.user } : {}), ...(signal ? { signal } : {}), ...(ctx.maxTokens !== undefined ? { maxTokens: ctx.maxTokens } : {}),
    ...(ctx.templateVars ? { templateVars: ctx.templateVars } : {}) });

/** The turn's messages, planned to the model's context, with the plan in the response: the `shitate.prompt`
 *  field and the x-shitate-prompt-cut header (the parts that lost something, or "none"). */
async function prepareChat(a: ResolvedAssistant, messages: ChatMessage[], signal: AbortSignal, ctx: RequestContext): Promise<PreparedChat> {
  const t = await a.prepare(messages, turnOf(ctx, signal));
  const quote = quoteOf(a.profile, t.sources);
  return { messages: t.messages, info: { prompt: planInfo(t.plan) }, headers: { 'x-shitate-prompt-cut': cutParts(t.plan).join(',') || 'none' }, ...(quote ? { quote } : {}) };
}

function servedModel(a: ResolvedAssistant, slot: AdapterSlot | null, track: (p: Promise<unknown>) => void, secret: string | null): ServedModel {
  const m: ServedModel = {
    id: a.id, kind: 'assistant', created: nowSeconds(), ownedBy: 'shitate', adapter: slot, defaults: a.params,
    prepareMessages: (messages, signal, ctx) => prepareChat(a, messages, signal, ctx),
    afterReply: (messages, ctx) => {
      const p = a.afterReply(messages, turnOf(ctx));
      track(p);
      return p.then(() => undefined);
    },
  };
  return a.profile.provider.kind === 'local' ? m : { ...m, chat: (turn) => hostedReply(a, turn, secret) };
}

/** Registers each assistant as a served model named after it. A local profile on another model is an error
 *  when named, and skipped (with a note) under 'all'. */
export function serveAssistants(engine: Engine, opts: AssistantServeOptions): ServedAssistants {
  const home = opts.home ?? projectHome();
  const names = opts.names === 'all' ? listProfiles(home) : [...new Set(opts.names)];
  const resolved: ResolvedAssistant[] = [];
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    const settled = p.catch(() => undefined).finally(() => pending.delete(settled));
    pending.add(settled);
  };
  const loaded = new Set(engine.bank.list().map((s) => s.name));
  const release = (): void => {
    for (const a of resolved) {
      engine.registry.remove(a.id);
      a.close();
    }
    for (const s of engine.bank.list()) if (!loaded.has(s.name) && s.name.startsWith('@')) engine.bank.unload(s.name);
  };
  try {
    for (const name of names) {
      const profile = loadProfile(home, name);
      const local = profile.provider.kind === 'local';
      const other = local ? otherModel(engine, profile) : null;
      if (other && opts.names === 'all') {
        opts.note?.(`note: not serving assistant "${name}": ${other}`);
        continue;
      }
      if (other) {
        throw new ShitateError('E_CONFIG', `serve: assistant "${name}": expected a profile for the served model or a hosted API, found that ${other}`,
          `serve it from a server started with --model ${profile.provider.model}, or point its provider.model at ${engine.opened.dir}`);
      }
      engine.registry.checkNew(name);
      const slot = local ? adapterSlot(engine, profile) : null;
      const label = `${profile.provider.model}${profile.provider.adapter ? `+${profile.provider.adapter}` : ''}`;
      // a local profile plans against the served model, rendered as its generations will be
      const window = local ? modelWindow(engine.opened, label, profile.contextTokens, { ...slot?.templateVars, ...engine.opened.templateVars }) : undefined;
      const a = resolveAssistant(name, { home, ...(local && window ? { provider: schedulerProvider(engine, slot, label), window } : {}) });
      resolved.push(a);
      engine.registry.add(servedModel(a, slot, track, local ? null : resolveKey(profile.provider).key));
    }
  } catch (e) {
    release();
    throw e;
  }
  const settled = async (): Promise<void> => {
    while (pending.size > 0) await Promise.all([...pending]);
  };
  return {
    ids: resolved.map((a) => a.id),
    settled,
    async close() {
      await settled();
      release();
      resolved.length = 0;
    },
  };
}
