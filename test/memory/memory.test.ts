// Long-term memory: users never see each other's facts, deletion removes the bytes from disk, the prompt
// budget is respected, and requests to remember are recognised in Japanese and English.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { explicitFact, extractFacts, MemoryStore, parseFacts, selectMemories, type MemoryItem } from '../../src/memory/index.js';
import { createProvider, estimateTokens } from '../../src/providers/index.js';
import { ShitateError } from '../../src/errors.js';
import { tempDir } from '../helpers/tiny-model.js';
import { openaiCompatible, startServer, type FakeServer } from '../providers/fake-server.js';

let server: FakeServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('isolation', () => {
  it('never shows, shares or deletes another user\'s facts', () => {
    const store = MemoryStore.open(tempDir('shitate-mem-'));
    const alice = store.forUser('alice', 'support');
    const bob = store.forUser('bob', 'support');
    const a1 = alice.add('好きな飲み物は緑茶')!;
    alice.add('works in the Osaka office');
    bob.add('prefers English');
    expect(alice.list().map((m) => m.text)).toEqual(['好きな飲み物は緑茶', 'works in the Osaka office']);
    expect(bob.list().map((m) => m.text)).toEqual(['prefers English']);
    expect(store.forUser('bob', null).list().every((m) => m.userId === 'bob')).toBe(true);
    // bob cannot delete alice's fact by guessing its id
    expect(bob.forget([a1.id])).toBe(0);
    expect(alice.list().length).toBe(2);
    expect(bob.forgetAll()).toBe(1);
    expect(alice.list().length).toBe(2);
    store.close();
  });

  it('scopes facts per assistant, with shared facts visible to all of the user\'s assistants', () => {
    const store = MemoryStore.open(tempDir('shitate-mem-'));
    store.forUser('u', 'sales').add('sales-only fact');
    store.forUser('u', '').add('shared fact');
    expect(store.forUser('u', 'support').list().map((m) => m.text)).toEqual(['shared fact']);
    expect(store.forUser('u', 'sales').list().map((m) => m.text)).toEqual(['sales-only fact', 'shared fact']);
    expect(store.forUser('u', null).list().length).toBe(2);
    store.close();
  });

  it('refuses an empty user id and skips duplicates', () => {
    const store = MemoryStore.open(tempDir('shitate-mem-'));
    expect(() => store.forUser('  ', null)).toThrow(ShitateError);
    const m = store.forUser('u', 'a');
    expect(m.add('Likes tea.')).not.toBeNull();
    expect(m.add('likes tea')).toBeNull();
    store.close();
  });
});

describe('deletion', () => {
  it('leaves no trace of a forgotten fact in the database files', () => {
    const home = tempDir('shitate-mem-');
    const store = MemoryStore.open(home);
    const m = store.forUser('carol', 'a');
    const secret = 'パスポート番号はTZ0491837です';
    for (let i = 0; i < 50; i++) m.add(`filler fact number ${i}`);
    const s = m.add(secret)!;
    const onDisk = () => fs.readdirSync(home).filter((f) => f.startsWith('memory.sqlite'))
      .some((f) => fs.readFileSync(path.join(home, f)).includes(Buffer.from('TZ0491837')));
    store.close();
    expect(onDisk()).toBe(true); // written, so the check below can fail
    const again = MemoryStore.open(home);
    expect(again.forUser('carol', 'a').forget([s.id])).toBe(1);
    expect(onDisk()).toBe(false);
    expect(again.forUser('carol', 'a').list().length).toBe(50);
    again.close();
    expect(onDisk()).toBe(false);
  });
});

describe('prompt budget', () => {
  const items = (texts: string[]): MemoryItem[] => texts.map((text, i) => ({ id: i + 1, userId: 'u', assistant: '', text, source: 'user', createdAt: '' }));

  it('never exceeds the budget and puts related facts first', () => {
    fc.assert(fc.property(fc.array(fc.string({ minLength: 1, maxLength: 80 }), { maxLength: 30 }), fc.integer({ min: 0, max: 200 }), (texts, budget) => {
      const sel = selectMemories(items(texts), 'hello', budget, estimateTokens);
      expect(sel.tokens).toBeLessThanOrEqual(budget);
      expect(estimateTokens(sel.text)).toBeLessThanOrEqual(budget);
    }));
    const sel = selectMemories(items(['好きな飲み物は緑茶', 'works in the Osaka office', '誕生日は5月3日']), '誕生日のお祝い', 12, estimateTokens);
    expect(sel.items[0].text).toBe('誕生日は5月3日');
  });
});

describe('what to remember', () => {
  it('recognises requests in English and Japanese and keeps only the fact', () => {
    expect(explicitFact('Remember that I prefer metric units.')).toBe('I prefer metric units');
    expect(explicitFact('please remember: my team is QA')).toBe('my team is QA');
    expect(explicitFact('私の誕生日は5月3日です。覚えておいてください。')).toBe('私の誕生日は5月3日です。');
    expect(explicitFact('覚えておいて：私はコーヒーが苦手')).toBe('私はコーヒーが苦手');
    expect(explicitFact('私がベジタリアンだということを覚えておいて')).toBe('私がベジタリアンだ');
    expect(explicitFact('返品の期限は？')).toBeNull();
    expect(explicitFact('Do you remember the policy?')).toBeNull();
  });

  it('parses the model\'s extracted facts, and asks for them over HTTP', async () => {
    expect(parseFacts('NONE')).toEqual([]);
    expect(parseFacts('- name is Sato\n- prefers short answers\nnoise')).toEqual(['name is Sato', 'prefers short answers']);
    server = await startServer(openaiCompatible({ reply: () => '- 名前は佐藤\n- 大阪在住' }));
    const p = createProvider({ kind: 'openai', model: 'm', url: server.url });
    expect(await extractFacts(p, '佐藤です。大阪に住んでいます。', ['既知の事実'])).toEqual(['名前は佐藤', '大阪在住']);
    const sent = server.requests[0].json as { messages: { role: string; content: string }[] };
    expect(sent.messages[0].content).toContain('既知の事実');
  });
});
