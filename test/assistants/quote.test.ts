// Quoting retrieved sources (source-anchored decoding) as assistants carry it: the profile's knowledge.quote,
// `assistant new --quote`, what a turn's reply may quote, and the local engine's generation steered by it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groundingProfile, parseProfile, profileToYaml, quotable, quoteOf } from '../../src/assistants/index.js';
import { chatPrompt, generateText, openModel } from '../../src/generate/index.js';
import { modelDir } from '../generate/model-dir.js';
import { tempDir } from '../helpers/tiny-model.js';
import { cli } from './in-process.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('knowledge.quote in a profile', () => {
  const yaml = (quote: unknown) => `name: s\nprovider: { kind: local, model: m }\nknowledge: { bases: [faq], quote: ${JSON.stringify(quote)} }\n`;

  it('reads and writes it, 0 (off) by default', () => {
    const p = parseProfile('s', yaml(10), 's.yaml');
    expect(p.knowledge.quote).toBe(10);
    expect(parseProfile('s', profileToYaml(p), 's.yaml').knowledge.quote).toBe(10);
    expect(parseProfile('s', 'name: s\nprovider: { kind: local, model: m }\nknowledge: [faq]\n', 's.yaml').knowledge.quote).toBe(0);
    expect(profileToYaml({ ...p, knowledge: { ...p.knowledge, quote: 0 } })).not.toContain('quote');
  });

  it('refuses what is not a strength, saying what it expected', () => {
    expect(() => parseProfile('s', yaml(-1), 's.yaml')).toThrow(/knowledge\.quote: expected a number from 0 to 100, found -1/);
    expect(() => parseProfile('s', yaml('high'), 's.yaml')).toThrow(/knowledge\.quote: expected a number from 0 to 100, found "high"/);
  });
});

describe('what a reply may quote', () => {
  const faqEntry = { text: '質問: 送料は？\n回答: 全国一律550円です。', quote: '全国一律550円です。' };
  const cut = { text: '質問: 送料は？\n回答: 全国一律5', quote: '全国一律550円です。' };
  const passage = { text: 'A passage of a manual.' };

  it('is a FAQ entry\'s answer where the prompt holds it whole, else the passage as the prompt holds it', () => {
    expect(quotable([faqEntry, cut, passage])).toEqual(['全国一律550円です。', '質問: 送料は？\n回答: 全国一律5', 'A passage of a manual.']);
  });

  it('only with a local model, a strength above 0 and sources', () => {
    const local = groundingProfile('m', { bases: ['faq'], language: 'ja', quote: 10 });
    expect(quoteOf(local, [faqEntry])).toEqual({ texts: ['全国一律550円です。'], strength: 10 });
    expect(quoteOf(local, [])).toBeNull();
    expect(quoteOf({ ...local, knowledge: { ...local.knowledge, quote: 0 } }, [faqEntry])).toBeNull();
    expect(quoteOf({ ...local, provider: { kind: 'openai', model: 'gpt' } }, [faqEntry])).toBeNull();
  });
});

describe('assistant new --quote', () => {
  it('writes knowledge.quote for a local model and refuses it for a hosted one', async () => {
    const home = tempDir('shitate-quote-home-');
    dirs.push(home);
    process.env.SHITATE_HOME = home;
    try {
      const ok = await cli(['assistant', 'new', 'q', '--provider', 'local', '--model', modelDir(), '--quote', '10']);
      expect(ok.stderr).not.toContain('error[');
      expect(ok.code).toBe(0);
      expect(fs.readFileSync(path.join(home, 'assistants', 'q.yaml'), 'utf8')).toMatch(/quote: 10/);
      const hosted = await cli(['assistant', 'new', 'h', '--provider', 'openai', '--model', 'gpt-4o-mini', '--quote', '10']);
      expect(hosted.code).toBe(2);
      expect(hosted.stderr).toMatch(/--quote: expected a local model/);
      const bad = await cli(['assistant', 'new', 'b', '--provider', 'local', '--model', modelDir(), '--quote', 'lots']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--quote: expected a number from 0 to 100, found "lots"/);
    } finally {
      delete process.env.SHITATE_HOME;
    }
  });
});

describe('generation with quote', () => {
  it('steers the local engine onto the quoted text, and changes nothing at strength 0', async () => {
    const dir = modelDir();
    dirs.push(dir);
    const opened = openModel(dir, { adapter: null });
    const ids = chatPrompt(opened.tokenizer, [{ role: 'user', content: 'what is the refund policy?' }], opened.templateVars);
    const text = 'Our return policy allows refunds within 30 days.';
    const free = await generateText(opened, ids, { maxNewTokens: 12 });
    const off = await generateText(opened, ids, { maxNewTokens: 12, quote: { texts: [text], strength: 0 } });
    expect(off.tokens).toEqual(free.tokens);
    const quoted = await generateText(opened, ids, { maxNewTokens: 12, quote: { texts: [text], strength: 100 } });
    const want = opened.tokenizer.encode(text, { addSpecialTokens: false });
    expect(quoted.tokens.slice(0, Math.min(12, want.length))).toEqual(want.slice(0, 12));
    expect(free.tokens).not.toEqual(quoted.tokens);
  });
});
