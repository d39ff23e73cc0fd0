// Passages shortened for a prompt: split at Japanese and Western sentence ends without losing a character,
// cut to the budget around the sentence that matches the question, whole sentences only while one fits.
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ELLIPSIS, fitText, splitClauses, splitSentences } from '../../src/assistants/sentences.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';

const MINI = path.join(import.meta.dirname, '..', '..', 'models', 'shitate-mini');
const chars = (s: string): number => [...s].length;

const FAQ = '質問: 注文を取り消したいです。 / 回答: 発送前であればマイページから取り消せます。発送後は返品の手続きとなります。\n\n' +
  '質問: 送料はいくらですか？ / 回答: 送料は全国一律550円（税込）です。5,500円以上のご注文で無料になります！ / 分類: 配送\n\n' +
  '質問: 領収書は出せますか？ / 回答: はい、マイページから発行できます。';

describe('splitSentences', () => {
  it('ends sentences at 。！？ and at . ! ? before a space, keeping numbers and closing brackets whole', () => {
    expect(splitSentences('送料は550円です。無料ですか？はい！「本当。」そうです')).toEqual(['送料は550円です。', '無料ですか？', 'はい！', '「本当。」', 'そうです']);
    expect(splitSentences('Version 5.5 is out. See example.com! Is it "good?" Yes.\nNext line'))
      .toEqual(['Version 5.5 is out. ', 'See example.com! ', 'Is it "good?" ', 'Yes.\n', 'Next line']);
    expect(splitClauses('はい、マイページから、発行できます。')).toEqual(['はい、', 'マイページから、', '発行できます。']);
  });

  it('gives back the text exactly when joined', () => {
    const text = fc.array(fc.oneof(fc.constantFrom('。', '！', '？', '. ', '.', '!', '\n', '」', ' ', '、'), fc.string({ maxLength: 6 })), { maxLength: 30 })
      .map((parts) => parts.join(''));
    fc.assert(fc.property(text, (t) => {
      const parts = splitSentences(t);
      expect(parts.join('')).toBe(t);
      expect(parts.every((p) => p.length > 0)).toBe(true);
    }));
  });
});

describe('fitText', () => {
  it('returns the text unchanged when it fits', () => {
    expect(fitText(FAQ, '送料', chars(FAQ), chars)).toBe(FAQ);
  });

  it('keeps the sentence that matches the question, then the ones after it, marking what was left out', () => {
    const out = fitText(FAQ, '送料はいくらですか？', 60, chars)!;
    expect(chars(out)).toBeLessThanOrEqual(60);
    expect(out.startsWith(ELLIPSIS)).toBe(true);
    expect(out).toContain('質問: 送料はいくらですか？ / 回答: 送料は全国一律550円（税込）です。');
    expect(out).not.toContain('取り消');
  });

  it('cuts only at sentence ends while a sentence fits, then at clauses, then by characters', () => {
    const sentences = splitSentences(FAQ).map((s) => s.trim());
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.constantFrom('送料', '領収書', '取り消したい', 'unrelated'), (budget, q) => {
      const out = fitText(FAQ, q, budget, chars);
      if (out === null) return;
      expect(chars(out)).toBeLessThanOrEqual(budget);
      const inner = out.replace(/^…|…$/g, '');
      expect(FAQ).toContain(inner);
      const wholeSentences = splitSentences(inner).map((s) => s.trim());
      if (wholeSentences.length > 1) expect(wholeSentences.every((s) => sentences.includes(s))).toBe(true);
    }));
    expect(fitText('一二三四五六七八九十', 'x', 5, chars)).toBe('一二三四…');
    expect(fitText(FAQ, '送料', 0, chars)).toBeNull();
  });

  it('fits the model\'s own token count', () => {
    const tok = loadTokenizer(MINI);
    const count = (s: string): number => tok.encode(s, { addSpecialTokens: false }).length;
    for (const budget of [20, 45, 80]) {
      const out = fitText(FAQ, '送料はいくらですか？', budget, count)!;
      expect(count(out)).toBeLessThanOrEqual(budget);
      expect(out).toContain('送料');
    }
  });
});
