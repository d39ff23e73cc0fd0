// `serve --assistants` on the bundled 512-token model with the sample FAQ as knowledge: replies fit the
// context (the prompt the server renders and counts, plus the reply's room), carry the best-ranked passage,
// and tell the client what was cut (`shitate.prompt` in the body or the stream's first chunk, and the
// x-shitate-prompt-cut header), whether the room is the profile's default or the request's max_tokens; long
// conversations are trimmed oldest first; a message longer than the context is a 400.
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAssistant } from '../../src/assistants/index.js';
import { chatPrompt, openModel } from '../../src/generate/index.js';
import { providerFromOpened } from '../../src/providers/index.js';
import { createHandler, Engine, listen, serveAssistants, type Handler, type ServedAssistants } from '../../src/serve/index.js';
import type { ChatMessage } from '../../src/tokenizer/index.js';
import { bestPassage, faqHome, MINI, QUESTIONS } from '../assistants/faq-home.js';
import { post, readSse, type Json } from './fixtures.js';

let home: string;
let engine: Engine;
let handler: Handler;
let served: ServedAssistants;

beforeAll(async () => {
  home = await faqHome();
  fs.writeFileSync(path.join(home, 'assistants', 'support.yaml'), [
    'instructions: あなたはモリノスストアのサポート担当です。', 'language: ja', `provider: { kind: local, model: "${MINI}" }`,
    'generation: { temperature: 0, max_tokens: 12 }', 'knowledge: [faq]', 'memory: true',
  ].join('\n'));
  engine = new Engine(openModel(MINI), { baseId: 'mini' });
  handler = createHandler(engine, { log: () => undefined });
  served = serveAssistants(engine, { names: ['support'], home });
});
afterAll(async () => {
  await engine.close();
  await served.close();
  fs.rmSync(home, { recursive: true, force: true });
});

const chat = (body: Json) => post(handler, '/v1/chat/completions', { model: 'support', ...body });
const plan = (body: Json) => (body.shitate as Json).prompt as Json;
const usage = (body: Json) => body.usage as { prompt_tokens: number; completion_tokens: number };

/** What the library plans for the same turn, rendered by the served model's tokenizer. */
async function libraryPrompt(messages: ChatMessage[], maxTokens?: number): Promise<ChatMessage[]> {
  const a = resolveAssistant('support', { home, provider: providerFromOpened(engine.opened, MINI) });
  try {
    return (await a.prepare(messages, maxTokens === undefined ? {} : { maxTokens })).messages;
  } finally {
    a.close();
  }
}

describe('served assistants on a 512-token model', () => {
  it('fit the first question with its best passage and say that knowledge was cut', async () => {
    const messages = [{ role: 'user', content: '送料はいくらですか？' }];
    const res = await chat({ messages });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-shitate-prompt-cut')).toBe('knowledge');
    const body = (await res.json()) as Json;
    const p = plan(body);
    expect(p).toMatchObject({ context_tokens: 512, counted: 'exact', reply_tokens_reserved: 12, cut: ['knowledge'] });
    // FAQ rows are passages of their own: a few whole entries fit, the rest are dropped or shortened
    const k = p.knowledge as { kept: number; shortened?: number; dropped?: number; limited_by: string };
    expect(k.limited_by).toBe('context');
    expect(k.kept).toBeGreaterThanOrEqual(1);
    expect((k.dropped ?? 0) + (k.shortened ?? 0)).toBeGreaterThanOrEqual(1);
    expect(usage(body).prompt_tokens).toBe(p.prompt_tokens);
    expect(usage(body).prompt_tokens + 12).toBeLessThanOrEqual(512);
    const planned = await libraryPrompt(messages);
    expect(usage(body).prompt_tokens).toBe(chatPrompt(engine.opened.tokenizer, planned).length);
    expect(planned[0].content).toContain(`[1] ${(await bestPassage(home, '送料はいくらですか？')).cite}`);
    expect(planned[0].content).toContain('送料は全国一律550円');
  });

  it('keep the request\'s max_tokens free, streamed too, with the plan on the first chunk', async () => {
    for (const max of [40, 300]) {
      const body = (await (await chat({ messages: [{ role: 'user', content: '返品の手順を教えてください。' }], max_tokens: max })).json()) as Json;
      expect(plan(body).reply_tokens_reserved).toBe(max);
      expect(usage(body).prompt_tokens + max).toBeLessThanOrEqual(512);
    }
    const res = await chat({ messages: [{ role: 'user', content: '領収書は発行できますか？' }], stream: true, max_tokens: 8 });
    expect(res.headers.get('x-shitate-prompt-cut')).toBe('knowledge');
    const events = await readSse(res);
    const first = events[0] as Json;
    expect((first.choices as Json[])[0]).toMatchObject({ delta: { role: 'assistant' } });
    expect(plan(first)).toMatchObject({ reply_tokens_reserved: 8, cut: ['knowledge'] });
    expect(events.slice(1, -1).some((e) => (e as Json).shitate !== undefined)).toBe(false);
  });

  it('trim a long conversation oldest first, keeping the latest question and its best passage', async () => {
    const messages: ChatMessage[] = [];
    for (const q of QUESTIONS.slice(0, 6)) messages.push({ role: 'user', content: q }, { role: 'assistant', content: 'ご案内いたします。'.repeat(12) });
    messages.push({ role: 'user', content: QUESTIONS[6] });
    const res = await chat({ messages, max_tokens: 8 });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-shitate-prompt-cut')).toBe('history,knowledge');
    const body = (await res.json()) as Json;
    const p = plan(body);
    const dropped = (p.history as Json).dropped_messages as number;
    expect(dropped).toBeGreaterThan(0);
    expect(usage(body).prompt_tokens + 8).toBeLessThanOrEqual(512);
    const planned = await libraryPrompt(messages, 8);
    expect(planned.slice(1)).toEqual(messages.slice(dropped));
    expect(planned[0].content).toContain(`[1] ${(await bestPassage(home, QUESTIONS[6])).cite}`);
  });

  it('answer 400 context_length_exceeded to a message longer than the context', async () => {
    const res = await chat({ messages: [{ role: 'user', content: '送料について。'.repeat(120) }] });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: Json };
    expect(error).toMatchObject({ code: 'context_length_exceeded' });
    expect(error.message).toMatch(/the message needs \d+ tokens/);
  });

  it('give the plan to the official openai client', async () => {
    const server = await listen(handler, { port: 0 });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const { data, response } = await client.chat.completions.create({ model: 'support', messages: [{ role: 'user', content: '送料はいくらですか？' }] }).withResponse();
      expect(response.headers.get('x-shitate-prompt-cut')).toBe('knowledge');
      expect((data as unknown as { shitate: { prompt: Json } }).shitate.prompt).toMatchObject({ context_tokens: 512, cut: ['knowledge'] });
    } finally {
      await server.close();
    }
  });
});
