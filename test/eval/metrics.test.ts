// Each answer metric on hand-worked cases, Japanese included: normalisation (NFKC, width, case, spaces,
// punctuation), exact match, character F1, ROUGE-L on characters, pairwise consistency, and the ranking
// of questions from the largest improvement to the largest regression.
import { describe, expect, it } from 'vitest';
import { charF1, exactMatch, lcsLength, mean, meanPairwiseSimilarity, normalizeAnswer, rougeLChars } from '../../src/eval/metrics.js';
import { compare, summarize } from '../../src/eval/summary.js';
import type { AnswerResult, QuestionReport } from '../../src/eval/types.js';

describe('normalizeAnswer', () => {
  it('folds full-width digits and letters, half-width katakana, case, whitespace and punctuation', () => {
    expect(normalizeAnswer('返品は３０日以内です。')).toBe('返品は30日以内です');
    expect(normalizeAnswer('ＡＢＣ　ｄｅｆ！')).toBe('abcdef');
    expect(normalizeAnswer('ｶﾞｲﾄﾞ')).toBe('ガイド');
    expect(normalizeAnswer(' Hello,  World! \n')).toBe('helloworld');
    expect(normalizeAnswer('「はい」、そうです…')).toBe('はいそうです');
  });
});

describe('exactMatch', () => {
  it('matches after normalisation and only then', () => {
    expect(exactMatch('返品は30日以内です', '返品は３０日以内です。')).toBe(true);
    expect(exactMatch('Paris.', 'paris')).toBe(true);
    expect(exactMatch('返品は14日以内です', '返品は30日以内です')).toBe(false);
  });
});

describe('charF1', () => {
  it('is 1 for answers equal after normalisation (full-width digits, final 。)', () => {
    expect(charF1('返品は30日以内です', '返品は３０日以内です。')).toBe(1);
  });

  it('counts shared characters: 8 of 10 on each side gives 0.8', () => {
    // 返品は|30|日以内です vs 返品は|14|日以内です: 8 characters in common, P = R = 8/10
    expect(charF1('返品は30日以内です', '返品は14日以内です')).toBeCloseTo(0.8, 12);
  });

  it('uses multiset overlap with unequal lengths', () => {
    // answer "aab" (3), reference "ab" (2): overlap min(2,1)+min(1,1) = 2; P = 2/3, R = 1, F1 = 0.8
    expect(charF1('aab', 'ab')).toBeCloseTo(0.8, 12);
    // 営業時間は9時から (9 chars, 時 twice) vs 9時から18時 (7 chars, 時 twice): overlap 9 + 時時 + か + ら = 5;
    // P = 5/9, R = 5/7, F1 = 2PR / (P + R) = 0.625
    expect(charF1('営業時間は9時から', '9時から18時')).toBeCloseTo(0.625, 12);
  });

  it('handles empty texts: both empty is a match, one empty scores 0', () => {
    expect(charF1('', '')).toBe(1);
    expect(charF1('。', '')).toBe(1);
    expect(charF1('', '答え')).toBe(0);
    expect(charF1('xyz', '答え')).toBe(0);
  });
});

describe('ROUGE-L on characters', () => {
  it('finds the longest common subsequence', () => {
    expect(lcsLength([...'返品は30日以内です'], [...'返品は14日以内です'])).toBe(8);
    expect(lcsLength([...'abcbdab'], [...'bdcaba'])).toBe(4);
    expect(lcsLength([], [...'abc'])).toBe(0);
  });

  it('scores order, unlike char F1', () => {
    expect(charF1('abc', 'cba')).toBe(1);
    expect(rougeLChars('abc', 'cba')).toBeCloseTo(1 / 3, 12); // LCS 1: P = R = 1/3
    expect(rougeLChars('返品は30日以内です', '返品は３０日以内です。')).toBe(1);
    expect(rougeLChars('返品は30日以内です', '返品は14日以内です')).toBeCloseTo(0.8, 12);
  });

  it('uses unequal precision and recall', () => {
    // answer 30日以内なら返品できます (13 chars) vs reference 返品できます (6): LCS 6, P = 6/13, R = 1
    const p = 6 / 13;
    expect(rougeLChars('30日以内なら返品できます。', '返品できます。')).toBeCloseTo((2 * p) / (p + 1), 12);
    expect(rougeLChars('𠮷野家', '吉野家')).toBeCloseTo(2 / 3, 12); // a non-BMP character is one character
  });
});

describe('consistency and means', () => {
  it('averages ROUGE-L over every pair of samples', () => {
    expect(meanPairwiseSimilarity(['はい', 'はい', 'はい'])).toBe(1);
    // pairs: (ab, ab) = 1, (ab, cd) = 0, (ab, cd) = 0 -> 1/3
    expect(meanPairwiseSimilarity(['ab', 'ab', 'cd'])).toBeCloseTo(1 / 3, 12);
    expect(meanPairwiseSimilarity(['only one'])).toBeNull();
  });

  it('skips nulls in means', () => {
    expect(mean([1, null, 3])).toBe(2);
    expect(mean([null])).toBeNull();
  });
});

function answer(o: Partial<AnswerResult>): AnswerResult {
  return { loss: 1, lossTokens: 10, answer: '', answerTokens: 3, finishReason: 'stop', maxTokens: 32, exact: false, charF1: 0, rougeL: 0,
    chars: 3, samples: [], consistency: null, judge: null, ...o };
}

describe('summaries and comparisons', () => {
  it('weights the loss by reference tokens and computes rates', () => {
    const s = summarize('x', null, [answer({ loss: 1, lossTokens: 1, exact: true }), answer({ loss: 2, lossTokens: 3, finishReason: 'length' })]);
    expect(s.loss).toBeCloseTo((1 * 1 + 2 * 3) / 4, 12);
    expect(s.perplexity).toBeCloseTo(Math.exp(7 / 4), 10);
    expect(s.exactMatch).toBe(0.5);
    expect(s.stopRate).toBe(0.5);
    expect(s.consistency).toBeNull();
  });

  it('ranks questions from the largest improvement to the largest regression; a lower loss alone is no improvement', () => {
    const q = (index: number, base: number, tuned: number, baseLoss = 1, tunedLoss = 1): QuestionReport => ({
      index, line: index + 1, question: `q${index}`, messages: null, reference: 'r', referenceChars: 1,
      results: { base: answer({ rougeL: base, loss: baseLoss, answer: `b${index}` }), t: answer({ rougeL: tuned, loss: tunedLoss, answer: `t${index}` }) },
    });
    const qs = [q(0, 0.5, 0.6), q(1, 0.2, 0.9), q(2, 0.5, 0.1), q(3, 0.5, 0.4), q(4, 0.3, 0.3), q(5, 0.3, 0.3, 2, 1)];
    const c = compare(qs, 't', 'base');
    expect(c.improved.map((d) => d.index)).toEqual([1, 0]);
    expect(c.regressed.map((d) => d.index)).toEqual([2, 3]);
    expect(c.unchanged.map((d) => d.index)).toEqual([5, 4]);
    expect(c.delta.rougeL).toBeCloseTo((0.6 + 0.9 + 0.1 + 0.4 + 0.3 + 0.3 - (0.5 + 0.2 + 0.5 + 0.5 + 0.3 + 0.3)) / 6, 12);
  });
});
