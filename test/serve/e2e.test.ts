// The real server on a free loopback port, driven by the official `openai` client: chat completions,
// streaming with usage, two adapters answering the same prompt differently, completions, the model list,
// errors surfaced as the client's typed errors, health checks answered mid-generation, and a client abort
// that stops its generation on the server.
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../src/generate/index.js';
import { createHandler, Engine, listen, type RunningServer } from '../../src/serve/index.js';
import { serveModelDir, serveTiny, type Served } from './fixtures.js';

const KEY = 'sk-e2e-test';
const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'How do I reset my password?' }];

let s: Served;
let server: RunningServer;
let client: OpenAI;
beforeAll(async () => {
  s = serveTiny({ apiKeys: [KEY] });
  server = await listen(s.handler, { port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await s.engine.close();
  await server.close();
});

async function health(url: string): Promise<{ status: string; running: number; aborted: number }> {
  return (await (await fetch(`${url}/health`)).json()) as { status: string; running: number; aborted: number };
}

describe('with the official openai client', () => {
  it('binds to loopback and lists the base and the adapters', async () => {
    expect(server.host).toBe('127.0.0.1');
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(['tiny', 'alpha', 'beta']);
  });

  it('completes a chat, and streams the same text with the usage', async () => {
    const ask = { model: 'alpha', messages, max_tokens: 10, temperature: 0.9, seed: 42 };
    const r = await client.chat.completions.create(ask);
    expect(r.choices[0].message.role).toBe('assistant');
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage?.completion_tokens).toBe(10);
    const stream = await client.chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(r.choices[0].message.content);
    expect(usage).toEqual(r.usage);
  });

  it('answers the same prompt differently through two adapters', async () => {
    const ask = { messages, max_tokens: 8, temperature: 0 };
    const [a, b] = await Promise.all(['alpha', 'beta'].map((model) => client.chat.completions.create({ ...ask, model })));
    expect(a.model).toBe('alpha');
    expect(b.model).toBe('beta');
    expect(a.choices[0].message.content).not.toBe(b.choices[0].message.content);
  });

  it('serves text completions', async () => {
    const r = await client.completions.create({ model: 'beta', prompt: 'Our office is open', max_tokens: 5, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.usage?.completion_tokens).toBe(5);
    expect(typeof r.choices[0].text).toBe('string');
  });

  it('surfaces errors as the client\'s typed errors', async () => {
    const fails = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);
    const missing = await fails(client.chat.completions.create({ model: 'nope', messages }));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as APIError).code).toBe('model_not_found');
    const negative = await fails(client.chat.completions.create({ model: 'tiny', messages, max_tokens: -1 }));
    expect(negative).toBeInstanceOf(OpenAI.BadRequestError);
    expect((negative as APIError).param).toBe('max_tokens');
    const tooLong = await fails(client.chat.completions.create({ model: 'tiny', messages, max_tokens: 100_000 }));
    expect((tooLong as APIError).code).toBe('context_length_exceeded');
    const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    expect(await fails(wrongKey.models.list())).toBeInstanceOf(OpenAI.AuthenticationError);
    const big = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'x'.repeat(3 * 1024 * 1024) }] }),
    });
    expect(big.status).toBe(413);
  });
});

describe('under load', () => {
  it('answers health checks while generating, refuses past the queue, and stops a generation the client aborts', async () => {
    const engine = new Engine(openModel(serveModelDir()), { baseId: 'tiny', limits: { maxConcurrent: 1, maxQueue: 0 } });
    const srv = await listen(createHandler(engine), { port: 0 });
    const c = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    try {
      const stream = await c.chat.completions.create({ model: 'tiny', messages, max_tokens: 450, temperature: 1, seed: 1, stream: true });
      const it = stream[Symbol.asyncIterator]();
      await it.next(); // generating now
      const during = await health(srv.url);
      expect(during).toMatchObject({ status: 'ok', running: 1 });
      const refused = await c.chat.completions.create({ model: 'tiny', messages, max_tokens: 2 }).then(() => null, (e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      stream.controller.abort();
      let h = await health(srv.url);
      while (h.running > 0) h = await health(srv.url);
      expect(h.aborted).toBe(1);
      const after = await c.chat.completions.create({ model: 'tiny', messages, max_tokens: 2 });
      expect(after.choices[0].finish_reason).toBe('length');
    } finally {
      await engine.close();
      await srv.close();
    }
  });
});
