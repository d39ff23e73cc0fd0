// OpenAI-compatible provider and the HTTP layer under it, over real HTTP to a server on 127.0.0.1:
// streaming, whole replies, embeddings, retries with backoff, timeouts, refused keys, unreachable hosts.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { complete, createEmbedder, createProvider, openaiChatBody, SseParser, type SseEvent } from '../../src/providers/index.js';
import { ShitateError } from '../../src/errors.js';
import { openaiCompatible, sendJson, startServer, type FakeServer } from './fake-server.js';

let server: FakeServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function caught(p: Promise<unknown>): Promise<ShitateError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(ShitateError);
  return e as ShitateError;
}

const ask = [{ role: 'user', content: '返品の期限は？' }];

describe('OpenAI-compatible provider', () => {
  it('streams a reply in pieces with finish reason and usage', async () => {
    server = await startServer(openaiCompatible({ key: 'sk-test' }));
    const p = createProvider({ kind: 'openai', model: 'tiny', url: `${server.url}/v1`, key: 'sk-test' });
    const deltas: string[] = [];
    const r = await complete(p, { messages: ask, params: { temperature: 0, maxTokens: 50, seed: 1 } }, (t) => deltas.push(t));
    expect(r.text).toBe('echo: 返品の期限は？');
    expect(deltas.length).toBeGreaterThan(1);
    expect(r.finishReason).toBe('stop');
    expect(r.usage?.completionTokens).toBe([...r.text].length);
    const body = server.requests[0].json as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'tiny', stream: true, temperature: 0, max_tokens: 50, seed: 1 });
    expect(server.requests[0].headers.authorization).toBe('Bearer sk-test');
  });

  it('adds /v1 to a bare host URL, and sends no key to servers that need none', async () => {
    server = await startServer(openaiCompatible());
    const p = createProvider({ kind: 'openai', model: 'tiny', url: server.url });
    const r = await complete(p, { messages: ask });
    expect(r.text).toContain('返品');
    expect(server.requests[0].path).toBe('/v1/chat/completions');
    expect(server.requests[0].headers.authorization).toBeUndefined();
  });

  it('accepts a whole JSON reply from a server that ignores stream', async () => {
    server = await startServer((_req, res) => sendJson(res, 200, { choices: [{ message: { content: 'whole' }, finish_reason: 'length' }] }));
    const r = await complete(createProvider({ kind: 'openai', model: 'm', url: server.url }), { messages: ask });
    expect(r).toMatchObject({ text: 'whole', finishReason: 'length' });
  });

  it('keeps top_k away from api.openai.com only', () => {
    expect(openaiChatBody('m', ask, { topK: 5 }, true, true).top_k).toBeUndefined();
    expect(openaiChatBody('m', ask, { topK: 5 }, true, false).top_k).toBe(5);
  });

  it('reports a refused key as E_PROVIDER_AUTH naming the variable to fix', async () => {
    server = await startServer(openaiCompatible({ key: 'right' }));
    const p = createProvider({ kind: 'openai', model: 'm', url: server.url, keyEnv: 'SHITATE_TEST_KEY_VAR' });
    process.env.SHITATE_TEST_KEY_VAR = 'wrong';
    try {
      const e = await caught(complete(p, { messages: ask }));
      expect(e.code).toBe('E_PROVIDER_AUTH');
      expect(e.message).toContain('Incorrect API key');
      expect(e.hint).toContain('SHITATE_TEST_KEY_VAR');
    } finally {
      delete process.env.SHITATE_TEST_KEY_VAR;
    }
  });

  it('returns embeddings in input order, batched', async () => {
    server = await startServer(openaiCompatible({ embed: (t) => [t.length, 1] }));
    const e = createEmbedder({ model: 'emb', url: server.url });
    const out = await e.embed(['a', 'bbb', 'cc']);
    expect(out.map((v) => Array.from(v))).toEqual([[1, 1], [3, 1], [2, 1]]);
  });
});

describe('transport: retries, timeouts, unreachable hosts', () => {
  it('retries 503 and 429 with backoff, then succeeds', async () => {
    let n = 0;
    const ok = openaiCompatible();
    server = await startServer((req, res) => {
      n++;
      if (n === 1) sendJson(res, 503, { error: { message: 'busy' } });
      else if (n === 2) {
        res.setHeader('retry-after', '0');
        sendJson(res, 429, { error: { message: 'slow down' } });
      } else return ok(req, res);
    });
    const p = createProvider({ kind: 'openai', model: 'm', url: server.url, retries: 3, backoffMs: 1 });
    const r = await complete(p, { messages: ask });
    expect(r.text).toContain('echo');
    expect(server.requests.length).toBe(3);
  });

  it('gives up after the retries with the last error', async () => {
    server = await startServer((_req, res) => sendJson(res, 500, { error: { message: 'kaput' } }));
    const p = createProvider({ kind: 'openai', model: 'm', url: server.url, retries: 2, backoffMs: 1 });
    const e = await caught(complete(p, { messages: ask }));
    expect(e.code).toBe('E_PROVIDER_HTTP');
    expect(e.message).toContain('kaput');
    expect(server.requests.length).toBe(3);
  });

  it('does not retry a 400', async () => {
    server = await startServer((_req, res) => sendJson(res, 400, { error: { message: 'bad field temperature' } }));
    const p = createProvider({ kind: 'openai', model: 'm', url: server.url, retries: 3, backoffMs: 1 });
    const e = await caught(complete(p, { messages: ask }));
    expect(e.message).toContain('bad field temperature');
    expect(server.requests.length).toBe(1);
  });

  it('names an unreachable host', async () => {
    const s = await startServer(openaiCompatible());
    const url = s.url;
    await s.close(); // the port is now closed
    const p = createProvider({ kind: 'openai', model: 'm', url, retries: 1, backoffMs: 1 });
    const e = await caught(complete(p, { messages: ask }));
    expect(e.code).toBe('E_PROVIDER_UNREACHABLE');
    expect(e.message).toContain(url);
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('times out a server that never answers, and one that goes silent mid-stream', async () => {
    server = await startServer((req, res) => {
      if ((req.json as { model: string }).model === 'silent-mid') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'hal' } }] })}\n\n`);
      } // else: never answer
    });
    const never = createProvider({ kind: 'openai', model: 'never', url: server.url, timeoutMs: 150, retries: 0 });
    expect((await caught(complete(never, { messages: ask }))).code).toBe('E_PROVIDER_TIMEOUT');
    const mid = createProvider({ kind: 'openai', model: 'silent-mid', url: server.url, timeoutMs: 150, retries: 0 });
    const e = await caught(complete(mid, { messages: ask }));
    expect(e.code).toBe('E_PROVIDER_TIMEOUT');
    expect(e.message).toContain('streaming');
  });

  it('ends with finishReason abort when stopped mid-stream', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'first' } }] })}\n\n`);
    });
    const p = createProvider({ kind: 'openai', model: 'm', url: server.url, timeoutMs: 5000 });
    const ac = new AbortController();
    const r = await complete(p, { messages: ask, signal: ac.signal }, () => ac.abort());
    expect(r.text).toBe('first');
    expect(r.finishReason).toBe('abort');
  });
});

describe('SSE parsing', () => {
  const transcript = 'event: a\ndata: {"x":1}\n\n: keep-alive\n\ndata: line1\ndata: line2\r\n\r\ndata:no-space\n\n';
  const expected: SseEvent[] = [{ event: 'a', data: '{"x":1}' }, { event: '', data: 'line1\nline2' }, { event: '', data: 'no-space' }];

  it('gives the same events however the bytes are split', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: transcript.length }), { maxLength: 8 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const p = new SseParser();
      const got: SseEvent[] = [];
      let prev = 0;
      for (const c of [...points, transcript.length]) {
        got.push(...p.push(transcript.slice(prev, c)));
        prev = c;
      }
      got.push(...p.end());
      expect(got).toEqual(expected);
    }));
  });
});
