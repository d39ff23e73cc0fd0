// Per-system means over the questions answered, and base-vs-tuned comparisons: each metric's difference with
// its paired bootstrap interval, and the questions that got better or worse by at least a stated ROUGE-L
// change (identical answers are unchanged whatever the loss did), ranked from the largest improvement.
import { BOOTSTRAP_DEFAULTS, drawResamples, pairedInterval, type BootstrapSettings, type Interval, type PairedSeries } from './bootstrap.js';
import { mean, normalizeAnswer } from './metrics.js';
import type { AnswerResult, Comparison, DeltaKey, QuestionDelta, QuestionReport, SystemSummary } from './types.js';

function rate(xs: boolean[]): number | null {
  return xs.length ? xs.filter(Boolean).length / xs.length : null;
}

/** Means over the given answers; the loss is weighted by reference tokens, as training's validation loss. */
export function summarize(system: string, adapter: string | null, answers: AnswerResult[]): SystemSummary {
  let lossSum = 0;
  let lossTokens = 0;
  for (const a of answers) {
    if (a.loss === null) continue;
    lossSum += a.loss * a.lossTokens;
    lossTokens += a.lossTokens;
  }
  const loss = lossTokens > 0 ? lossSum / lossTokens : null;
  return {
    system, adapter, questions: answers.length, loss, perplexity: loss === null ? null : Math.exp(loss), lossTokens,
    exactMatch: rate(answers.map((a) => a.exact)),
    charF1: mean(answers.map((a) => a.charF1)),
    rougeL: mean(answers.map((a) => a.rougeL)),
    meanChars: mean(answers.map((a) => a.chars)),
    meanTokens: mean(answers.map((a) => a.answerTokens)),
    stopRate: rate(answers.map((a) => a.finishReason === 'stop')),
    consistency: mean(answers.map((a) => a.consistency)),
    judge: mean(answers.map((a) => a.judge?.score ?? null)),
  };
}

const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/** Orders by ROUGE-L change, then char F1 change, then loss change (lower loss is better), then index. */
function byImprovement(a: QuestionDelta, b: QuestionDelta): number {
  return b.rougeL - a.rougeL || b.charF1 - a.charF1 || (a.loss ?? 0) - (b.loss ?? 0) || a.index - b.index;
}

export interface CompareOptions {
  /** a question is better (worse) when its ROUGE-L rose (fell) by at least this much */
  minChange: number;
  bootstrap: BootstrapSettings;
}

export const COMPARE_DEFAULTS: CompareOptions = { minChange: 0.05, bootstrap: BOOTSTRAP_DEFAULTS };

/** Rounding noise must not turn a zero change into a verdict. */
const EPS = 1e-9;

function questionDelta(q: QuestionReport, system: string, baseline: string): QuestionDelta {
  const s = q.results[system];
  const b = q.results[baseline];
  return {
    index: q.index, identical: normalizeAnswer(s.answer) === normalizeAnswer(b.answer),
    rougeL: s.rougeL - b.rougeL, charF1: s.charF1 - b.charF1, loss: diff(s.loss, b.loss), judge: diff(s.judge?.score ?? null, b.judge?.score ?? null),
  };
}

/** Per question, both systems' value of each metric (weight 0 where either lacks it), for the bootstrap. */
function pairedSeries(a: AnswerResult[], b: AnswerResult[]): Record<DeltaKey, PairedSeries> {
  const n = a.length;
  const series = (get: (r: AnswerResult) => number | null, weight: (x: AnswerResult, y: AnswerResult) => number = () => 1, f?: (m: number) => number): PairedSeries => {
    const s: PairedSeries = { a: new Float64Array(n), b: new Float64Array(n), w: new Float64Array(n), ...(f ? { f } : {}) };
    for (let i = 0; i < n; i++) {
      const x = get(a[i]);
      const y = get(b[i]);
      if (x === null || y === null || !Number.isFinite(x) || !Number.isFinite(y)) continue;
      s.a[i] = x;
      s.b[i] = y;
      s.w[i] = weight(a[i], b[i]);
    }
    return s;
  };
  // the loss is a mean per reference token, as in the summary (both systems score the same reference tokens)
  const tokens = (x: AnswerResult) => x.lossTokens;
  return {
    loss: series((r) => r.loss, tokens), perplexity: series((r) => r.loss, tokens, Math.exp),
    exactMatch: series((r) => (r.exact ? 1 : 0)), charF1: series((r) => r.charF1), rougeL: series((r) => r.rougeL),
    stopRate: series((r) => (r.finishReason === 'stop' ? 1 : 0)), consistency: series((r) => r.consistency), judge: series((r) => r.judge?.score ?? null),
  };
}

const DELTA_KEYS: DeltaKey[] = ['loss', 'perplexity', 'exactMatch', 'charF1', 'rougeL', 'stopRate', 'consistency', 'judge'];

export function compare(questions: QuestionReport[], system: string, baseline: string, o: CompareOptions = COMPARE_DEFAULTS): Comparison {
  const both = questions.filter((q) => q.results[system] && q.results[baseline]);
  const deltas = both.map((q) => questionDelta(q, system, baseline)).sort(byImprovement);
  const s = summarize(system, null, both.map((q) => q.results[system]));
  const b = summarize(baseline, null, both.map((q) => q.results[baseline]));
  const delta = Object.fromEntries(DELTA_KEYS.map((k) => [k, diff(s[k], b[k])])) as Record<DeltaKey, number | null>;
  const series = pairedSeries(both.map((q) => q.results[system]), both.map((q) => q.results[baseline]));
  const draws = o.bootstrap.resamples > 0 && both.length >= 2 ? drawResamples(both.length, o.bootstrap) : null;
  const ci = Object.fromEntries(DELTA_KEYS.map((k) => [k, draws ? pairedInterval(series[k], draws, both.length, o.bootstrap.level) : null])) as Record<DeltaKey, Interval | null>;
  const verdict = (d: QuestionDelta) => (d.identical ? 0 : d.rougeL >= o.minChange - EPS ? 1 : d.rougeL <= -o.minChange + EPS ? -1 : 0);
  const unchanged = deltas.filter((d) => verdict(d) === 0);
  return {
    system, baseline, questions: both.length, delta, ci, rule: { metric: 'rougeL', minChange: o.minChange },
    improved: deltas.filter((d) => verdict(d) > 0),
    regressed: deltas.filter((d) => verdict(d) < 0).reverse(),
    unchanged, identical: unchanged.filter((d) => d.identical).length,
  };
}
