// HTTP errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with the status code the
// official clients map to their typed errors (400 BadRequest, 401 Authentication, 404 NotFound, 429 RateLimit...).
import { ShitateError } from '../errors.js';

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  /** extra response headers (Retry-After on overload) */
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, opts: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = opts.type ?? typeFor(status);
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }

  body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function typeFor(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return status === 503 ? 'overloaded_error' : 'server_error';
  return 'invalid_request_error';
}

/** 400 naming the offending field, e.g. badParam('max_tokens', 'expected a whole number >= 1, found -5'). */
export function badParam(param: string, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, `${param}: ${message}`, { param, code });
}

/** Turns anything thrown while handling a request into an ApiError; unknown errors become 500s. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof ShitateError) {
    const message = e.hint ? `${e.message} (${e.hint})` : e.message;
    if (e.code === 'E_CONTEXT') return new ApiError(400, message, { code: 'context_length_exceeded' });
    if (e.code === 'E_CONFIG' || e.code === 'E_USAGE') return new ApiError(400, message, { code: 'invalid_value' });
    if (e.code === 'E_NOT_FOUND' || e.code === 'E_ADAPTER') return new ApiError(400, message, { code: e.code.toLowerCase() });
    return new ApiError(500, message, { code: e.code.toLowerCase() });
  }
  return new ApiError(500, 'the server hit an internal error while handling the request; details are in the server log',
    { code: 'internal_error' });
}

/** The client went away before its reply was done (nginx's 499; no client reads it). */
export const clientGone = (): ApiError => new ApiError(499, 'the client closed the request', { code: 'client_closed_request' });

export function errorResponse(e: ApiError, extraHeaders: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(e.body()), {
    status: e.status,
    headers: { 'content-type': 'application/json', ...e.headers, ...extraHeaders },
  });
}
