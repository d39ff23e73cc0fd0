// What a generation request is: the target it runs on, its options and events, its token budget, and the checked
// plan (sampler, stop matcher, stream decoder, end ids) every way of running it shares.
import { ShitateError } from '../errors.js';
import type { GenerationConfig } from '../io/generation-config.js';
import type { CausalLM } from '../models/index.js';
import { beyondEmbedding, createStreamDecoder, type StreamDecoder, type Tokenizer } from '../tokenizer/index.js';
import { anchoredSampler } from './anchor.js';
import { makeSampler, type Sampler, type SamplerOptions } from './sampler.js';
import { resolveSampling } from './settings.js';
import { StopMatcher } from './stop.js';

/** What generation needs of a model: its config and forward (a loaded CausalLM, or a stand-in in tests), and
 *  its own cache layout when it has one (else one layout of config's numKvHeads x headDim for every layer). */
export type GenerationModel = Pick<CausalLM, 'config' | 'forward'> & Partial<Pick<CausalLM, 'createCache'>>;

/** A model with what generation needs around it; openModel() returns one. */
export interface GenerateTarget {
  model: GenerationModel;
  tokenizer?: Tokenizer | null;
  /** ids that end a reply (eos and end-of-turn) */
  endIds?: readonly number[];
  /** the model's generation_config.json, for sampling and length defaults */
  generation?: GenerationConfig | null;
}

export interface GenerateOptions extends SamplerOptions {
  /** token budget of the reply. Given explicitly, prompt + budget must fit the context; by default it is
   *  generation_config's (else 512), shortened to what the context leaves. */
  maxNewTokens?: number;
  /** end ids to use instead of the target's */
  endIds?: readonly number[];
  /** stop strings, matched on the decoded text (needs a tokenizer) */
  stop?: readonly string[];
  signal?: AbortSignal;
  /** a ready sampler, replacing the sampling options */
  sampler?: Sampler;
  /** drop special tokens from the text (default true) */
  skipSpecialTokens?: boolean;
  /** source-anchored decoding (generate/anchor.ts): texts in the prompt the reply may quote, best first, and the
   *  logit bonus for continuing one (0: off); needs a tokenizer */
  quote?: { texts: readonly string[]; strength: number };
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenToken {
  type: 'token';
  id: number;
  /** text released by this token ('' while a character or a possible stop string is incomplete) */
  text: string;
}

export interface GenDone {
  type: 'done';
  finishReason: FinishReason;
  /** the last of the text, released at the end (usually ''); append it after the token texts */
  text: string;
  /** every generated id, the end id that stopped it included */
  tokens: number[];
  usage: { promptTokens: number; completionTokens: number };
  timing: { prefillMs: number; decodeMs: number; prefillTokensPerSec: number; decodeTokensPerSec: number };
}

export type GenEvent = GenToken | GenDone;

export const DEFAULT_MAX_NEW_TOKENS = 512;

/** The token budget, checked against the context (max_position_embeddings). */
export function resolveMaxNewTokens(cfg: Pick<CausalLM['config'], 'maxPositions'>, promptLen: number, explicit: number | undefined,
  gen: GenerationConfig | null | undefined): number {
  const ctx = cfg.maxPositions;
  if (promptLen >= ctx) {
    throw new ShitateError('E_CONTEXT', `the prompt is ${promptLen} tokens; expected fewer than the model's context of ${ctx} (max_position_embeddings)`,
      'shorten the prompt or the conversation history (in chat: /reset)');
  }
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit < 1) {
      throw new ShitateError('E_CONFIG', `max_new_tokens: expected a whole number >= 1, found ${explicit}`, 'pass e.g. 256');
    }
    if (promptLen + explicit > ctx) {
      throw new ShitateError('E_CONTEXT',
        `prompt ${promptLen} tokens + max_new_tokens ${explicit} = ${promptLen + explicit}; expected at most the model's context of ${ctx} (max_position_embeddings)`,
        `lower max_new_tokens to ${ctx - promptLen} or less, or shorten the prompt`);
    }
    return explicit;
  }
  const fromGen = gen?.maxNewTokens ?? (gen?.maxLength ? gen.maxLength - promptLen : null);
  const wanted = fromGen !== null && fromGen > 0 ? fromGen : DEFAULT_MAX_NEW_TOKENS;
  return Math.min(wanted, ctx - promptLen);
}

export interface Plan {
  maxNew: number;
  matcher: StopMatcher;
  decoder: StreamDecoder | null;
  sampler: Sampler;
  endIds: Set<number>;
}

/** Checks the request and builds what the loop needs. */
export function plan(t: GenerateTarget, promptIds: readonly number[], opts: GenerateOptions): Plan {
  const cfg = t.model.config;
  if (promptIds.length === 0) {
    throw new ShitateError('E_CONFIG', 'generate: expected at least one prompt token, found an empty prompt',
      'pass some text (base models usually want the bos token the tokenizer adds)');
  }
  const maxNew = resolveMaxNewTokens(cfg, promptIds.length, opts.maxNewTokens, t.generation);
  const tok = t.tokenizer ?? null;
  const beyond = promptIds.find((id) => !Number.isInteger(id) || id < 0 || id >= cfg.vocabSize);
  if (beyond !== undefined) {
    if (tok && Number.isInteger(beyond) && beyond >= 0) throw beyondEmbedding(tok, beyond, cfg.vocabSize, 'the prompt');
    throw new ShitateError('E_TOKEN_ID', `the prompt: expected token ids in [0, ${cfg.vocabSize}), found ${beyond}`, 'the ids come from another tokenizer');
  }
  const stops = opts.stop ?? [];
  if (stops.length > 0 && !tok) {
    throw new ShitateError('E_CONFIG', 'generate: stop strings need a tokenizer to decode the text; found none',
      'pass a target with a tokenizer (openModel gives one) or stop on token ids with endIds');
  }
  // a stop string that is a special token (e.g. "<|eot_id|>") never shows in the decoded text: stop on its id
  const specialId = (s: string): number | null => {
    const id = tok ? tok.tokenToId(s) : null;
    return id !== null && tok !== null && tok.specialIds.has(id) ? id : null;
  };
  const specialStops = stops.map(specialId).filter((id): id is number => id !== null);
  // a padded embedding can score ids the tokenizer cannot decode: never sample them
  let vocabLimit = opts.vocabLimit;
  if (tok && tok.vocabSize < cfg.vocabSize) vocabLimit = Math.min(vocabLimit ?? Infinity, tok.vocabSize);
  let sampler = opts.sampler ?? makeSampler(resolveSampling(t.generation, { ...opts, vocabLimit }));
  const quote = opts.quote;
  if (quote && quote.strength !== 0 && quote.texts.length > 0) {
    if (!tok) {
      throw new ShitateError('E_CONFIG', 'generate: quoting sources needs a tokenizer to read them; found none', 'pass a target with a tokenizer (openModel gives one)');
    }
    sampler = anchoredSampler(sampler, promptIds.length, {
      sources: quote.texts.map((x) => tok.encode(x, { addSpecialTokens: false })), strength: quote.strength, tokenText: (id) => tok.decode([id]),
    });
  }
  return {
    maxNew,
    matcher: new StopMatcher(stops.filter((s) => specialId(s) === null)),
    decoder: tok ? createStreamDecoder(tok, { skipSpecialTokens: opts.skipSpecialTokens ?? true }) : null,
    sampler,
    endIds: new Set([...(opts.endIds ?? t.endIds ?? []), ...specialStops]),
  };
}
