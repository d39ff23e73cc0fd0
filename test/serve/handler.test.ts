// The server as a Request -> Response function, in-process: served texts equal the library's own generation
// (chat template, adapters attached per request, seeds), the OpenAI response and stream shapes with usage,
// /v1/models and /health, run-time adapters through /admin, API keys, logs without prompts, disconnects and
// overload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatPrompt, openModel } from '../../src/generate/index.js';
import { createHandler, Engine } from '../../src/serve/index.js';
import { directChat, makeAdapter, post, readSse, serveModelDir, serveTiny, type Json, type Served } from './fixtures.js';

const messages = [{ role: 'system', content: 'You answer support questions.' }, { role: 'user', content: 'What is the return policy?' }];
const SEED = 7;

let s: Served;
let adapterDirs: Record<string, string | null>;
beforeAll(() => {
  s = serveTiny();
  adapterDirs = { tiny: null, alpha: makeAdapter(s.modelDir, 1), beta: makeAdapter(s.modelDir, 2) };
});
afterAll(() => s.engine.close());

const chat = (body: Json, headers: Record<string, string> = {}) => post(s.handler, '/v1/chat/completions', { messages, ...body }, headers);
const contentOf = (r: Json) => ((r.choices as Json[])[0].message as Json).content as string;

describe('chat completions', () => {
  it('serve each model with its own adapter, exactly as the library generates', async () => {
    const texts: string[] = [];
    for (const model of ['tiny', 'alpha', 'beta']) {
      const res = await chat({ model, max_tokens: 12, temperature: 1, seed: SEED });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Json;
      expect(body).toMatchObject({ object: 'chat.completion', model, choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant' } }] });
      expect(String(body.id)).toMatch(/^chatcmpl-/);
      const want = await directChat(s.modelDir, adapterDirs[model], messages, { maxNewTokens: 12, temperature: 1, seed: SEED });
      expect(contentOf(body)).toBe(want);
      const promptTokens = chatPrompt(s.engine.opened.tokenizer, messages).length;
      expect(body.usage).toEqual({ prompt_tokens: promptTokens, completion_tokens: 12, total_tokens: promptTokens + 12 });
      texts.push(contentOf(body));
    }
    expect(new Set(texts).size).toBe(3);
  });

  it('keeps every request on its own adapter and seed when requests interleave', async () => {
    const asks = ['tiny', 'alpha', 'beta', 'alpha', 'beta', 'tiny'].map((model, i) => ({ model, seed: 100 + i, max_tokens: 10, temperature: 1 }));
    const alone: string[] = [];
    for (const a of asks) alone.push(contentOf((await (await chat(a)).json()) as Json));
    const together = await Promise.all(asks.map(async (a) => contentOf((await (await chat(a)).json()) as Json)));
    expect(together).toEqual(alone);
    expect(new Set(alone).size).toBe(asks.length);
  });

  it('streams the same text as chunks, with the usage on the finishing chunk or in a usage chunk', async () => {
    const ask = { model: 'alpha', max_tokens: 9, temperature: 1, seed: SEED };
    const whole = contentOf((await (await chat(ask)).json()) as Json);
    for (const includeUsage of [false, true]) {
      const res = await chat({ ...ask, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const events = await readSse(res);
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1) as Json[];
      const ids = new Set(chunks.map((c) => c.id));
      expect(ids.size).toBe(1);
      const deltas = chunks.flatMap((c) => (c.choices as Json[]).map((ch) => ch.delta as Json));
      expect(deltas[0]).toEqual({ role: 'assistant', content: '' });
      expect(deltas.map((d) => d.content ?? '').join('')).toBe(whole);
      const finishing = chunks.filter((c) => (c.choices as Json[]).some((ch) => ch.finish_reason !== null));
      expect(finishing.length).toBe(1);
      expect((finishing[0].choices as Json[])[0].finish_reason).toBe('length');
      const usage = includeUsage ? chunks.at(-1)?.usage : finishing[0].usage;
      expect(usage).toMatchObject({ completion_tokens: 9 });
      if (includeUsage) {
        expect(chunks.at(-1)?.choices).toEqual([]);
        expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
      }
    }
  });

  it('ends at a stop string without sending it', async () => {
    const ask = { model: 'beta', max_tokens: 16, temperature: 1, seed: 3 };
    const full = contentOf((await (await chat(ask)).json()) as Json);
    const chars = [...full];
    const stop = chars.slice(4, 6).join('');
    const res = (await (await chat({ ...ask, stop: [stop] })).json()) as Json;
    expect(contentOf(res)).toBe(full.slice(0, full.indexOf(stop)));
    expect((res.choices as Json[])[0].finish_reason).toBe('stop');
  });
});

describe('completions', () => {
  it('continues text or token ids, 16 tokens unless asked, streamed or not', async () => {
    const prompt = 'Our return policy';
    const ids = s.engine.opened.tokenizer.encode(prompt);
    const a = (await (await post(s.handler, '/v1/completions', { model: 'alpha', prompt, temperature: 1, seed: 5 })).json()) as Json;
    const b = (await (await post(s.handler, '/v1/completions', { model: 'alpha', prompt: [ids], temperature: 1, seed: 5 })).json()) as Json;
    expect(a).toMatchObject({ object: 'text_completion', model: 'alpha', usage: { prompt_tokens: ids.length, completion_tokens: 16 } });
    expect((a.choices as Json[])[0].text).toBe((b.choices as Json[])[0].text);
    const events = await readSse(await post(s.handler, '/v1/completions', { model: 'alpha', prompt, temperature: 1, seed: 5, stream: true }));
    const chunks = events.filter((e): e is Json => e !== '[DONE]');
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.map((c) => (c.choices as Json[])[0].text).join('')).toBe((a.choices as Json[])[0].text);
  });
});

describe('models, health and admin', () => {
  it('lists the base and every adapter as models', async () => {
    const list = (await (await s.handler(new Request('http://local/v1/models'))).json()) as Json;
    expect((list.data as Json[]).map((m) => m.id)).toEqual(['tiny', 'alpha', 'beta']);
    expect((list.data as Json[])[1]).toMatchObject({ object: 'model', owned_by: 'shitate' });
    expect((await s.handler(new Request('http://local/v1/models/beta'))).status).toBe(200);
    const missing = await s.handler(new Request('http://local/v1/models/nope'));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Json).error).toMatchObject({ code: 'model_not_found', param: 'model' });
    const health = (await (await s.handler(new Request('http://local/health'))).json()) as Json;
    expect(health).toMatchObject({ status: 'ok', model: 'tiny', models: 3, running: 0, waiting: 0 });
  });

  it('adds and removes adapters at run time without touching the others', async () => {
    const dir = makeAdapter(s.modelDir, 3);
    const admin = (method: string, path: string, body?: unknown) => s.handler(new Request(`http://local${path}`, {
      method, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }));
    const added = await admin('POST', '/admin/adapters', { name: 'gamma', path: dir });
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({ id: 'gamma', object: 'model', adapted_layers: 14, rank: 4 });
    expect((await admin('POST', '/admin/adapters', { name: 'gamma', path: dir })).status).toBe(409);
    expect((await admin('POST', '/admin/adapters', { name: 'delta', path: '/no/such/folder' })).status).toBe(400);
    const listed = (await (await admin('GET', '/admin/adapters')).json()) as Json;
    expect((listed.data as Json[]).map((m) => m.id)).toEqual(['alpha', 'beta', 'gamma']);

    const ask = { max_tokens: 8, temperature: 1, seed: 11 };
    const gamma = contentOf((await (await chat({ model: 'gamma', ...ask })).json()) as Json);
    expect(gamma).toBe(await directChat(s.modelDir, dir, messages, { maxNewTokens: 8, temperature: 1, seed: 11 }));
    const alpha = contentOf((await (await chat({ model: 'alpha', ...ask })).json()) as Json);
    expect(alpha).toBe(await directChat(s.modelDir, adapterDirs.alpha, messages, { maxNewTokens: 8, temperature: 1, seed: 11 }));

    expect((await admin('DELETE', '/admin/adapters/gamma')).status).toBe(200);
    expect((await chat({ model: 'gamma', ...ask })).status).toBe(404);
    expect((await admin('DELETE', '/admin/adapters/gamma')).status).toBe(404);
    expect((await admin('DELETE', '/admin/adapters/tiny')).status).toBe(400);
  });

  it('loads an adapter while another one is generating without disturbing it', async () => {
    const ask = { model: 'alpha', max_tokens: 40, temperature: 1, seed: 21, stream: true };
    const before = s.engine.scheduler.stats().steps;
    const res = await chat(ask);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let raw = new TextDecoder().decode((await reader.read()).value);
    while (s.engine.scheduler.stats().steps < before + 3) await new Promise((r) => setImmediate(r));
    expect(s.engine.scheduler.stats().running).toBe(1); // mid-generation: its rows carry alpha's layers
    const added = await s.handler(new Request('http://local/admin/adapters', { method: 'POST', body: JSON.stringify({ name: 'late', path: makeAdapter(s.modelDir, 4) }) }));
    expect(added.status).toBe(201);
    for (let r = await reader.read(); !r.done; r = await reader.read()) raw += new TextDecoder().decode(r.value);
    const text = raw.split('\n\n').filter((b) => b.startsWith('data: {')).map((b) => JSON.parse(b.slice(6)) as Json)
      .map((c) => ((c.choices as Json[])[0].delta as Json).content ?? '').join('');
    expect(text).toBe(await directChat(s.modelDir, adapterDirs.alpha, messages, { maxNewTokens: 40, temperature: 1, seed: 21 }));
    expect(s.engine.removeAdapter('late')).toBe(true);
  });

  it('guards /v1 and /admin with keys when configured, and can turn /admin off', async () => {
    const guarded = createHandler(s.engine, { apiKeys: ['sk-one', 'sk-two'], adminKey: 'adm' });
    const models = (key?: string) => guarded(new Request('http://local/v1/models', key ? { headers: { authorization: `Bearer ${key}` } } : {}));
    expect((await models()).status).toBe(401);
    expect((await models('sk-three')).status).toBe(401);
    expect(((await (await models('sk-three')).json()) as Json).error).toMatchObject({ code: 'invalid_api_key', type: 'authentication_error' });
    expect((await models('sk-two')).status).toBe(200);
    expect((await guarded(new Request('http://local/health'))).status).toBe(200);
    const adm = (key: string) => guarded(new Request('http://local/admin/adapters', { headers: { authorization: `Bearer ${key}` } }));
    expect((await adm('sk-one')).status).toBe(401);
    expect((await adm('adm')).status).toBe(200);
    const off = createHandler(s.engine, { admin: false });
    expect((await off(new Request('http://local/admin/adapters'))).status).toBe(403);
  });
});

describe('logs, disconnects and overload', () => {
  it('logs requests without their prompts unless asked', async () => {
    const secret = 'zebra-unicorn-4711';
    const ask = { model: 'tiny', max_tokens: 3, messages: [{ role: 'user', content: secret }] };
    const quiet = serveTiny();
    await post(quiet.handler, '/v1/chat/completions', ask);
    await post(quiet.handler, '/v1/chat/completions', { ...ask, stream: true }).then((r) => r.text());
    expect(quiet.logs.some((l) => l.includes('completion_tokens=3'))).toBe(true);
    expect(quiet.logs.join('\n')).not.toContain(secret);
    const loud = serveTiny({ logPrompts: true });
    await post(loud.handler, '/v1/chat/completions', ask);
    expect(loud.logs.join('\n')).toContain(secret);
    await Promise.all([quiet.engine.close(), loud.engine.close()]);
  });

  it('stops generating for a client that goes away, streamed or not', async () => {
    const own = serveTiny();
    const res = await post(own.handler, '/v1/chat/completions', { model: 'alpha', messages, max_tokens: 400, stream: true });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (let events = 0; events < 3;) { // the role chunk and two with text
      const r = await reader.read();
      expect(r.done).toBe(false);
      events += new TextDecoder().decode(r.value).split('data: ').length - 1;
    }
    await reader.cancel();
    const ac = new AbortController();
    const before = own.engine.scheduler.stats().steps;
    const pending = post(own.handler, '/v1/chat/completions', { model: 'beta', messages, max_tokens: 400 }, {}, ac.signal);
    while (own.engine.scheduler.stats().steps < before + 4) await new Promise((r) => setImmediate(r)); // it is generating
    ac.abort();
    expect((await pending).status).toBe(499);
    await own.engine.scheduler.idle();
    expect(own.engine.scheduler.stats()).toMatchObject({ aborted: 2, completed: 0, running: 0 });
    const tokens = own.logs.filter((l) => l.includes('finish=abort')).map((l) => Number(/completion_tokens=(\d+)/.exec(l)?.[1]));
    expect(tokens.length).toBe(2);
    for (const n of tokens) expect(n).toBeLessThan(400);
    await own.engine.close();
  });

  it('answers 429 when the queue is full and 503 once shutting down', async () => {
    const engine = new Engine(openModel(serveModelDir()), { baseId: 'tiny', limits: { maxConcurrent: 1, maxQueue: 0 } });
    const handler = createHandler(engine);
    const busy = await post(handler, '/v1/chat/completions', { model: 'tiny', messages, max_tokens: 300, stream: true });
    const refused = await post(handler, '/v1/chat/completions', { model: 'tiny', messages, max_tokens: 3 });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as Json).error).toMatchObject({ type: 'rate_limit_error', code: 'queue_full' });
    await busy.body?.cancel();
    await engine.close();
    expect((await post(handler, '/v1/chat/completions', { model: 'tiny', messages, max_tokens: 3 })).status).toBe(503);
    expect((await handler(new Request('http://local/health'))).status).toBe(503);
  });
});
