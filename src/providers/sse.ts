// Server-sent events (the streaming format of OpenAI, Anthropic and Gemini): splits a response body into
// {event, data} records, and gives up when the server goes silent for longer than the idle limit.
import { ShitateError } from '../errors.js';
import { abortedError, timeoutError, type Endpoint, type Opened } from './http.js';

export interface SseEvent {
  /** the `event:` field ('' when absent; OpenAI and Gemini send none) */
  event: string;
  data: string;
}

/** Splits decoded text into SSE records; feed it text in any pieces, then end(). */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];

  push(text: string): SseEvent[] {
    this.buf += text;
    const out: SseEvent[] = [];
    for (;;) {
      const nl = this.buf.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      // a lone \r at the very end may be the first half of \r\n: wait for more
      if (this.buf[nl] === '\r' && nl === this.buf.length - 1) break;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + (this.buf.startsWith('\r\n', nl) ? 2 : 1));
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  end(): SseEvent[] {
    const out = this.buf ? this.push('\n') : [];
    const last = this.line('');
    return last ? [...out, last] : out;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return null;
      }
      const ev = { event: this.event, data: this.data.join('\n') };
      this.event = '';
      this.data = [];
      return ev;
    }
    if (line.startsWith(':')) return null; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    return null;
  }
}

/** The SSE records of a streamed response; throws E_PROVIDER_TIMEOUT after idleMs of silence. */
export async function* sseEvents(ep: Endpoint, opened: Opened, idleMs: number, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  const body = opened.response.body;
  if (!body) return;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<'idle'>((resolve) => {
        timer = setTimeout(() => resolve('idle'), idleMs);
      });
      let next: ReadableStreamReadResult<Uint8Array> | 'idle';
      try {
        next = await Promise.race([reader.read(), idle]);
      } catch (e) {
        if (signal?.aborted) throw abortedError(ep.who);
        throw new ShitateError('E_PROVIDER_STREAM', `${ep.who}: the stream broke off: ${e instanceof Error ? e.message : String(e)}`,
          'the connection dropped mid-reply; try again');
      } finally {
        clearTimeout(timer);
      }
      if (next === 'idle') {
        opened.abort();
        throw timeoutError(ep, idleMs, 'while streaming its reply');
      }
      if (next.done) break;
      yield* parser.push(decoder.decode(next.value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    // stop the connection whether the reply ended, failed or the caller stopped reading early
    opened.abort();
    reader.cancel().catch(() => undefined);
  }
}

/** Parses one record's JSON data, with a clear error when the server sent something else. */
export function parseData(ep: Endpoint, data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    throw new ShitateError('E_PROVIDER_RESPONSE', `${ep.who}: expected JSON in the event stream, found ${JSON.stringify(data.slice(0, 120))}`,
      'check that the url points at a compatible API');
  }
}
