// A tiny HTTP server on 127.0.0.1 for provider tests: records every request and answers through a handler.
// openaiCompatible() is a small OpenAI-style chat/embeddings server (streamed and whole replies, key check).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: unknown;
}

export type Handler = (req: Recorded, res: http.ServerResponse) => void | Promise<void>;

export interface FakeServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = body ? JSON.parse(body) : null;
      } catch {
        json = null;
      }
      const rec = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json };
      requests.push(rec);
      void Promise.resolve(handler(rec, res)).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Writes a recorded SSE transcript as is. */
export function sendSse(res: http.ServerResponse, transcript: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.end(transcript);
}

export interface OpenaiOptions {
  /** the reply to a conversation (default: echoes the last user message) */
  reply?: (messages: { role: string; content: string }[]) => string;
  /** when set, requests must carry `Authorization: Bearer KEY` */
  key?: string;
  /** the embedding of one text (default: a hashed bag of character bigrams, 64 dims) */
  embed?: (text: string) => number[];
}

/** Bag of character bigrams hashed into `dims` buckets: similar texts get similar vectors. */
export function bigramEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  const s = text.toLowerCase();
  for (let i = 0; i + 1 < s.length; i++) {
    let h = 2166136261;
    for (const c of s.slice(i, i + 2)) h = Math.imul(h ^ (c.codePointAt(0) ?? 0), 16777619);
    v[(h >>> 0) % dims] += 1;
  }
  return v;
}

interface ChatBody {
  messages?: { role: string; content: string }[];
  stream?: boolean;
  input?: string | string[];
  model?: string;
}

export function openaiCompatible(o: OpenaiOptions = {}): Handler {
  const reply = o.reply ?? ((m) => `echo: ${[...m].reverse().find((x) => x.role === 'user')?.content ?? ''}`);
  return (req, res) => {
    if (o.key && req.headers.authorization !== `Bearer ${o.key}`) {
      sendJson(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
      return;
    }
    const body = (req.json ?? {}) as ChatBody;
    if (req.path === '/v1/embeddings') {
      const input = typeof body.input === 'string' ? [body.input] : (body.input ?? []);
      sendJson(res, 200, { object: 'list', data: input.map((t, index) => ({ object: 'embedding', index, embedding: (o.embed ?? bigramEmbedding)(t) })), model: body.model });
      return;
    }
    if (req.path !== '/v1/chat/completions') {
      sendJson(res, 404, { error: { message: `no route ${req.path}` } });
      return;
    }
    const text = reply(body.messages ?? []);
    const usage = { prompt_tokens: 7, completion_tokens: [...text].length, total_tokens: 7 + [...text].length };
    if (!body.stream) {
      sendJson(res, 200, { id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pieces = [...text];
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }, null));
    for (let i = 0; i < pieces.length; i += 3) res.write(chunk({ content: pieces.slice(i, i + 3).join('') }, null));
    res.write(chunk({}, 'stop'));
    res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
  };
}
