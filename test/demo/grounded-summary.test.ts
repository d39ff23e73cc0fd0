// The demo's closing pieces without a model: which FAQ row a grounded answer cites, and the summary's
// numbers (recall@5 and the four systems' character F1) taken from the evaluation report.
import { describe, expect, it } from 'vitest';
import { citedSource, type Evaluated } from '../../src/demo/eval-step.js';
import { demoSummary, summaryText } from '../../src/demo/summary.js';
import type { EvalReport, SystemSummary } from '../../src/eval/index.js';

const rows = ['faq.csv, row 17', 'faq.csv, row 45'];

describe('citedSource', () => {
  it('names the entry of the first in-range marker, full-width brackets too', () => {
    expect(citedSource('送料は全国一律550円です。 [1]', rows)).toBe('faq.csv, row 17');
    expect(citedSource('…です［2］', rows)).toBe('faq.csv, row 45');
    expect(citedSource('…です [7] [2]', rows)).toBe('faq.csv, row 45');
    expect(citedSource('申し訳ございません。', rows)).toBeNull();
    expect(citedSource('[1]', [])).toBeNull();
  });
});

const system = (name: string, charF1: number | null): SystemSummary => ({
  system: name, adapter: null, questions: 40, loss: 5, perplexity: 148, lossTokens: 2000, exactMatch: 0, charF1,
  rougeL: null, meanChars: null, meanTokens: null, stopRate: null, consistency: null, judge: null,
});

describe('demoSummary', () => {
  it('takes recall@5, the share in the prompt and the four F1s from the report', () => {
    const [base, tuned, baseKb, tunedKb] = [system('base', 0.037), system('run/adapter', 0.25), system('base+kb', 0.012), system('run/adapter+kb', 0.31)];
    const report = {
      systems: [base, tuned, baseKb, tunedKb],
      retrieval: { bases: ['faq'], k: 5, judged: 40, recallAt: { 1: 0.725, 3: 0.9, 5: 0.975 }, inPrompt: 0.875, perQuestion: [] },
    } as unknown as EvalReport;
    const e: Evaluated = { report, table: '', html: '', json: '', base, tuned, baseKb, tunedKb, baseKbQuote: null, tunedKbQuote: null };
    const s = demoSummary(e);
    expect(s).toEqual({ questions: 40, recallAt5: 0.975, inPrompt: 0.875, charF1: { base: 0.037, tuned: 0.25, baseKb: 0.012, tunedKb: 0.31 }, quoted: null });
    const text = summaryText(s, 'en');
    expect(text).toContain('top 5 for 97.5% of them, in the prompt for 87.5%');
    expect(text).toContain('base 3.7%  ·  tuned 25.0%  ·  base+retrieval 1.2%  ·  tuned+retrieval 31.0%');
    expect(text).not.toContain('quoting');
    expect(summaryText({ ...s, recallAt5: null }, 'ja')).toContain('上位 5 件に入った割合 —');
  });

  it('adds the quoting line when the grounded systems also ran quoting their sources', () => {
    const [base, tuned, baseKb, tunedKb, baseKbQuote, tunedKbQuote] = [system('base', 0.037), system('run/adapter', 0.25), system('base+kb', 0.012),
      system('run/adapter+kb', 0.31), system('base+kb+quote', 0.374), system('run/adapter+kb+quote', 0.778)];
    const report = {
      settings: { quote: 10 }, systems: [base, tuned, baseKb, tunedKb, baseKbQuote, tunedKbQuote],
      retrieval: { bases: ['faq'], k: 5, judged: 40, recallAt: { 1: 0.725, 3: 0.9, 5: 0.975 }, inPrompt: 0.875, perQuestion: [] },
    } as unknown as EvalReport;
    const s = demoSummary({ report, table: '', html: '', json: '', base, tuned, baseKb, tunedKb, baseKbQuote, tunedKbQuote });
    expect(s.quoted).toEqual({ strength: 10, baseKb: 0.374, tunedKb: 0.778 });
    const text = summaryText(s, 'en');
    expect(text).toContain('tuned+retrieval 31.0%\n  quoting the entries (source-anchored decoding, --quote 10): base+retrieval 37.4%  ·  tuned+retrieval 77.8%');
    expect(summaryText(s, 'ja')).toContain('学習後+検索 77.8%');
  });
});
