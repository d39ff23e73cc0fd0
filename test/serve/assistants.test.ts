// Assistant profiles served as models: a local profile's system prompt, knowledge sources and adapter reach
// the served model exactly as the library renders them; memory follows the request's `user` and stays with
// that user; a hosted profile is relayed (whole and streamed) with upstream failures as 502s that leak no
// key; profiles for another local model are refused; and the official openai client drives it all.
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAssistant, type ResolvedAssistant } from '../../src/assistants/index.js';
import { chatPrompt, openModel } from '../../src/generate/index.js';
import { MemoryStore } from '../../src/memory/index.js';
import { providerFromOpened } from '../../src/providers/index.js';
import { ingest, KnowledgeBase } from '../../src/rag/index.js';
import { createHandler, Engine, listen, serveAssistants, type Handler, type ServedAssistants } from '../../src/serve/index.js';
import type { ChatMessage } from '../../src/tokenizer/index.js';
import { tempDir } from '../helpers/tiny-model.js';
import { openaiCompatible, sendJson, startServer, type FakeServer } from '../providers/fake-server.js';
import { directChat, makeAdapter, post, readSse, serveModelDir, type Json } from './fixtures.js';

const LEAKY_KEY = 'sk-live-SECRET0123456789';
const EXTRACT_MARK = 'You maintain a short memory';
const GEN = { maxNewTokens: 8, temperature: 1, seed: 5 };

let home: string;
let modelDir: string;
let adapterDir: string;
let engine: Engine;
let handler: Handler;
const logs: string[] = [];
let served: ServedAssistants;
let cloud: FakeServer;
let refusing: FakeServer;

function profile(name: string, lines: string[]): void {
  fs.writeFileSync(path.join(home, 'assistants', `${name}.yaml`), `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  home = tempDir('shitate-serve-asst-');
  modelDir = serveModelDir();
  adapterDir = makeAdapter(modelDir, 1);
  cloud = await startServer(openaiCompatible({
    reply: (m) => (m[0]?.content.startsWith(EXTRACT_MARK) ? '- works in the Osaka office' : `hosted: ${m[m.length - 1].content}`),
  }));
  refusing = await startServer((_req, res) => sendJson(res, 401, { error: { message: `Incorrect API key provided: ${LEAKY_KEY}.`, code: 'invalid_api_key' } }));
  const docs = tempDir('shitate-serve-docs-');
  fs.writeFileSync(path.join(docs, 'returns.md'), '# Returns\n\nRefunds are accepted within 30 days with the receipt.\n');
  fs.writeFileSync(path.join(docs, 'hours.md'), '# Hours\n\nThe office is open from 9 am to 6 pm on weekdays.\n');
  const kb = KnowledgeBase.open(home, 'handbook', { create: true });
  await ingest(kb, ['returns.md', 'hours.md'], { cwd: docs });
  kb.close();
  fs.mkdirSync(path.join(home, 'assistants'));
  const local = `provider: { kind: local, model: "${modelDir}" }`;
  profile('helper', ['instructions: You are the support desk of Acme.', local, 'generation: { temperature: 1, seed: 5, max_tokens: 8 }',
    'knowledge: { bases: [handbook], mode: chunks, top_k: 1, budget_tokens: 60 }', 'memory: true']);
  profile('tuned', ['instructions: Answer briefly.', `provider: { kind: local, model: "${modelDir}", adapter: "${adapterDir}" }`, 'generation: { seed: 5 }']);
  profile('tuned2', ['instructions: Answer at length.', `provider: { kind: local, model: "${modelDir}", adapter: "${adapterDir}" }`]);
  profile('keeper', ['instructions: Keep notes.', local, 'memory: { enabled: true, auto: true }']);
  profile('cloud', ['instructions: You are Acme in the cloud.', `provider: { kind: openai, model: tiny, url: "${cloud.url}/v1" }`,
    'memory: { enabled: true, auto: true }']);
  profile('broken', [`provider: { kind: openai, model: m, url: "${refusing.url}/v1", key: ${LEAKY_KEY}, retries: 0 }`]);
  profile('down', ['provider: { kind: openai, model: m, url: "http://127.0.0.1:9/v1", retries: 0 }']);
  profile('other', [`provider: { kind: local, model: "${path.join(home, 'another-model')}" }`]);
  engine = new Engine(openModel(modelDir), { baseId: 'tiny' });
  handler = createHandler(engine, { log: (l) => logs.push(l) });
  served = serveAssistants(engine, { names: ['helper', 'tuned', 'tuned2', 'keeper', 'cloud', 'broken', 'down'], home });
});
afterAll(async () => {
  await engine.close();
  await served.close();
  await cloud.close();
  await refusing.close();
});

const chat = (body: Json) => post(handler, '/v1/chat/completions', body);
const contentOf = (r: Json) => ((r.choices as Json[])[0].message as Json).content as string;
const ask = (content: string): ChatMessage[] => [{ role: 'user', content }];

/** The same assistant as the library resolves it, counting tokens with the served tokenizer. */
function library(name: string): ResolvedAssistant {
  return resolveAssistant(name, { home, provider: providerFromOpened(engine.opened, modelDir) });
}

describe('assistants as served models', () => {
  it('lists them as models of kind assistant', async () => {
    const list = (await (await handler(new Request('http://local/v1/models'))).json()) as { data: Json[] };
    expect(list.data.map((m) => m.id)).toEqual(['tiny', 'helper', 'tuned', 'tuned2', 'keeper', 'cloud', 'broken', 'down']);
    expect(list.data[0]).toMatchObject({ kind: 'base' });
    expect(list.data.find((m) => m.id === 'cloud')).toMatchObject({ object: 'model', kind: 'assistant', owned_by: 'shitate' });
  });

  it('renders a local assistant\'s system prompt and retrieved source for the model, as the library does', async () => {
    const messages = ask('How many days do I have for refunds?');
    const res = await chat({ model: 'helper', messages });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    const a = library('helper');
    const t = await a.prepare(messages);
    a.close();
    expect(t.messages[0].content).toContain('You are the support desk of Acme.');
    expect(t.messages[0].content).toContain('Refunds are accepted within 30 days');
    expect(t.messages[0].content).not.toContain('9 am');
    expect(contentOf(body)).toBe(await directChat(modelDir, null, t.messages, GEN)); // the profile's sampling defaults
    expect((body.usage as Json).prompt_tokens).toBe(chatPrompt(engine.opened.tokenizer, t.messages).length);
  });

  it('runs an assistant with its adapter, loaded once for every profile naming it', async () => {
    const messages = ask('Hello there');
    const body = (await (await chat({ model: 'tuned', messages, max_tokens: 6, temperature: 1 })).json()) as Json;
    const a = library('tuned');
    const t = await a.prepare(messages);
    a.close();
    expect(contentOf(body)).toBe(await directChat(modelDir, adapterDir, t.messages, { maxNewTokens: 6, temperature: 1, seed: 5 }));
    expect(engine.bank.list().length).toBe(1);
    const completion = await post(handler, '/v1/completions', { model: 'tuned', prompt: 'Hi' });
    expect(completion.status).toBe(400);
    expect(((await completion.json()) as Json).error).toMatchObject({ param: 'model', code: 'unsupported_model' });
  });

  it('remembers a fact for the user who asked, and never shows it to another user', async () => {
    expect((await chat({ model: 'helper', user: 'alice', messages: ask('Remember that my favourite colour is teal.') })).status).toBe(200);
    const store = MemoryStore.open(home);
    expect(store.forUser('alice', 'helper').list().map((m) => m.text)).toEqual(['my favourite colour is teal']);
    expect(store.forUser('bob', 'helper').list()).toEqual([]);
    store.close();
    const question = ask('Which colour do I like?');
    const a = library('helper');
    for (const user of ['alice', 'bob']) {
      const t = await a.prepare(question, { userId: user });
      expect(t.messages[0].content.includes('teal')).toBe(user === 'alice');
      const body = (await (await chat({ model: 'helper', user, messages: question })).json()) as Json;
      expect((body.usage as Json).prompt_tokens).toBe(chatPrompt(engine.opened.tokenizer, t.messages).length);
      expect(contentOf(body)).toBe(await directChat(modelDir, null, t.messages, GEN));
    }
    a.close();
    expect((await chat({ model: 'helper', user: 42, messages: question })).status).toBe(400);
  });

  it('extracts facts after a local reply through the scheduler, not beside it', async () => {
    const before = engine.scheduler.stats().completed;
    const res = await chat({ model: 'keeper', user: 'erin', messages: ask('I work in the Kyoto branch.'), max_tokens: 4 });
    expect(res.status).toBe(200);
    await served.settled();
    expect(engine.scheduler.stats().completed - before).toBe(2); // the reply, then the extraction
    expect(logs.filter((l) => l.includes('after-reply'))).toEqual([]);
  });

  it('relays a hosted assistant, whole and streamed, and keeps facts it extracts', async () => {
    const body = (await (await chat({ model: 'cloud', user: 'carol', messages: ask('Where is the office?') })).json()) as Json;
    expect(body).toMatchObject({ object: 'chat.completion', model: 'cloud', choices: [{ finish_reason: 'stop' }] });
    expect(contentOf(body)).toBe('hosted: Where is the office?');
    expect(body.usage).toEqual({ prompt_tokens: 7, completion_tokens: [...contentOf(body)].length, total_tokens: 7 + [...contentOf(body)].length });
    const sent = cloud.requests.find((r) => (r.json as { messages: Json[] }).messages.length === 2)?.json as { messages: { content: string }[] };
    expect(sent.messages[0].content).toContain('You are Acme in the cloud.');
    await served.settled();
    const store = MemoryStore.open(home);
    expect(store.forUser('carol', 'cloud').list().map((m) => [m.text, m.source])).toEqual([['works in the Osaka office', 'auto']]);
    store.close();

    const res = await chat({ model: 'cloud', messages: ask('Streamed?'), stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = await readSse(res);
    expect(events[events.length - 1]).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Json[];
    const deltas = chunks.map((c) => ((c.choices as Json[])[0]?.delta as Json | undefined)?.content ?? '').join('');
    expect(deltas).toBe('hosted: Streamed?');
    expect((chunks[0].choices as Json[])[0]).toMatchObject({ delta: { role: 'assistant' } });
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [], usage: { prompt_tokens: 7 } });
  });

  it('answers 502 in OpenAI\'s error shape when the upstream fails, without its key', async () => {
    for (const stream of [false, true]) {
      const res = await chat({ model: 'broken', messages: ask('hi'), stream });
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(text).not.toContain('SECRET');
      const { error } = JSON.parse(text) as { error: Json };
      expect(error).toMatchObject({ type: 'upstream_error', code: 'provider_auth', param: null });
      expect(error.message).toContain('refused the API key (HTTP 401)');
    }
    const down = (await (await chat({ model: 'down', messages: ask('hi') })).json()) as { error: Json };
    expect(down.error).toMatchObject({ code: 'provider_unreachable' });
    expect(down.error.message).toContain('127.0.0.1:9');
  });

  it('refuses a profile for another local model when named, and skips it when serving all', async () => {
    expect(() => serveAssistants(engine, { names: ['other'], home })).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining('runs on the local model') }));
    expect(engine.registry.get('other')).toBeUndefined();
    const second = new Engine(openModel(modelDir), { baseId: 'tiny' });
    const notes: string[] = [];
    const all = serveAssistants(second, { names: 'all', home, note: (l) => notes.push(l) });
    expect(all.ids).toEqual(['broken', 'cloud', 'down', 'helper', 'keeper', 'tuned', 'tuned2']);
    expect(notes).toEqual([expect.stringContaining('not serving assistant "other"')]);
    await second.close();
    await all.close();
    expect(second.registry.list().map((m) => m.id)).toEqual(['tiny']);
  });
});

describe('an assistant that quotes its sources', () => {
  it('steers the served reply onto the retrieved passage, as direct generation with the same quote does', async () => {
    profile('quoter', [`provider: { kind: local, model: "${modelDir}" }`, 'generation: { temperature: 0, max_tokens: 8 }',
      'knowledge: { bases: [handbook], mode: chunks, top_k: 1, budget_tokens: 60, quote: 100 }']);
    const quoting = serveAssistants(engine, { names: ['quoter'], home });
    try {
      const messages = ask('How many days do I have for refunds?');
      const reply = contentOf((await (await chat({ model: 'quoter', messages })).json()) as Json);
      const a = library('quoter');
      const t = await a.prepare(messages);
      a.close();
      const passage = t.sources[0].text;
      expect(passage).toContain('Refunds are accepted within 30 days');
      const opts = { maxNewTokens: 8, temperature: 0 };
      expect(reply).toBe(await directChat(modelDir, null, t.messages, { ...opts, quote: { texts: [passage], strength: 100 } }));
      expect(reply).not.toBe(await directChat(modelDir, null, t.messages, opts));
      expect(reply.length).toBeGreaterThan(3);
      expect(passage).toContain(reply.split('\n')[0]);
    } finally {
      await quoting.close();
    }
  });
});

describe('with the official openai client', () => {
  it('chats with local and hosted assistants over HTTP, and surfaces upstream failures', async () => {
    const server = await listen(handler, { port: 0 });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'helper', user: 'dave', messages: [{ role: 'user', content: 'Opening hours?' }], max_tokens: 4 });
      expect(r.model).toBe('helper');
      expect(r.usage?.completion_tokens).toBeLessThanOrEqual(4);
      const stream = await client.chat.completions.create({ model: 'cloud', messages: [{ role: 'user', content: 'Over HTTP' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('hosted: Over HTTP');
      const failed = await client.chat.completions.create({ model: 'broken', messages: [{ role: 'user', content: 'hi' }] }).then(() => null, (e: unknown) => e);
      expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
      expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    } finally {
      await server.close();
    }
  });
});
