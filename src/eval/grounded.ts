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

/** What grounding did for one question: its prompt with the passages, where the right passage ranked among
 *  those retrieved (1-based; null: not retrieved), the citations the prompt kept, and whether any passage of
 *  the knowledge bases holds the reference at all (a question no passage answers cannot be recalled). */
export interface GroundedQuestion {
  messages: ChatMessage[];
  rank: number | null;
  prompt: string[];
  promptHasAnswer: boolean;
  answerable: boolean;
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
    out.push({ ...it, messages: g.messages });
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

/** The two halves' events as one run: one start with every system, progress counted across both. */
function relay(hooks: EvalHooks, systems: string[], questions: number): [EvalHooks, EvalHooks] {
  const emit = hooks.onEvent ?? (() => {});
  const total = systems.length * questions;
  emit({ type: 'start', systems, questions, total });
  const half = (offset: number): EvalHooks => ({
    ...hooks,
    onEvent: (e: EvalEvent) => {
      if (e.type === 'start' || e.type === 'done') return;
      if (e.type === 'progress') {
        const done = e.done + offset;
        emit({ ...e, done, total, etaSec: (e.elapsedSec / Math.max(1, e.done)) * (total - done) });
      } else emit(e);
    },
  });
  return [half(0), half(total / 2)];
}

export async function runGroundedEval(x: GroundedEvalInput, hooks: EvalHooks = {}): Promise<EvalReport> {
  const suffix = x.suffix ?? '+kb';
  const plain = new EvalRun({ ...x, scoreText: stripCitations });
  const grounded = new EvalRun({ ...x, items: x.groundedItems, suffix, scoreText: stripCitations });
  plain.checkAdapters();
  const names = [...plain.systems, ...grounded.systems].map((s) => s.name);
  const [first, second] = relay(hooks, names, x.items.length);
  const a = await plain.execute(first);
  const b = a.complete ? await grounded.execute(second) : grounded.report();
  hooks.onEvent?.({ type: 'done', complete: a.complete && b.complete });
  return mergeReports(a, b, x.retrieval);
}

/** One report from the plain and the grounded half: every system compared with the plain base. */
export function mergeReports(a: EvalReport, b: EvalReport, retrieval: RetrievalSummary): EvalReport {
  const questions = a.questions.map((q, i) => ({ ...q, results: { ...q.results, ...(b.questions[i]?.results ?? {}) } }));
  const systems = [...a.systems, ...b.systems];
  const o = { minChange: a.settings.minChange, bootstrap: a.settings.bootstrap };
  const baseline = systems[0].system;
  return {
    ...a, complete: a.complete && b.complete, systems, questions, retrieval,
    comparisons: systems.slice(1).map((s) => compare(questions, s.system, baseline, o)),
  };
}
