// Where an assistant's context comes from: max_position_embeddings for a local model, the published limit for
// a hosted one (by name, dated and routed names too), an assumed 4096 for an unknown server unless the profile
// says provider.context_tokens; and the reply's default room.
import { describe, expect, it } from 'vitest';
import {
  ASSUMED_CONTEXT, defaultAnswerTokens, formatBudgets, hostedContext, hostedWindow, localWindow, modelWindow, parseProfile, planPrompt, profileBudgets,
  profileToYaml,
} from '../../src/assistants/index.js';
import { chatPrompt } from '../../src/generate/index.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { GEMMA2, tokenizerDir, withTemplate } from '../helpers/templates.js';
import { MINI } from './faq-home.js';

describe('context windows', () => {
  it('knows hosted models by name, and assumes a small context for the rest', () => {
    expect(hostedContext('openai', 'gpt-4o-mini-2024-07-18')).toEqual({ tokens: 128_000, known: true });
    expect(hostedContext('openai', 'gpt-4.1-nano')).toEqual({ tokens: 1_047_576, known: true });
    expect(hostedContext('openai', 'gpt-4')).toEqual({ tokens: 8_192, known: true });
    expect(hostedContext('openai', 'openai/gpt-4o')).toEqual({ tokens: 128_000, known: true });
    expect(hostedContext('anthropic', 'claude-3-5-haiku-latest')).toEqual({ tokens: 200_000, known: true });
    expect(hostedContext('gemini', 'models/gemini-2.5-flash')).toEqual({ tokens: 1_048_576, known: true });
    expect(hostedContext('gemini', 'gemini-1.5-pro-002').tokens).toBe(2_097_152);
    expect(hostedContext('openai', 'qwen2.5:7b')).toEqual({ tokens: ASSUMED_CONTEXT, known: false });
  });

  it('reads a local model\'s context and counts with its template; context_tokens may only lower it', () => {
    const w = localWindow(MINI);
    expect(w).toMatchObject({ tokens: 512, exact: true, defaultAnswer: 128, source: 'max_position_embeddings' });
    expect(w.countChat([{ role: 'user', content: 'hi' }])).toBeGreaterThan(w.countText('hi')); // the template's own tokens
    expect(localWindow(MINI, 256)).toMatchObject({ tokens: 256, defaultAnswer: 64 });
    expect(() => localWindow(MINI, 1024)).toThrow(expect.objectContaining({ code: 'E_PROFILE', message: expect.stringContaining('at most') }));
  });

  it('keeps the model\'s max_new_tokens for the reply, at most a quarter of the context', () => {
    expect(defaultAnswerTokens(512, null)).toBe(128);
    expect(defaultAnswerTokens(32_768, null)).toBe(512);
    expect(defaultAnswerTokens(32_768, 1024)).toBe(1024);
    expect(defaultAnswerTokens(4096, 4096)).toBe(1024);
  });

  it('prints a hosted profile\'s budgets, estimated, and takes provider.context_tokens for an unknown server', () => {
    const yaml = 'provider: { kind: openai, model: llama3.1, url: "http://127.0.0.1:11434/v1", context_tokens: 8192 }\nknowledge: [faq]\n';
    const p = parseProfile('ollama', yaml, 'ollama.yaml');
    expect(p.contextTokens).toBe(8192);
    expect(parseProfile('ollama', profileToYaml(p), 'again.yaml').contextTokens).toBe(8192);
    const w = hostedWindow('openai', 'llama3.1', p.contextTokens);
    const b = profileBudgets(p, w, 'You are helpful.');
    expect(b).toMatchObject({ answer: 512, knowledge: 1500, memory: 0 });
    expect(formatBudgets(p, b)).toContain('context 8192 tokens (provider.context_tokens), estimated');
    const unknown = parseProfile('o', 'provider: { kind: openai, model: llama3.1, url: "http://127.0.0.1:11434/v1" }\n', 'o.yaml');
    expect(formatBudgets(unknown, profileBudgets(unknown, hostedWindow('openai', 'llama3.1'), ''))).toContain('context 4096 tokens (assumed');
    expect(() => parseProfile('x', 'provider: { kind: openai, model: m, context_tokens: 10 }\n', 'x.yaml')).toThrow(/context_tokens: expected a whole number from 64/);
  });

  it('counts a prompt as a real template renders it, with the variables a request adds (Qwen3 enable_thinking)', () => {
    const tok = loadTokenizer(tokenizerDir('qwen3'));
    const w = modelWindow({ tokenizer: tok, config: { maxPositions: 400 }, generation: { maxNewTokens: null } }, 'qwen3');
    const off = w.withTemplateVars({ enable_thinking: false });
    const ask = [{ role: 'user', content: '送料はいくらですか？' }];
    expect(off.countChat(ask)).toBe(chatPrompt(tok, ask, { enable_thinking: false }).length);
    expect(off.countChat(ask)).toBeGreaterThan(w.countChat(ask));
    const turns = [...Array.from({ length: 8 }, (_, i) => [{ role: 'user', content: `質問${i}です。`.repeat(8) }, { role: 'assistant', content: `回答${i}です。`.repeat(12) }]).flat(), ...ask];
    const plan = planPrompt({
      window: off, answer: 100, head: 'あなたはサポート担当です。', tail: '', memoryHeading: '## 記憶', memorySection: () => '',
      knowledgeHeading: '## 資料', knowledgeSection: (src) => (src.length ? `## 資料\n\n${src.map((x) => `[${x.n}] ${x.cite}\n${x.text}`).join('\n\n')}` : ''),
      turns, query: ask[0].content, memories: [], memoryBudget: 0, knowledgeBudget: 1500,
      passages: [{ kb: 'faq', doc: 'faq.csv', cite: 'faq.csv', text: '送料は全国一律550円です。'.repeat(20), whole: false }],
    });
    const rendered = chatPrompt(tok, plan.messages, { enable_thinking: false }).length;
    expect(rendered).toBe(plan.report.promptTokens);
    expect(rendered + 100).toBeLessThanOrEqual(400);
    expect(rendered + 100).toBeGreaterThan(400 - 20);
    expect(plan.report.history.dropped).toBeGreaterThan(0);
    expect(plan.sources.length).toBe(1);
  });

  it('folds the system prompt into the first kept user message for a template without a system role (Gemma 2)', () => {
    const tok = loadTokenizer(withTemplate('gemma3', GEMMA2));
    const w = modelWindow({ tokenizer: tok, config: { maxPositions: 300 }, generation: { maxNewTokens: null } }, 'gemma2');
    expect(w.systemRole).toBe('refused');
    const turns = [...Array.from({ length: 6 }, (_, i) => [{ role: 'user', content: `質問${i}です。`.repeat(6) }, { role: 'assistant', content: `回答${i}です。`.repeat(8) }]).flat(),
      { role: 'user', content: '送料は？' }];
    const plan = planPrompt({
      window: w, answer: 60, head: 'あなたはサポート担当です。', tail: '', memoryHeading: '## 記憶', memorySection: () => '',
      knowledgeHeading: '## 資料', knowledgeSection: (src) => (src.length ? `## 資料\n\n${src.map((x) => `[${x.n}] ${x.cite}\n${x.text}`).join('\n\n')}` : ''),
      turns, query: '送料は？', memories: [], memoryBudget: 0, knowledgeBudget: 1500,
      passages: [{ kb: 'faq', doc: 'faq.csv', cite: 'faq.csv', text: '送料は全国一律550円です。'.repeat(10), whole: false }],
    });
    expect(plan.messages.some((m) => m.role === 'system')).toBe(false);
    expect(plan.messages[0].role).toBe('user');
    expect(plan.messages[0].content.startsWith('あなたはサポート担当です。\n\n## 資料')).toBe(true);
    expect(plan.messages[plan.messages.length - 1].content.endsWith('送料は？')).toBe(true);
    const rendered = chatPrompt(tok, plan.messages).length;
    expect(rendered).toBe(plan.report.promptTokens);
    expect(rendered + 60).toBeLessThanOrEqual(300);
    expect(plan.report.history.dropped).toBeGreaterThan(0);
  });
});
