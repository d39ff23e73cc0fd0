// `eval --kb`: the held-out questions asked four ways — base and tuned as they are, then both again with the
// passages retrieval found in the prompt — in one report, with retrieval recall next to the answer metrics,
// so it shows which part helps: the retrieval, the tuning, or both. Answers are scored without their
// citation markers ("[1]"); the answers shown keep them.
import { EvalRun, type EvalEvent, type EvalHooks, type EvalInput } from './run.js';
import { compare } from './summary.js';
import type { ChatMessage } from '../tokenizer/index.js';
import type { EvalItem } from './data.js';
import type { EvalReport, RetrievalSummary } from './types.js';

export interface GroundedEvalInput extends Omit<EvalInput, 'suffix' | 'scoreText'> {
  /** the same questions, in the same order, with the retrieved passages in their prompts */
  groundedItems: EvalItem[];
  retrieval: RetrievalSummary;
  /** appended to the system names of the grounded half (default "+kb") */
  suffix?: string;
}

/** Appended to the system names of the grounded run that quotes its sources (settings.quote > 0). */
export const QUOTE_SUFFIX = '+quote';

/** What grounding did for one question: its prompt with the passages, where the right passage ranked among
 *  those retrieved (1-based; null: not retrieved), the citations the prompt kept, and whether any passage of
 *  the knowledge bases holds the reference at all (a question no passage answers cannot be recalled). */
export interface GroundedQuestion {
  messages: ChatMessage[];
  rank: number | null;
  prompt: string[];
  promptHasAnswer: boolean;
  answerable: boolean;
  /** what of the prompt's passages a reply may quote, best first (source-anchored decoding) */
  quote: string[];
}

/** The grounded copy of each item and retrieval's recall over the answerable questions, at 1, 3 and k. */
export async function groundItems(items: readonly EvalItem[], ground: (item: EvalItem) => Promise<GroundedQuestion>, k: number,
  bases: string[]): Promise<{ items: EvalItem[]; retrieval: RetrievalSummary }> {
  const out: EvalItem[] = [];
  const perQuestion: RetrievalSummary['perQuestion'] = [];
  const cuts = [...new Set([1, 3, 5, k])].filter((n) => n <= k).sort((x, y) => x - y);
  const hits = new Map<number, number>(cuts.map((n) => [n, 0]));
  let judged = 0;
  let inPrompt = 0;
  for (const it of items) {
    const g = await ground(it);
    out.push({ ...it, messages: g.messages, quote: g.quote });
    perQuestion.push({ index: it.index, rank: g.rank, prompt: g.prompt });
    if (!g.answerable) continue;
    judged++;
    if (g.promptHasAnswer) inPrompt++;
    for (const n of cuts) if (g.rank !== null && g.rank <= n) hits.set(n, hits.get(n)! + 1);
  }
  const share = (x: number) => (judged ? x / judged : 0);
  const recallAt = Object.fromEntries(cuts.map((n) => [String(n), share(hits.get(n)!)]));
  return { items: out, retrieval: { bases, k, judged, recallAt, inPrompt: share(inPrompt), perQuestion } };
}

/** The source numbers a grounded answer cites, in order ("[1]", "［2］": half- or full-width brackets). */
export function citationNumbers(s: string): number[] {
  return [...s.matchAll(/[[［](\d{1,2})[\]］]/g)].map((m) => Number(m[1]));
}

/** Citation markers a grounded answer carries ("[1]", "［2］"), removed before scoring. */
export function stripCitations(s: string): string {
  return s.replace(/\s*[[［]\d{1,2}[\]］]/g, '').trim();
}

/** The parts' events as one run: one start with every system, progress counted across all of them. */
function relay(hooks: EvalHooks, systems: string[], questions: number, parts: number): EvalHooks[] {
  const emit = hooks.onEvent ?? (() => {});
  const total = systems.length * questions;
  emit({ type: 'start', systems, questions, total });
  const part = (offset: number): EvalHooks => ({
    ...hooks,
    onEvent: (e: EvalEvent) => {
      if (e.type === 'start' || e.type === 'done') return;
      if (e.type === 'progress') {
        const done = e.done + offset;
        emit({ ...e, done, total, etaSec: (e.elapsedSec / Math.max(1, e.done)) * (total - done) });
      } else emit(e);
    },
  });
  return Array.from({ length: parts }, (_, i) => part((total / parts) * i));
}

/** Plain, then grounded; with settings.quote > 0, grounded once more quoting its sources ("+kb+quote"), so the
 *  report shows what retrieval, tuning and quoting each add. */
export async function runGroundedEval(x: GroundedEvalInput, hooks: EvalHooks = {}): Promise<EvalReport> {
  const suffix = x.suffix ?? '+kb';
  const quote = x.settings.quote ?? 0;
  const reports: EvalReport[] = [];
  // the quoting run's prompts are the grounded run's: its reference losses are those already computed
  const groundedLoss = (i: number, system: string) => {
    const r = reports[1]?.questions[i]?.results[system.slice(0, -QUOTE_SUFFIX.length)];
    return r ? { loss: r.loss, tokens: r.lossTokens } : undefined;
  };
  const runs = [
    new EvalRun({ ...x, settings: { ...x.settings, quote: 0 }, scoreText: stripCitations }),
    new EvalRun({ ...x, settings: { ...x.settings, quote: 0 }, items: x.groundedItems, suffix, scoreText: stripCitations }),
    ...(quote > 0 ? [new EvalRun({ ...x, items: x.groundedItems, suffix: suffix + QUOTE_SUFFIX, scoreText: stripCitations, knownLoss: groundedLoss })] : []),
  ];
  runs[0].checkAdapters();
  const parts = relay(hooks, runs.flatMap((r) => r.systems.map((s) => s.name)), x.items.length, runs.length);
  for (const [i, run] of runs.entries()) reports.push(i === 0 || reports[i - 1].complete ? await run.execute(parts[i]) : run.report());
  const complete = reports.every((r) => r.complete);
  hooks.onEvent?.({ type: 'done', complete });
  const merged = mergeReports(reports, x.retrieval);
  return quote > 0 ? { ...merged, settings: { ...merged.settings, quote } } : merged;
}

/** One report from the plain and the grounded parts: every system compared with the plain base. */
export function mergeReports(parts: readonly EvalReport[], retrieval: RetrievalSummary): EvalReport {
  const [a] = parts;
  const questions = a.questions.map((q, i) => ({ ...q, results: Object.assign({}, ...parts.map((p) => p.questions[i]?.results ?? {})) as typeof q.results }));
  const systems = parts.flatMap((p) => p.systems);
  const o = { minChange: a.settings.minChange, bootstrap: a.settings.bootstrap };
  const baseline = systems[0].system;
  return {
    ...a, complete: parts.every((p) => p.complete), systems, questions, retrieval,
    comparisons: systems.slice(1).map((s) => compare(questions, s.system, baseline, o)),
  };
}
