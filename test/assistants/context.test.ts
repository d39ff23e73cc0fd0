// Assistants on the bundled 512-token model with the sample FAQ as knowledge: `assistant new` and `show`
// print the budgets and refuse a profile with no room for a message; every turn of a conversation fits the
// context (counted with the model's tokenizer and chat template) and carries the best-ranked passage; a long
// history goes oldest first, with a note; and the first question of the first chat is answered, in the library
// and through the real `shitate assistant chat`.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, resolveAssistant, type ResolvedAssistant } from '../../src/assistants/index.js';
import { cli } from './in-process.js';
import { chatPrompt } from '../../src/generate/index.js';
import type { ChatEvent, ChatMessage, ChatRequest, Provider } from '../../src/providers/index.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { runCli } from '../cli/run-cli.js';
import { bestPassage, faqHome, MINI, QUESTIONS } from './faq-home.js';

let home: string;
const tok = loadTokenizer(MINI);
const CONTEXT = 512;
const REPLY = 128; // a quarter of the context: the default reply room on this model

beforeAll(async () => {
  home = await faqHome();
  process.env.SHITATE_HOME = home;
});
afterAll(() => {
  delete process.env.SHITATE_HOME;
  fs.rmSync(home, { recursive: true, force: true });
});

/** Answers with a long fixed text and records what it was sent, so history grows fast. */
function recordingProvider(sent: ChatMessage[][]): Provider {
  return {
    kind: 'local', model: 'recorder', countTokens: (t) => tok.encode(t).length,
    async *chat(req: ChatRequest): AsyncGenerator<ChatEvent> {
      sent.push([...req.messages]);
      yield { type: 'text', text: 'ご質問ありがとうございます。担当より詳しくご案内いたしますので、少々お待ちください。'.repeat(3) };
      yield { type: 'done', finishReason: 'stop', usage: null };
    },
  };
}

const promptTokens = (messages: readonly ChatMessage[]): number => chatPrompt(tok, messages).length;
const unmark = (s: string): string[] => s.split('…').map((p) => p.trim()).filter(Boolean);

describe('assistant new and show on the 512-token model', () => {
  it('print the budgets of the model, and refuse a system prompt longer than the context', async () => {
    const made = await cli(['assistant', 'new', 'support', '--provider', 'local', '--model', MINI, '--kb', 'faq', '--memory', '--language', 'ja']);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('context 512 tokens (max_position_embeddings), counted with its tokenizer and chat template');
    expect(made.stdout).toMatch(/reply\s+128 /);
    expect(made.stdout).toMatch(/knowledge\s+\d{3} .*knowledge\.budget_tokens 1500 does not fit/);
    const shown = await cli(['assistant', 'show', 'support']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/system prompt\s+\d+ /);

    const big = await cli(['assistant', 'new', 'big', '--provider', 'local', '--model', MINI, '--instructions', '丁寧に答えてください。'.repeat(60)]);
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/error\[E_CONTEXT\]: assistant "big": the reply keeps 128 tokens and the system prompt takes \d+: \d+ before any message; expected at most 480/);
    expect(fs.existsSync(path.join(home, 'assistants', 'big.yaml'))).toBe(false);
    // a hand-written profile like it is refused when it is opened
    fs.writeFileSync(path.join(home, 'assistants', 'big.yaml'), `instructions: "${'丁寧に答えてください。'.repeat(60)}"\nprovider: { kind: local, model: "${MINI}" }\n`);
    expect(() => resolveAssistant('big', { home })).toThrow(expect.objectContaining({ code: 'E_CONTEXT' }));
    expect((await cli(['assistant', 'show', 'big'])).code).toBe(1);
    // a reply that takes nearly all of the context is refused the same way
    const greedy = await cli(['assistant', 'new', 'greedy', '--provider', 'local', '--model', MINI, '--max-tokens', '500']);
    expect(greedy.stderr).toContain('lower generation.max_tokens');
  });
});

describe('a conversation on the 512-token model', () => {
  let a: ResolvedAssistant;
  const sent: ChatMessage[][] = [];
  beforeAll(() => {
    a = resolveAssistant('support', { home, provider: recordingProvider(sent) });
  });
  afterAll(() => a.close());

  it('fits the first question with the best-ranked passage (its FAQ row, whole), and the next ones that fit', async () => {
    const t = await a.prepare([{ role: 'user', content: '送料はいくらですか？' }], { userId: 'u1' });
    expect(promptTokens(t.messages) + REPLY).toBeLessThanOrEqual(CONTEXT);
    expect(t.plan.promptTokens).toBe(promptTokens(t.messages));
    const best = await bestPassage(home, '送料はいくらですか？');
    expect(t.sources[0].cite).toBe(best.cite);
    expect(t.sources[0].cite).toMatch(/faq\.csv, row \d+$/);
    for (const piece of unmark(t.sources[0].text)) expect(best.text).toContain(piece);
    expect(t.messages[0].content).toContain('送料は全国一律550円（税込）です。');
    expect(t.plan.knowledge.kept).toBeGreaterThanOrEqual(1);
    expect(t.plan.knowledge).toMatchObject({ dropped: 5 - t.plan.knowledge.kept, limit: 'context' });
  });

  it('keeps every turn within the context with its best passage, trimming the oldest messages first', async () => {
    const notes: string[] = [];
    const conv = new Conversation(a, 'u2', { text: () => undefined, note: (n) => notes.push(n) });
    for (const q of QUESTIONS) {
      await conv.line(q);
      const messages = sent[sent.length - 1];
      expect(promptTokens(messages) + REPLY).toBeLessThanOrEqual(CONTEXT);
      expect(messages[messages.length - 1]).toEqual({ role: 'user', content: q });
      const kept = messages.slice(1, -1);
      expect(kept).toEqual(conv.history.slice(conv.history.length - 2 - kept.length, conv.history.length - 2));
      expect(messages[0].content).toContain(`[1] ${(await bestPassage(home, q)).cite}`);
    }
    expect(conv.history.length).toBe(2 * QUESTIONS.length);
    expect(notes.some((n) => /^\[left out the \d+ oldest messages of this conversation to fit the model's context of 512 tokens/.test(n))).toBe(true);
    expect(notes.filter((n) => /^\[used [1-4] of 5 retrieved passages/.test(n)).length).toBe(QUESTIONS.length);
  });

  it('refuses a message longer than the context, naming the numbers', async () => {
    await expect(a.prepare([{ role: 'user', content: '送料について。'.repeat(120) }])).rejects.toMatchObject({
      code: 'E_CONTEXT', message: expect.stringMatching(/^the message needs \d+ tokens, with the system prompt's \d+ and the reply's 128: \d+ in all; expected at most the model's context of 512/),
    });
  });
});

describe('the first chat on the bundled model', () => {
  it('answers the first question, in the library and through `shitate assistant chat`', async () => {
    const a = resolveAssistant('support', { home });
    const out: string[] = [];
    const notes: string[] = [];
    try {
      await new Conversation(a, 'first', { text: (t) => out.push(t), note: (n) => notes.push(n) }).line('送料はいくらですか？');
    } finally {
      a.close();
    }
    expect(notes.filter((n) => n.startsWith('error['))).toEqual([]);
    expect(out.join('').trim().length).toBeGreaterThan(0);
    expect(notes.some((n) => n.startsWith('sources: [1] '))).toBe(true);

    const r = await runCli(['assistant', 'chat', 'support'], { input: '送料はいくらですか？\n', env: { SHITATE_HOME: home } });
    expect(r.stderr).not.toContain('error[');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/\[used [1-4] of 5 retrieved passages/);
  }, 120_000);
});
