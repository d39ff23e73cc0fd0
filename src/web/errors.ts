// Errors of the studio's API as JSON the page can show: {"error": {"message", "hint", "code"}} with an HTTP
// status. A ShitateError keeps its message and hint; anything unexpected becomes a 500 whose details stay
// in the terminal, so the page never shows a stack trace.
import { ShitateError } from '../errors.js';
import { ApiError } from '../serve/index.js';

export interface StudioErrorBody {
  error: { message: string; hint: string; code: string };
}

export class StudioError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string;

  constructor(status: number, code: string, message: string, hint = '') {
    super(message);
    this.name = 'StudioError';
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

/** 400 for a request field: what was expected, what came. */
export function badField(field: string, expected: string, found: unknown, hint = ''): StudioError {
  const shown = found === undefined ? 'nothing' : JSON.stringify(found)?.slice(0, 80) ?? String(found);
  return new StudioError(400, 'bad_request', `${field}: expected ${expected}, found ${shown}`, hint);
}

export function notFound(what: string, id: string, hint = ''): StudioError {
  return new StudioError(404, 'not_found', `${what} "${id}" was not found`, hint || `reload the page to see the current list of ${what}s`);
}

/** HTTP status of a ShitateError by its code: the user's input for usage/config/data, missing things 404. */
function statusOf(code: string): number {
  if (/^E_(USAGE|CONFIG|DATA|PROFILE|TEMPLATE|MEMORY|LICENCE)/.test(code)) return 400;
  if (/NOT_FOUND$/.test(code)) return 404;
  if (code === 'E_RUN_EXISTS') return 409;
  return 500;
}

export function toStudioError(e: unknown): StudioError {
  if (e instanceof StudioError) return e;
  if (e instanceof ShitateError) return new StudioError(statusOf(e.code), e.code.toLowerCase(), e.message, e.hint);
  if (e instanceof ApiError) return new StudioError(e.status, e.code ?? 'error', e.message);
  return new StudioError(500, 'internal_error', 'the studio hit an internal error while handling this request',
    'the details are in the terminal where `shitate studio` runs; try again, and report it if it repeats');
}

export function errorJson(e: StudioError): Response {
  const body: StudioErrorBody = { error: { message: e.message, hint: e.hint, code: e.code } };
  return Response.json(body, { status: e.status });
}
