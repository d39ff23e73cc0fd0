// Request bodies: read with a byte limit (refused from Content-Length when it says too much, else cut off
// while streaming, so a huge body is never buffered), then parsed as one JSON object whose objects have no
// prototype, so keys like "__proto__", "constructor" or "toString" are plain own fields, never inherited ones.
import { ApiError } from './errors.js';

function tooLarge(limit: number, found: string): ApiError {
  return new ApiError(413, `request body: expected at most ${limit} bytes, found ${found}`,
    { code: 'request_too_large' });
}

/** The body as text, at most `limit` bytes of UTF-8. */
export async function readBody(req: Request, limit: number): Promise<string> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit, `${declared} bytes (Content-Length)`);
  if (!req.body) return '';
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit, `more than that (stopped reading at ${size} bytes)`);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** JSON.parse with every object rebuilt without a prototype (own keys only, "__proto__" included). */
export function parseJsonNoProto(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.assign(Object.create(null) as object, v) : v));
}

/** The body as a JSON object; 400 for anything else. */
export async function readJsonObject(req: Request, limit: number): Promise<Record<string, unknown>> {
  const text = await readBody(req, limit);
  if (text.trim() === '') {
    throw new ApiError(400, 'request body: expected a JSON object, found an empty body', { code: 'invalid_json' });
  }
  let parsed: unknown;
  try {
    parsed = parseJsonNoProto(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ApiError(400, `request body: expected valid JSON, found a parse error (${why})`, { code: 'invalid_json' });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const found = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed;
    throw new ApiError(400, `request body: expected a JSON object, found ${found}`, { code: 'invalid_json' });
  }
  return parsed as Record<string, unknown>;
}
