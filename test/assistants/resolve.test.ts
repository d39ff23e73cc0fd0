// resolveAssistant over real HTTP to a local OpenAI-compatible server: the system prompt carries the
// rendered instructions, this user's memory only and cited sources; requests to remember are stored; facts
// are extracted when memory.auto is on; a conversation runs turns and commands.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, resolveAssistant } from '../../src/assistants/index.js';
import { complete, type ChatEvent, type ChatRequest, type Provider } from '../../src/providers/index.js';
import { MemoryStore } from '../../src/memory/index.js';
import { ingest, KnowledgeBase } from '../../src/rag/index.js';
import { tempDir } from '../helpers/tiny-model.js';
import { MINI } from './faq-home.js';
import { openaiCompatible, startServer, type FakeServer } from '../providers/fake-server.js';
import { CORPUS_DIR } from '../rag/corpus.js';

let home: string;
let server: FakeServer;
const EXTRACT_MARK = 'You maintain a short memory';

beforeAll(async () => {
  home = tempDir('shitate-asst-');
  server = await startServer(openaiCompatible({
    reply: (m) => (m[0]?.content.startsWith(EXTRACT_MARK) ? '- 部署は品質保証部' : `answer to: ${m[m.length - 1].content}`),
  }));
  const kb = KnowledgeBase.open(home, 'handbook', { create: true });
  await ingest(kb, ['returns.html', 'work-rules.md', 'expenses.txt'], { cwd: CORPUS_DIR });
  kb.close();
  fs.mkdirSync(path.join(home, 'assistants'));
  fs.writeFileSync(path.join(home, 'assistants', 'support.yaml'), [
    'name: サポート', 'instructions: "あなたは{{ company }}のサポート担当です。今日は{{ today }}です。"', 'language: ja',
    `provider: { kind: openai, model: tiny, url: "${server.url}/v1" }`, 'generation: { temperature: 0.2, max_tokens: 64 }',
    'knowledge: { bases: [handbook], mode: chunks, top_k: 3 }', 'memory: { enabled: true, auto: true }', 'variables: { company: ミナト精機 }',
  ].join('\n'));
});
afterAll(async () => {
  await server.close();
});

const clock = () => new Date(2025, 3, 1, 10, 0);

describe('resolveAssistant', () => {
  it('builds the system prompt from instructions, memory and cited sources', async () => {
    const store = MemoryStore.open(home);
    store.forUser('alice', 'support').add('好きな飲み物は緑茶');
    store.forUser('bob', 'support').add('ボブの秘密の合言葉');
    store.close();
    const a = resolveAssistant('support', { home, now: clock });
    const t = await a.prepare([{ role: 'user', content: '返品の期限は何日ですか' }], { userId: 'alice' });
    const sys = t.messages[0];
    expect(sys.role).toBe('system');
    expect(sys.content).toContain('あなたはミナト精機のサポート担当です。今日は2025-04-01です。');
    expect(sys.content).toContain('回答は必ず日本語で');
    expect(sys.content).toContain('好きな飲み物は緑茶');
    expect(sys.content).not.toContain('ボブ');
    expect(sys.content).toMatch(/\[\d\] returns\.html § 返品・交換ポリシー > 返品の受付期間\n未使用・未開封の製品に限り、商品到着日から30日以内/);
    expect(t.sources.length).toBe(3);
    expect(t.messages.slice(1)).toEqual([{ role: 'user', content: '返品の期限は何日ですか' }]);
    // what the provider receives over HTTP is exactly this
    const r = await complete(a.provider, { messages: t.messages, params: a.params });
    expect(r.text).toBe('answer to: 返品の期限は何日ですか');
    const sent = server.requests[server.requests.length - 1].json as { messages: { content: string }[]; temperature: number; max_tokens: number };
    expect(sent.messages[0].content).toBe(sys.content);
    expect(sent).toMatchObject({ temperature: 0.2, max_tokens: 64 });
    a.close();
  });

  it('does not read or write memory without a user, and does not render user text as a template', async () => {
    const a = resolveAssistant('support', { home, now: clock });
    const t = await a.prepare([{ role: 'user', content: '{{ company }} を覚えておいて' }]);
    expect(t.remembered).toBeNull();
    expect(t.memories).toEqual([]);
    expect(t.messages[t.messages.length - 1].content).toBe('{{ company }} を覚えておいて');
    a.close();
  });

  it('keeps a client\'s own system message after the assistant\'s', async () => {
    const a = resolveAssistant('support', { home, now: clock });
    const t = await a.prepare([{ role: 'system', content: 'Client rule.' }, { role: 'user', content: 'hi' }]);
    expect(t.messages.filter((m) => m.role === 'system').length).toBe(1);
    expect(t.messages[0].content.endsWith('Client rule.')).toBe(true);
    a.close();
  });
});

describe('a conversation', () => {
  it('streams replies, remembers on request and by extraction, cites sources, and forgets', async () => {
    const a = resolveAssistant('support', { home, now: clock });
    const out: string[] = [];
    const notes: string[] = [];
    const s = new Conversation(a, 'carol', { text: (t) => out.push(t), note: (n) => notes.push(n) });
    await s.line('私の名前は佐藤です。覚えておいてください。');
    expect(notes.some((n) => n.includes('[remembered #') && n.includes('私の名前は佐藤です。'))).toBe(true);
    await s.line('経費精算の締め切りはいつ？');
    expect(out.join('')).toContain('answer to: 経費精算の締め切りはいつ？');
    expect(notes.some((n) => n.startsWith('sources: [1] expenses.txt'))).toBe(true);
    expect(notes.some((n) => n.includes('部署は品質保証部'))).toBe(true); // extracted by the model (memory.auto)
    expect(s.history.length).toBe(4);
    const mem = a.memoryFor('carol')!;
    expect(mem.list().map((m) => [m.text, m.source])).toEqual([['私の名前は佐藤です。', 'user'], ['部署は品質保証部', 'auto']]);
    await s.line('/forget all');
    expect(mem.list()).toEqual([]);
    expect(await s.line('/exit')).toBe(false);
    a.close();
  });

  it('hands a local model the turn\'s sources to quote when the profile sets knowledge.quote', async () => {
    fs.writeFileSync(path.join(home, 'assistants', 'quoter.yaml'),
      `provider: { kind: local, model: "${MINI}" }\nknowledge: { bases: [handbook], mode: chunks, top_k: 2, quote: 10 }\n`);
    const seen: ChatRequest[] = [];
    const provider: Provider = {
      kind: 'local', model: 'm', countTokens: (t) => t.length,
      async *chat(req: ChatRequest): AsyncGenerator<ChatEvent> {
        seen.push(req);
        yield { type: 'text', text: 'ok' };
        yield { type: 'done', finishReason: 'stop', usage: null };
      },
    };
    const a = resolveAssistant('quoter', { home, provider });
    const s = new Conversation(a, 'u', { text: () => undefined, note: () => undefined });
    await s.line('経費精算の締め切りはいつ？');
    a.close();
    expect(seen).toHaveLength(1);
    expect(seen[0].quote?.strength).toBe(10);
    expect(seen[0].quote?.texts.length).toBe(s.lastSources.length);
    expect(seen[0].quote?.texts[0]).toBe(s.lastSources[0].text);
    expect(seen[0].messages[0].content).toContain(seen[0].quote!.texts[0]);
  });

  it('reports an unreachable provider and keeps going', async () => {
    fs.writeFileSync(path.join(home, 'assistants', 'down.yaml'), 'provider: { kind: openai, model: m, url: "http://127.0.0.1:9/v1", retries: 0 }\n');
    const a = resolveAssistant('down', { home });
    const notes: string[] = [];
    const s = new Conversation(a, 'u', { text: () => undefined, note: (n) => notes.push(n) });
    expect(await s.line('hello')).toBe(true);
    expect(notes.join('\n')).toContain('error[E_PROVIDER_UNREACHABLE]');
    expect(s.history).toEqual([]);
    a.close();
  });

  it('fails at once on a missing key, a missing knowledge base or a broken template', () => {
    fs.writeFileSync(path.join(home, 'assistants', 'nokey.yaml'), 'provider: { kind: gemini, model: m, key_env: SHITATE_TEST_UNSET_KEY }\n');
    expect(() => resolveAssistant('nokey', { home })).toThrow(expect.objectContaining({ code: 'E_PROVIDER_KEY' }));
    const local = 'provider: { kind: openai, model: m, url: "http://127.0.0.1:9/v1" }';
    fs.writeFileSync(path.join(home, 'assistants', 'nokb.yaml'), `${local}\nknowledge: [nothing-here]\n`);
    expect(() => resolveAssistant('nokb', { home })).toThrow(expect.objectContaining({ code: 'E_KB_NOT_FOUND', hint: expect.stringContaining('kb add nothing-here') }));
    fs.writeFileSync(path.join(home, 'assistants', 'badtpl.yaml'), `${local}\ninstructions: "{{ who }}"\n`);
    expect(() => resolveAssistant('badtpl', { home })).toThrow(/unknown variable \{\{ who \}\}/);
  });
});
