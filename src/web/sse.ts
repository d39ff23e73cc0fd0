// Server-sent events: a text/event-stream Response fed by a loop that runs until the client goes away.
// Each event may carry an id, so a browser that reconnects (EventSource does so by itself) says with
// Last-Event-ID where it was; a comment line every 15 s keeps proxies from closing an idle stream.

export interface SseEvent {
  event?: string;
  id?: string;
  data: unknown;
}

export interface SseSink {
  send(e: SseEvent): void;
  /** true once the client has gone */
  readonly closed: boolean;
  /** resolves after `ms`, or at once when the client goes */
  sleep(ms: number): Promise<void>;
}

const HEARTBEAT_MS = 15_000;

export function formatEvent(e: SseEvent): string {
  const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  return `${e.event ? `event: ${e.event}\n` : ''}${e.id !== undefined ? `id: ${e.id}\n` : ''}${data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`;
}

export function sseResponse(signal: AbortSignal, loop: (sink: SseSink) => Promise<void>, onError: (e: unknown) => void): Response {
  const enc = new TextEncoder();
  let closed = false;
  let wake: (() => void) | null = null;
  const close = () => {
    closed = true;
    wake?.();
  };
  signal.addEventListener('abort', close, { once: true });
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const push = (s: string) => {
        if (closed) return;
        try {
          controller.enqueue(enc.encode(s));
        } catch {
          close(); // the stream was cancelled under us: the client is gone
        }
      };
      const sink: SseSink = {
        send: (e) => push(formatEvent(e)),
        get closed() {
          return closed;
        },
        sleep: (ms) => new Promise((resolve) => {
          if (closed) return resolve();
          const t = setTimeout(() => { wake = null; resolve(); }, ms);
          wake = () => { clearTimeout(t); resolve(); };
        }),
      };
      push('retry: 2000\n\n');
      const beat = setInterval(() => push(': keep-alive\n\n'), HEARTBEAT_MS);
      loop(sink).catch((e) => {
        onError(e);
        sink.send({ event: 'failure', data: { message: 'the live updates stopped after an internal error; reload the page' } });
      }).finally(() => {
        clearInterval(beat);
        if (!closed) {
          closed = true;
          try {
            controller.close();
          } catch {
            // already cancelled by the client
          }
        }
      });
    },
    cancel() {
      close();
    },
  });
  return new Response(stream, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' } });
}
