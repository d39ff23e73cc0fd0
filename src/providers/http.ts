// HTTP for hosted providers: JSON POST with a timeout, retries with exponential backoff (network errors,
// timeouts, 408/429/5xx, honouring Retry-After), and errors that say what went wrong and what to do.
import { ShitateError } from '../errors.js';

export interface Transport {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
}

export const DEFAULT_TRANSPORT: Transport = { timeoutMs: 60_000, retries: 2, backoffMs: 500 };

export interface Endpoint {
  /** who is being asked, for messages: "OpenAI-compatible server", "Anthropic API" */
  who: string;
  url: string;
  headers: Record<string, string>;
  /** how to fix a refused key: which variable or setting holds it */
  keyHint: string;
}

/** A response that arrived with a 2xx status; abort() stops reading its body. */
export interface Opened {
  response: Response;
  abort(): void;
}

/** Longest wait a Retry-After header may ask for before we give up instead. */
const MAX_RETRY_AFTER_MS = 30_000;

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504, 529]);

export const abortedError = (who: string): ShitateError =>
  new ShitateError('E_ABORTED', `the request to ${who} was stopped before it finished`, 'nothing to do; send it again if needed');

/** The `message` of the error bodies OpenAI, Anthropic and Gemini all send ({"error": {"message": ...}}). */
export function errorMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof j.error === 'string') return j.error;
    if (j.error && typeof j.error.message === 'string') return j.error.message;
    if (typeof j.message === 'string') return j.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.trim().slice(0, 300) || '(empty body)';
}

export function httpError(ep: Endpoint, status: number, body: string): ShitateError {
  const msg = errorMessage(body);
  const where = `${ep.who} (${originOf(ep.url)})`;
  // Gemini answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID rather than 401
  if (status === 401 || status === 403 || (status === 400 && /api[_ ]?key/i.test(msg))) {
    return new ShitateError('E_PROVIDER_AUTH', `${where} refused the API key (HTTP ${status}): ${msg}`, ep.keyHint);
  }
  if (status === 404) {
    return new ShitateError('E_PROVIDER_HTTP', `${where}: HTTP 404 for ${ep.url}: ${msg}`,
      'check the model name and the url (an OpenAI-compatible url usually ends in /v1)');
  }
  if (status === 429) {
    return new ShitateError('E_PROVIDER_RATE', `${where} kept answering HTTP 429 (rate limit or quota): ${msg}`,
      'wait a little and try again, or check the plan and quota of this API key');
  }
  const hint = status >= 500 ? 'the server failed; try again later' : 'the server rejected the request; the message above says which field';
  return new ShitateError('E_PROVIDER_HTTP', `${where}: expected a successful answer, found HTTP ${status}: ${msg}`, hint);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function networkCode(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; errors?: { code?: unknown }[] } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  const first = cause?.errors?.[0]?.code;
  if (typeof first === 'string') return first;
  return e instanceof Error ? e.message : String(e);
}

export function unreachableError(ep: Endpoint, e: unknown): ShitateError {
  const code = networkCode(e);
  const hint = code === 'ENOTFOUND' || code === 'EAI_AGAIN'
    ? 'the host name does not resolve: check the url and the network'
    : 'check that the server is running and the url (host and port) is right';
  return new ShitateError('E_PROVIDER_UNREACHABLE', `could not reach ${ep.who} at ${originOf(ep.url)}: expected a server answering, found ${code}`, hint);
}

export function timeoutError(ep: Endpoint, ms: number, phase: string): ShitateError {
  return new ShitateError('E_PROVIDER_TIMEOUT', `${ep.who} (${originOf(ep.url)}) sent nothing for ${(ms / 1000).toFixed(1)} s ${phase}`,
    'the server may be overloaded or the model still loading; raise timeout_ms or try again');
}

function retryAfterMs(h: Headers): number | null {
  const v = h.get('retry-after');
  if (!v) return null;
  const s = Number(v);
  if (Number.isFinite(s)) return s * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

type Attempt = { ok: Opened } | { retry: ShitateError; waitMs: number | null };

async function attempt(ep: Endpoint, body: string, t: Transport, signal: AbortSignal | undefined): Promise<Attempt> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, t.timeoutMs);
  try {
    const res = await fetch(ep.url, { method: 'POST', headers: { 'content-type': 'application/json', ...ep.headers }, body, signal: ac.signal });
    clearTimeout(timer);
    if (res.ok) return { ok: { response: res, abort: () => ac.abort() } };
    const text = await res.text().catch(() => '');
    signal?.removeEventListener('abort', onAbort);
    const err = httpError(ep, res.status, text);
    if (!RETRYABLE.has(res.status)) throw err;
    return { retry: err, waitMs: retryAfterMs(res.headers) };
  } catch (e) {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (e instanceof ShitateError) throw e;
    if (signal?.aborted) throw abortedError(ep.who);
    return { retry: timedOut ? timeoutError(ep, t.timeoutMs, 'before answering') : unreachableError(ep, e), waitMs: null };
  }
}

/** POSTs `body` as JSON and returns the first 2xx response, retrying what is worth retrying. */
export async function postJson(ep: Endpoint, body: unknown, t: Transport, signal?: AbortSignal): Promise<Opened> {
  const payload = JSON.stringify(body);
  for (let i = 0; ; i++) {
    if (signal?.aborted) throw abortedError(ep.who);
    const r = await attempt(ep, payload, t, signal);
    if ('ok' in r) return r.ok;
    if (i >= t.retries) throw r.retry;
    const backoff = t.backoffMs * 2 ** i * (0.75 + Math.random() * 0.5);
    if (r.waitMs !== null && r.waitMs > MAX_RETRY_AFTER_MS) throw r.retry;
    await sleep(r.waitMs ?? backoff, signal);
  }
}

/** Reads a whole JSON response body, with the same silence limit as streaming. */
export async function readJson(ep: Endpoint, opened: Opened, t: Transport): Promise<unknown> {
  const timer = setTimeout(() => opened.abort(), t.timeoutMs);
  try {
    const text = await opened.response.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ShitateError('E_PROVIDER_RESPONSE', `${ep.who}: expected a JSON body, found ${JSON.stringify(text.slice(0, 120))}`,
        'check that the url points at the API itself (not a web page or a proxy login)');
    }
  } catch (e) {
    if (e instanceof ShitateError) throw e;
    throw timeoutError(ep, t.timeoutMs, 'while sending its answer');
  } finally {
    clearTimeout(timer);
  }
}
