// Field checks shared by the chat and completion request parsers: sampling parameters with OpenAI's ranges,
// fields accepted only at their neutral value, and unrecognised fields (refused by default, as OpenAI does).
import { badParam, ApiError } from './errors.js';

export type Body = Record<string, unknown>;

/** What a request asks of the sampler and the token budget; unset fields fall back to the model's defaults. */
export interface SamplingParams {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  maxTokens?: number;
  stop?: string[];
}

export interface StreamParams {
  stream: boolean;
  /** stream_options.include_usage: a last chunk with the usage and no choices (OpenAI's convention) */
  includeUsage: boolean;
}

const describe = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v).slice(0, 60) : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));

interface NumRule {
  integer?: boolean;
  min?: number;
  /** the minimum itself is not allowed */
  minExclusive?: boolean;
  max?: number;
}

/** A number field; null and absent are both "not set". */
export function numField(body: Body, key: string, rule: NumRule): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const range = [
    rule.integer ? 'a whole number' : 'a number',
    rule.min !== undefined ? `${rule.minExclusive ? '>' : '>='} ${rule.min}` : '',
    rule.max !== undefined ? `<= ${rule.max}` : '',
  ].filter(Boolean).join(' ');
  const ok = typeof v === 'number' && Number.isFinite(v) && (!rule.integer || Number.isSafeInteger(v)) &&
    (rule.min === undefined || (rule.minExclusive ? v > rule.min : v >= rule.min)) && (rule.max === undefined || v <= rule.max);
  if (!ok) throw badParam(key, `expected ${range}, found ${describe(v)}`);
  return v as number;
}

export function boolField(body: Body, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badParam(key, `expected true or false, found ${describe(v)}`);
  return v;
}

/** stop: a string or a list of up to 4 non-empty strings. */
export function stopField(body: Body): string[] | undefined {
  const v = body.stop;
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw badParam('stop', `expected a non-empty string or a list of up to 4 non-empty strings, found ${describe(v)}`);
  }
  return list.length > 0 ? (list as string[]) : undefined;
}

/** temperature, top_p, seed, stop, n and the sampler extensions vLLM also accepts (top_k, min_p, repetition_penalty). */
export function samplingFields(body: Body, maxTokensKeys: readonly string[]): SamplingParams {
  const out: SamplingParams = {};
  const set = <K extends keyof SamplingParams>(k: K, v: SamplingParams[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('temperature', numField(body, 'temperature', { min: 0, max: 2 }));
  set('topP', numField(body, 'top_p', { min: 0, minExclusive: true, max: 1 }));
  set('topK', numField(body, 'top_k', { integer: true, min: -1 }));
  if (out.topK === -1) out.topK = 0; // vLLM spells "off" as -1
  set('minP', numField(body, 'min_p', { min: 0, max: 1 }));
  set('repetitionPenalty', numField(body, 'repetition_penalty', { min: 0, minExclusive: true }));
  set('seed', numField(body, 'seed', { integer: true }));
  for (const key of maxTokensKeys) set('maxTokens', numField(body, key, { integer: true, min: 1 }));
  set('stop', stopField(body));
  const n = numField(body, 'n', { integer: true, min: 1 });
  if (n !== undefined && n !== 1) throw badParam('n', `expected 1 (one choice per request), found ${n}`, 'unsupported_value');
  return out;
}

export function streamFields(body: Body): StreamParams {
  const stream = boolField(body, 'stream') ?? false;
  const so = body.stream_options;
  if (so === undefined || so === null) return { stream, includeUsage: false };
  if (!stream) throw badParam('stream_options', 'expected only together with "stream": true, found it on a non-streaming request');
  if (typeof so !== 'object' || Array.isArray(so)) throw badParam('stream_options', `expected an object, found ${describe(so)}`);
  const include = boolField(so as Body, 'include_usage');
  return { stream, includeUsage: include ?? false };
}

/**
 * Fields OpenAI defines that this server accepts only at their neutral value (the client libraries send
 * some of them by default): anything else is refused by name rather than silently ignored.
 */
const NEUTRAL = new Map<string, (v: unknown) => boolean>(Object.entries({
  frequency_penalty: (v) => v === 0,
  presence_penalty: (v) => v === 0,
  logit_bias: (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0,
  logprobs: (v) => v === false || v === 0,
  top_logprobs: (v) => v === 0,
  tools: (v) => Array.isArray(v) && v.length === 0,
  tool_choice: (v) => v === 'none' || v === 'auto',
  functions: (v) => Array.isArray(v) && v.length === 0,
  function_call: (v) => v === 'none' || v === 'auto',
  response_format: (v) => typeof v === 'object' && v !== null && (v as Body).type === 'text',
  echo: (v) => v === false,
  best_of: (v) => v === 1,
  suffix: (v) => v === '',
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text',
}));

/** Fields that carry no meaning for generation (bookkeeping for the caller); accepted and ignored. */
const IGNORED = new Set(['user', 'metadata', 'store', 'service_tier', 'parallel_tool_calls', 'safety_identifier', 'prompt_cache_key']);

/** Checks every own field of the body against the ones the endpoint handles (sets and maps only: a key
 *  such as "constructor" must never find something inherited). */
export function checkFields(body: Body, handled: ReadonlySet<string>, allowUnknown: boolean): void {
  for (const [key, value] of Object.entries(body)) {
    if (handled.has(key) || IGNORED.has(key) || value === null) continue;
    const neutral = NEUTRAL.get(key);
    if (neutral) {
      if (!neutral(value)) throw badParam(key, `this server does not support ${key}; expected it unset (or neutral), found ${describe(value)}`, 'unsupported_parameter');
      continue;
    }
    if (!allowUnknown) {
      throw new ApiError(400, `Unrecognized request argument supplied: ${key} (start the server with --allow-unknown-fields to ignore such fields)`,
        { param: key, code: 'unknown_parameter' });
    }
  }
}

/** The model field: a non-empty string. */
export function modelField(body: Body): string {
  const m = body.model;
  if (typeof m !== 'string' || m.length === 0) {
    throw badParam('model', `expected the id of a served model (GET /v1/models lists them), found ${m === undefined ? 'nothing' : describe(m)}`, 'missing_required_parameter');
  }
  return m;
}
