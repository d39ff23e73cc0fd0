// Numbers are facts: the canonical reading of numbers (widths, thousands separators, 万/千), and the
// near-duplicate, conflict and dominant-answer checks comparing them exactly.
import path from 'node:path';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalNumbers, findNumbers, maskNumbers, numbersKey } from '../../src/data/numbers.js';
import { prepare } from '../../src/data/prepare.js';
import { check, cleanFaq, codes, csv, problem, tempDir } from './helpers.js';

const HEAD = ['質問', '回答', '分類'];
const nums = (s: string): string[] => findNumbers(s.normalize('NFKC')).map((n) => n.value);

describe('reading numbers', () => {
  it('folds widths, thousands separators and 万/千/百/億', () => {
    expect(nums('１，０００円')).toEqual(['1000']);
    expect(nums('1,000円と1000円')).toEqual(['1000', '1000']);
    expect(nums('1万円 / 10,000円 / 1.0万円')).toEqual(['10000', '10000', '10000']);
    expect(nums('1万2千円 / 1万2000円 / 1.2万円 / 12,000円')).toEqual(['12000', '12000', '12000', '12000']);
    expect(nums('3千5百円')).toEqual(['3500']);
    expect(nums('1億2000万3000人')).toEqual(['120003000']);
    expect(nums('2024年1月15日')).toEqual(['2024', '1', '15']);
  });

  it('keeps what tells numbers apart: decimals, list commas, leading zeros of codes', () => {
    expect(nums('1.5 と 15')).toEqual(['1.5', '15']);
    expect(nums('1,2,3')).toEqual(['1', '2', '3']);
    expect(nums('03-1234-5678')).toEqual(['03', '1234', '5678']);
    expect(numbersKey('送料は500円')).not.toBe(numbersKey('送料は520円'));
  });

  it('rewrites and masks in place', () => {
    expect(canonicalNumbers('価格は1万円、送料は1,000円')).toBe('価格は10000円、送料は1000円');
    expect(maskNumbers('商品7の送料は全国一律507円です。')).toBe('商品#の送料は全国一律#円です。');
  });
});

describe('checks compare numbers exactly', () => {
  it('60 answers with the same wording and different prices are different answers, not one dominating answer', async () => {
    const rows = Array.from({ length: 60 }, (_, n) => [`商品${n + 1}の送料はいくらですか？`, `商品${n + 1}の送料は全国一律${500 + n + 1}円です。`, '配送']);
    const extra = cleanFaq(3).map(([q, a]) => [q, a, '返品']);
    const { report } = await check('faq.csv', csv([HEAD, ...rows, ...extra]), { lang: 'en' });
    expect(codes(report)).not.toContain('template_dominance');
    expect(codes(report)).not.toContain('near_duplicate');
    expect(codes(report)).not.toContain('duplicate');
    const note = problem(report, 'template_numbers');
    expect(note?.title).toBe('Same wording, different numbers');
    expect(note?.occurrences[0].message).toContain('95.2% of the examples (60) answer with the same wording and different numbers');
    const ja = (await check('faq.csv', csv([HEAD, ...rows, ...extra]), { lang: 'ja' })).report;
    expect(problem(ja, 'template_numbers')?.title).toBe('同じ文面で数字だけが違う回答');
  });

  it('the same question answered with the same wording and another number is a conflict, kept by --dedup', async () => {
    const base = cleanFaq(30);
    const rows = [...base, ['送料はいくらですか？', '送料は全国一律500円です。お届けは3日後です。', '配送'], ['送料はいくらですか？', '送料は全国一律520円です。お届けは3日後です。', '配送'],
      ['手数料はいくらですか', '手数料は1,000円です。', '支払い'], ['手数料はいくらですか？', '手数料は１０００円です。', '支払い']];
    const c = await check('faq.csv', csv([HEAD, ...rows]), { lang: 'en' });
    const r = c.report;
    const conflict = problem(r, 'number_conflict');
    expect(conflict?.occurrences.map((o) => [o.n, o.related?.n])).toEqual([[33, 32]]);
    expect(conflict?.occurrences[0].message).toContain('different numbers: 520, 3 here, 500, 3 there');
    // the same price written two ways is the same answer: a near-duplicate
    expect(problem(r, 'near_duplicate')?.occurrences.map((o) => [o.n, o.related?.n])).toEqual([[35, 34]]);
    const outDir = tempDir('shitate-numbers-');
    prepare(c, { outDir, valRatio: 0, seed: 1, dedup: true, redactPii: false, skipInvalid: false });
    const written = fs.readFileSync(path.join(outDir, 'train.jsonl'), 'utf8');
    expect(written).toContain('500円');
    expect(written).toContain('520円');
    expect(written.split('\n').filter(Boolean)).toHaveLength(33);
  });

  it('questions that differ only in a decimal or a 万 are different questions', async () => {
    const rows = [...cleanFaq(30), ['プラン1.5の料金はいくらですか', '月額1000円です。', 'x'], ['プラン15の料金はいくらですか', '月額1000円です。', 'x'],
      ['10万円の商品の送料は', '無料です。', 'x'], ['100000円の商品の送料は', '無料です。', 'x']];
    const { report } = await check('faq.csv', csv([HEAD, ...rows]));
    expect(problem(report, 'near_duplicate')?.occurrences.map((o) => [o.n, o.related?.n])).toEqual([[35, 34]]);
  });
});
