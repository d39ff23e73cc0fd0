// The prompt planner on a window whose counts are easy to follow (one token per character, a fixed cost per
// message): the priority order, the room kept for the best passage, trimming oldest first, the refusals with
// their numbers, and — for any conversation — a prompt that fits with the latest message in it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planPrompt, type ContextWindow, type Passage, type PlanInput } from '../../src/assistants/index.js';
import type { MemoryItem } from '../../src/memory/index.js';
import type { ChatMessage } from '../../src/providers/index.js';

const chars = (s: string): number => [...s].length;
/** ChatML-like: "<|im_start|>role\n" + content + "<|im_end|>\n" costs 3 + content; the reply's opening 2 */
const window = (tokens: number): ContextWindow => ({
  tokens, source: 'test', exact: true, defaultAnswer: 16, countText: chars,
  countChat: (ms) => ms.reduce((s, m) => s + 3 + chars(m.content), 2),
  withTemplateVars: () => window(tokens),
  systemRole: 'native',
  shape: (ms) => [...ms],
});

const passage = (doc: string, text: string): Passage => ({ kb: 'faq', doc, cite: doc, text, whole: false });
const fact = (id: number, text: string): MemoryItem => ({ id, text, source: 'user', createdAt: '2025-01-01' }) as MemoryItem;
const user = (content: string): ChatMessage => ({ role: 'user', content });
const bot = (content: string): ChatMessage => ({ role: 'assistant', content });

function input(o: Partial<PlanInput> & { tokens?: number }): PlanInput {
  return {
    window: window(o.tokens ?? 400), answer: 50, head: 'あなたはサポート担当です。', tail: '',
    memoryHeading: '## 記憶', memorySection: (l) => (l ? `## 記憶\n${l}` : ''),
    knowledgeHeading: '## 資料', knowledgeSection: (s) => (s.length ? `## 資料\n\n${s.map((x) => `[${x.n}] ${x.cite}\n${x.text}`).join('\n\n')}` : ''),
    turns: [user('送料は？')], query: '送料は？', memories: [], memoryBudget: 300, passages: [], knowledgeBudget: 1500, ...o,
  };
}

const total = (x: PlanInput, messages: ChatMessage[]): number => x.window.countChat(messages) + x.answer;
const long = (n: number, s = 'あ'): string => s.repeat(n);
const SHIPPING = passage('shipping.md', `送料は全国一律550円です。${long(150, 'い')}。`);
const RETURNS = passage('returns.md', `返品は30日以内です。${long(100, 'う')}。`);

describe('planPrompt', () => {
  it('keeps everything when it fits, and says nothing was cut', () => {
    const x = input({ passages: [SHIPPING], memories: [fact(1, '名前は佐藤')], tokens: 2000 });
    const p = planPrompt(x);
    expect(p.messages[0].content).toContain('名前は佐藤');
    expect(p.messages[0].content).toContain(SHIPPING.text);
    expect(p.report).toMatchObject({ history: { dropped: 0 }, memory: { kept: 1, dropped: 0, limit: null }, knowledge: { kept: 1, dropped: 0, shortened: 0, limit: null } });
    expect(p.report.promptTokens).toBe(x.window.countChat(p.messages));
  });

  it('shortens the best passage and drops lower-ranked ones to fit the context', () => {
    const x = input({ passages: [SHIPPING, RETURNS], tokens: 200 });
    const p = planPrompt(x);
    expect(total(x, p.messages)).toBeLessThanOrEqual(200);
    expect(p.sources.map((s) => s.doc)).toEqual(['shipping.md']);
    expect(p.sources[0].text.startsWith('送料は全国一律550円です。')).toBe(true);
    expect(p.report.knowledge).toEqual({ kept: 1, dropped: 1, shortened: 1, limit: 'context' });
  });

  it('says when knowledge.budget_tokens, not the context, left passages out', () => {
    const p = planPrompt(input({ passages: [SHIPPING, RETURNS], tokens: 4000, knowledgeBudget: 200 }));
    expect(p.report.knowledge).toMatchObject({ kept: 1, dropped: 1, limit: 'budget' });
  });

  it('trims a long history oldest first, whole exchanges only, and keeps room for the best passage', () => {
    const turns = [...Array.from({ length: 12 }, (_, i) => [user(`質問${i} ${long(20)}`), bot(`回答${i} ${long(20)}`)]).flat(), user('送料は？')];
    const x = input({ turns, passages: [SHIPPING], tokens: 400 });
    const p = planPrompt(x);
    expect(total(x, p.messages)).toBeLessThanOrEqual(400);
    const kept = p.messages.slice(1);
    expect(kept).toEqual(turns.slice(turns.length - kept.length)); // a suffix: the newest messages
    expect(kept[0].role).toBe('user');
    expect(kept.length).toBeGreaterThan(1);
    expect(p.report.history.dropped).toBe(turns.length - kept.length);
    expect(p.report.history.dropped).toBeGreaterThan(0);
    expect(p.messages[0].content).toContain('送料は全国一律550円です。');
  });

  it('puts history before memory and memory before knowledge, past the floors kept for the best fact and passage', () => {
    const turns = [user(long(30, 'か')), bot(long(30, 'き')), user('送料は？')];
    const memories = [fact(2, '送料について質問したことがある'), fact(1, long(80, 'く'))];
    const manySentences = passage('shipping.md', Array.from({ length: 30 }, (_, i) => `送料の説明${String(i).padStart(2, '0')}です。`).join(''));
    const x = input({ turns, memories, passages: [manySentences], tokens: 330 });
    const p = planPrompt(x);
    expect(total(x, p.messages)).toBeLessThanOrEqual(330);
    expect(total(x, p.messages)).toBeGreaterThan(330 - 12); // the room is used, up to a sentence
    expect(p.messages.length).toBe(4); // the earlier exchange is in
    expect(p.memories.map((m) => m.id)).toEqual([2]); // the long fact would take the knowledge's room
    expect(p.report.memory.limit).toBe('context');
    // knowledge got what history and memory left, more than the half kept for it
    expect(chars(p.sources[0].text)).toBeGreaterThan(130);
    // with a longer conversation, the floor keeps knowledge in and history goes first
    const busy = input({ ...x, turns: [user(long(80, 'か')), bot(long(80, 'き')), user('送料は？')] });
    const q = planPrompt(busy);
    expect(q.messages.length).toBe(2);
    expect(q.report.history.dropped).toBe(2);
    expect(q.sources.length).toBe(1);
  });

  it('refuses a system prompt that leaves no room, and a message too long, with the numbers', () => {
    expect(() => planPrompt(input({ head: long(500), tokens: 512 }))).toThrow(expect.objectContaining({
      code: 'E_CONTEXT', message: expect.stringMatching(/system prompt is 508 tokens and the reply keeps 50: 558 in all; expected less than the model's context of 512/),
    }));
    expect(() => planPrompt(input({ turns: [user(long(500))], tokens: 512 }))).toThrow(expect.objectContaining({
      code: 'E_CONTEXT', message: expect.stringContaining('the message needs 500 tokens'), hint: expect.stringContaining('shorten the message'),
    }));
  });

  it('fits any conversation that can fit, with its latest message and its best passage', () => {
    const msg = fc.string({ minLength: 1, maxLength: 80 });
    const conv = fc.array(fc.tuple(msg, msg), { maxLength: 10 }).chain((pairs) => msg.map((last) => [...pairs.flatMap(([q, a]) => [user(q), bot(a)]), user(last)]));
    const passages = fc.array(fc.string({ minLength: 1, maxLength: 300 }), { maxLength: 5 }).map((ts) => ts.map((t, i) => passage(`d${i}`, t)));
    const facts = fc.array(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 6 }).map((ts) => ts.map((t, i) => fact(i + 1, t)));
    fc.assert(fc.property(conv, passages, facts, fc.integer({ min: 260, max: 900 }), (turns, ps, ms, tokens) => {
      const x = input({ turns, passages: ps, memories: ms, tokens, query: turns[turns.length - 1].content });
      const p = planPrompt(x);
      expect(total(x, p.messages)).toBeLessThanOrEqual(tokens);
      expect(p.messages[p.messages.length - 1]).toEqual(turns[turns.length - 1]);
      const kept = p.messages.slice(1);
      expect(kept).toEqual(turns.slice(turns.length - kept.length));
      if (ps.length) expect(p.sources[0]?.doc).toBe('d0');
    }), { numRuns: 200 });
  });
});
