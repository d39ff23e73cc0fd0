// Per-system means over the questions answered, and base-vs-tuned comparisons with the questions ranked
// from the largest improvement to the largest regression.
import { mean } from './metrics.js';
import type { AnswerResult, Comparison, QuestionDelta, QuestionReport, SystemSummary } from './types.js';

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

export function compare(questions: QuestionReport[], system: string, baseline: string): Comparison {
  const both = questions.filter((q) => q.results[system] && q.results[baseline]);
  const deltas: QuestionDelta[] = both.map((q) => {
    const s = q.results[system];
    const b = q.results[baseline];
    return { index: q.index, rougeL: s.rougeL - b.rougeL, charF1: s.charF1 - b.charF1, loss: diff(s.loss, b.loss),
      judge: diff(s.judge?.score ?? null, b.judge?.score ?? null) };
  }).sort(byImprovement);
  const sum = (name: string) => summarize(name, null, both.map((q) => q.results[name]));
  const s = sum(system);
  const b = sum(baseline);
  const key = (d: QuestionDelta) => d.rougeL || d.charF1 || -(d.loss ?? 0);
  return {
    system, baseline, questions: both.length,
    delta: {
      loss: diff(s.loss, b.loss), exactMatch: diff(s.exactMatch, b.exactMatch), charF1: diff(s.charF1, b.charF1),
      rougeL: diff(s.rougeL, b.rougeL), stopRate: diff(s.stopRate, b.stopRate), consistency: diff(s.consistency, b.consistency),
      judge: diff(s.judge, b.judge),
    },
    improved: deltas.filter((d) => key(d) > 0),
    regressed: deltas.filter((d) => key(d) < 0).reverse(),
    unchanged: deltas.filter((d) => key(d) === 0),
  };
}
