// The report's presentation on a hand-built report: value and difference formatting, the terminal table's
// columns, round chart axes, and an HTML page that escapes what the model wrote and flags partial runs.
import { describe, expect, it } from 'vitest';
import { METRIC_ROWS, reportHtml, terminalTable, type AnswerResult, type EvalReport, type QuestionReport } from '../../src/eval/index.js';
import { formatDelta, formatInterval, formatValue } from '../../src/eval/table.js';
import { niceCeil } from '../../src/eval/chart.js';
import { compare, summarize } from '../../src/eval/summary.js';

const row = (key: string) => METRIC_ROWS.find((m) => m.key === key)!;

function answer(text: string, o: Partial<AnswerResult> = {}): AnswerResult {
  return { loss: 2, lossTokens: 4, answer: text, answerTokens: 5, finishReason: 'stop', maxTokens: 16, exact: false, charF1: 0.5, rougeL: 0.5,
    chars: Array.from(text).length, samples: [], consistency: null, judge: null, ...o };
}

function report(complete: boolean): EvalReport {
  const questions: QuestionReport[] = [
    { index: 0, line: 1, question: 'Q <one>', messages: null, reference: 'R1', referenceChars: 2,
      results: { base: answer('<script>alert(1)</script>'), tuned: answer('R1', { loss: 0.5, exact: true, charF1: 1, rougeL: 1 }) } },
    { index: 1, line: 2, question: '二つ目', messages: null, reference: '返品は30日以内です', referenceChars: 10,
      results: { base: answer('はい'), ...(complete ? { tuned: answer('いいえ', { rougeL: 0.1, charF1: 0.1, finishReason: 'length' }) } : {}) } },
  ];
  const pick = (name: string) => questions.flatMap((q) => (q.results[name] ? [q.results[name]] : []));
  return {
    format: 'shitate-eval', version: 1, complete, lang: 'en', method: ['scoring', 'rule', 'intervals'], model: 'm', data: 'd.jsonl',
    settings: { maxTokens: 16, samples: 0, temperature: 0.7, seed: 0, maxSeqLen: 1024, judge: null, minChange: 0.05, bootstrap: { resamples: 200, level: 0.95, seed: 0 } },
    systems: [summarize('base', null, pick('base')), summarize('tuned', 'runs/x/adapter', pick('tuned'))],
    comparisons: [compare(questions, 'tuned', 'base')], questions,
  };
}

describe('formatting', () => {
  it('formats percentages, plain numbers, large numbers and marked differences', () => {
    expect(formatValue(row('charF1'), 0.4567)).toBe('45.7%');
    expect(formatValue(row('loss'), 1.23456)).toBe('1.2346');
    expect(formatValue(row('perplexity'), 18_828_274)).toBe('1.88e+7');
    expect(formatValue(row('judge'), null)).toBe('—');
    // marked only with an interval that excludes zero over at least 10 questions
    const sure = (lo: number, hi: number) => ({ low: lo, high: hi });
    expect(formatDelta(row('charF1'), 0.1, sure(0.05, 0.15), 20)).toBe('+10.0 pt ▲');
    expect(formatDelta(row('loss'), -0.5, sure(-0.7, -0.3), 20)).toBe('-0.5000 ▲');
    expect(formatDelta(row('loss'), 0.25, sure(0.1, 0.4), 20)).toBe('+0.2500 ▼');
    expect(formatDelta(row('charF1'), 0.1)).toBe('+10.0 pt');
    expect(formatDelta(row('charF1'), 0.1, sure(-0.01, 0.2), 20)).toBe('+10.0 pt');
    expect(formatDelta(row('charF1'), 0.1, sure(0.05, 0.15), 9)).toBe('+10.0 pt');
    // a difference that rounds to zero is shown as such and never marked, whatever its interval says
    expect(formatDelta(row('charF1'), 0.0004, sure(0.0001, 0.0008), 50)).toBe('±0.0 pt');
    expect(formatDelta(row('loss'), -0.00001, sure(-0.00002, -0.000005), 50)).toBe('±0.0000');
    expect(formatInterval(row('charF1'), sure(-0.012, 0.053))).toBe('[-1.2, +5.3]');
    expect(formatDelta(row('meanChars'), 3)).toBe('');
  });

  it('rounds chart axes up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect([0.7, 1, 1.3, 2.2, 4.9, 17.6, 0.031].map(niceCeil)).toEqual([1, 1, 2, 2.5, 5, 20, 0.05]);
  });
});

describe('terminal table', () => {
  it('has a column per system and the difference from the base, leaving unmeasured metrics out', () => {
    const t = terminalTable(report(true));
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/^metric\s+base\s+tuned\s+Δ vs base\s+95% interval$/);
    // two questions: intervals are shown but nothing is marked
    expect(t).toMatch(/loss \(reference\)\s+2\.0000\s+1\.2500\s+-0\.7500\s+\[-1\.5000, 0\]/);
    expect(t).toMatch(/exact match\s+0\.0%\s+50\.0%\s+\+50\.0 pt\s+\[0, \+100\.0\]/);
    expect(t).not.toContain('▲');
    expect(t).not.toContain('consistency');
    expect(t).not.toContain('judge');
    expect(t).toContain('tuned: 1 question(s) better, 1 worse, 0 unchanged (of 2; 0 with identical answers)');
    expect(terminalTable(report(false))).toContain('partial results');
  });
});

describe('HTML page', () => {
  it('escapes model output, lists improvements before regressions and flags partial runs', () => {
    const html = reportHtml(report(true));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Q &lt;one&gt;');
    expect(html.indexOf('Q1</b>')).toBeLessThan(html.indexOf('Q2</b>'));
    expect(html.indexOf('Improvements')).toBeLessThan(html.indexOf('Q1</b>'));
    expect(html.indexOf('Regressions')).toBeLessThan(html.indexOf('Q2</b>'));
    expect(html).not.toContain('Partial results');
    const partial = reportHtml(report(false));
    expect(partial).toContain('Partial results');
    // a question only the base answered is shown apart from the ranking
    expect(partial.indexOf('Not compared')).toBeGreaterThan(0);
    expect(partial.indexOf('Not compared')).toBeLessThan(partial.indexOf('Q2</b>'));
    expect(partial).toContain('not evaluated (interrupted)');
  });
});
