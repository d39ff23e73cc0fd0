// Verdicts that do not mislead: identical answers are unchanged whatever the loss did, better/worse only past
// the stated ROUGE-L threshold, a seeded paired bootstrap interval for every difference (deterministic, with
// the coverage it claims), zero scores for answers in another script or language, and the report in the
// references' language (or the one asked for).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fontsOf, withPage } from '../helpers/chromium.js';
import { tempDir } from '../helpers/tiny-model.js';
import { charF1, rougeLChars } from '../../src/eval/metrics.js';
import { scriptMismatch, languageOfTexts } from '../../src/eval/script.js';
import { drawResamples, pairedInterval, type PairedSeries } from '../../src/eval/bootstrap.js';
import { compare, summarize } from '../../src/eval/summary.js';
import { methodNotes } from '../../src/eval/text.js';
import { reportHtml, terminalTable } from '../../src/eval/index.js';
import { Rng } from '../../src/kernels/rng.js';
import type { AnswerResult, EvalReport, QuestionReport, ReportLang } from '../../src/eval/types.js';

function answer(o: Partial<AnswerResult>): AnswerResult {
  return { loss: 1, lossTokens: 10, answer: '', answerTokens: 3, finishReason: 'stop', maxTokens: 32, exact: false, charF1: 0, rougeL: 0,
    chars: 3, samples: [], consistency: null, judge: null, ...o };
}

function q(index: number, reference: string, base: Partial<AnswerResult>, tuned: Partial<AnswerResult>): QuestionReport {
  return { index, line: index + 1, question: `質問${index}`, messages: null, reference, referenceChars: reference.length,
    results: { base: answer(base), tuned: answer(tuned) } };
}

function reportOf(questions: QuestionReport[], lang: ReportLang, minChange = 0.05): EvalReport {
  const o = { minChange, bootstrap: { resamples: 500, level: 0.95, seed: 3 } };
  const pick = (name: string) => questions.map((x) => x.results[name]);
  return {
    format: 'shitate-eval', version: 1, complete: true, lang, method: methodNotes(lang, o), model: 'm', data: 'd.jsonl',
    settings: { maxTokens: 16, samples: 0, temperature: 0.7, seed: 3, maxSeqLen: 1024, judge: null, minChange, bootstrap: o.bootstrap },
    systems: [summarize('base', null, pick('base')), summarize('tuned', 'a', pick('tuned'))],
    comparisons: [compare(questions, 'tuned', 'base', o)], questions,
  };
}

describe('better and worse', () => {
  it('identical answers are unchanged even when the loss moved', () => {
    const same = { answer: '30日以内なら返品できます。', rougeL: 0.8, charF1: 0.9 };
    const qs = [0, 1, 2].map((i) => q(i, '30日以内なら返品できます', { ...same, loss: 1.2 }, { ...same, answer: '30日以内なら返品できます', loss: 1.188 }));
    const r = reportOf(qs, 'en');
    const c = r.comparisons[0];
    expect([c.improved.length, c.regressed.length, c.unchanged.length, c.identical]).toEqual([0, 0, 3, 3]);
    expect(c.delta.loss).toBeCloseTo(-0.012, 9);
    const t = terminalTable(r);
    expect(t).toContain('tuned: 0 question(s) better, 0 worse, 3 unchanged (of 3; 3 with identical answers)');
    const table = t.slice(0, t.indexOf('tuned: '));
    expect(table).toMatch(/loss \(reference\)\s+1\.2000\s+1\.1880\s+-0\.0120\s+\[/);
    expect(table).not.toMatch(/[▲▼]/); // three questions are too few to call the loss better
  });

  it('counts a question only past the threshold, which the report states', () => {
    const qs = [q(0, 'r', { answer: 'a', rougeL: 0.5 }, { answer: 'b', rougeL: 0.53 }), q(1, 'r', { answer: 'a', rougeL: 0.5 }, { answer: 'c', rougeL: 0.56 }),
      q(2, 'r', { answer: 'a', rougeL: 0.5 }, { answer: 'd', rougeL: 0.44 })];
    const c = reportOf(qs, 'en').comparisons[0];
    expect([c.improved.map((d) => d.index), c.regressed.map((d) => d.index), c.unchanged.map((d) => d.index)]).toEqual([[1], [2], [0]]);
    expect(reportOf(qs, 'en', 0.1).comparisons[0].unchanged).toHaveLength(3);
    expect(reportOf(qs, 'en').method[1]).toContain('at least 5 points');
    expect(reportHtml(reportOf(qs, 'en'))).toContain('changed by at least 5 pt');
  });

  it('marks a difference only when its interval excludes zero over enough questions', () => {
    const up = Array.from({ length: 20 }, (_, i) => q(i, 'r', { answer: `a${i}`, rougeL: 0.3, charF1: 0.3 }, { answer: `b${i}`, rougeL: 0.5 + (i % 3) * 0.01, charF1: 0.6 }));
    const t = terminalTable(reportOf(up, 'en'));
    expect(t).toMatch(/ROUGE-L \(chars\)\s+30\.0%\s+50\.9%\s+\+20\.9 pt ▲\s+\[\+20\.\d, \+21\.\d\]/);
    // the loss did not move: shown as ±0, never marked
    expect(t).toMatch(/loss \(reference\)\s+1\.0000\s+1\.0000\s+±0\.0000/);
  });
});

describe('paired bootstrap', () => {
  const series = (a: number[], b: number[]): PairedSeries => ({ a: Float64Array.from(a), b: Float64Array.from(b), w: new Float64Array(a.length).fill(1) });

  it('is deterministic for a seed, and a constant difference gives a zero-width interval', () => {
    const s = series([1, 2, 3, 4, 5, 6], [0.5, 2.5, 2, 3, 6, 5]);
    const draw = (seed: number) => drawResamples(6, { resamples: 300, level: 0.95, seed });
    expect(pairedInterval(s, draw(1), 6, 0.95)).toEqual(pairedInterval(s, draw(1), 6, 0.95));
    expect(pairedInterval(s, draw(1), 6, 0.95)).not.toEqual(pairedInterval(s, draw(2), 6, 0.95));
    const ci = pairedInterval(series([1, 2, 3], [0.9, 1.9, 2.9]), draw(1).map((i) => i % 3), 3, 0.95)!;
    expect(ci.low).toBeCloseTo(0.1, 12);
    expect(ci.high).toBeCloseTo(0.1, 12);
    expect(pairedInterval(series([1], [0]), draw(1), 1, 0.95)).toBeNull();
  });

  it('covers a zero true difference about 95% of the time (paired noise, 30 questions)', () => {
    const rng = new Rng(11);
    let excluded = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const base = Array.from({ length: 30 }, () => rng.next());
      const tuned = base.map((v) => v + (rng.next() - 0.5) * 0.2); // same mean, paired
      const ci = pairedInterval(series(tuned, base), drawResamples(30, { resamples: 400, level: 0.95, seed: t }), 30, 0.95)!;
      if (ci.low > 0 || ci.high < 0) excluded++;
    }
    expect(excluded / trials).toBeGreaterThan(0.01);
    expect(excluded / trials).toBeLessThan(0.12);
  });

  it('weights the loss by reference tokens, as the summary does', () => {
    const qs = [q(0, 'r', { loss: 2, lossTokens: 1 }, { loss: 1, lossTokens: 1 }), q(1, 'r', { loss: 1, lossTokens: 9 }, { loss: 1, lossTokens: 9 })];
    const c = compare(qs, 'tuned', 'base', { minChange: 0.05, bootstrap: { resamples: 400, level: 0.95, seed: 0 } });
    expect(c.delta.loss).toBeCloseTo(-0.1, 12);
    expect(c.ci.loss!.low).toBeCloseTo(-1, 12); // a resample of question 0 only
    expect(c.ci.loss!.high).toBeCloseTo(0, 12); // a resample of question 1 only
  });
});

describe('script and language', () => {
  it('an answer in another script or language than the reference scores zero', () => {
    const ref = '営業時間は平日9時から18時です。';
    const junk = 'Lorem ipsum 9 18 dolor sit amet est.';
    expect(scriptMismatch(junk, ref)).toBe(true);
    expect(charF1(junk, ref)).toBe(0);
    expect(rougeLChars(junk, ref)).toBe(0);
    // Chinese for a Japanese reference: a kanji sentence without kana
    expect(charF1('我们的营业时间是平日九点到十八点', ref)).toBe(0);
    // short kanji-only and digit-only answers are still compared
    expect(charF1('東京都港区', '東京都港区にあります')).toBeGreaterThan(0.6);
    expect(charF1('18時', ref)).toBeGreaterThan(0);
    expect(charF1('iPhoneの返品は30日以内です', 'iPhoneは30日以内なら返品できます')).toBeGreaterThan(0.5);
    expect(charF1('We open at 9.', 'We are open from 9 to 6.')).toBeGreaterThan(0.5);
  });

  it('takes the report language from the references', () => {
    expect(languageOfTexts(['返品は30日以内です。', '営業時間は9時からです。', 'OK'])).toBe('ja');
    expect(languageOfTexts(['We are open 9 to 6.', 'Yes.', '30日'])).toBe('en');
  });

  it('writes the terminal table, the method and the HTML page in Japanese', () => {
    const qs = [q(0, '返品できます', { answer: 'はい', rougeL: 0.2 }, { answer: '返品できます', rougeL: 1, exact: true })];
    const r = reportOf(qs, 'ja');
    const t = terminalTable(r);
    expect(t.split('\n')[0]).toMatch(/^指標\s+base\s+tuned\s+ベースとの差\s+95% 区間$/);
    expect(t).toContain('完全一致');
    expect(t).toContain('tuned: 改善 1 問、悪化 0 問、変化なし 0 問（全 1 問、うち回答が同一 0 問）');
    expect(r.method[0]).toContain('NFKC 正規化');
    const html = reportHtml(r);
    expect(html).toContain('<html lang="ja">');
    expect(html).toContain('ベースとチューニング後の比較');
    expect(html).toContain('改善（大きい順）');
    expect(html).toContain('参照回答');
    expect(html).not.toContain('Improvements, largest first');
  });

  it('the Japanese page is drawn with a Japanese font in Chromium', async () => {
    const qs = [q(0, '返品できます', { answer: 'はい', rougeL: 0.2 }, { answer: '返品できます', rougeL: 1, exact: true })];
    const file = path.join(tempDir('shitate-eval-fonts-'), 'eval.html');
    fs.writeFileSync(file, reportHtml(reportOf(qs, 'ja')));
    const fonts = await withPage(file, (page) => fontsOf(page, 'h1'));
    expect(fonts.some((f) => /CJK|Hiragino|Yu Gothic|Meiryo/.test(f.familyName)), JSON.stringify(fonts)).toBe(true);
  });
});
