// Shortening a passage to a token budget without cutting words in half: the text is split at sentence ends
// (Japanese 。！？ and Western . ! ?) and line breaks, the sentence most related to the question is kept with
// as many of its neighbours as fit (those after it first: an FAQ's answer follows its question), and "…"
// marks where text was left out. A single sentence too long for the budget is cut at its clauses (、,;),
// and only as a last resort by characters.
import { relatedness } from '../memory/index.js';

export const ELLIPSIS = '…';

const CLOSERS = `」』）)\\]"'”’】`;
/** a sentence end: Japanese or Western terminators (a period only before a space, a closer or the end, so
 *  5.5 and example.com stay whole), any closing brackets after them, then the following spaces */
const SENTENCE_END = new RegExp(`(?:[。！？!?．]+|\\.(?=[${CLOSERS}]*(?:\\s|$)))[${CLOSERS}]*\\s*|\\n\\s*`, 'gu');
const CLAUSE_END = /[、，,;；:：]\s*/gu;

function splitAt(text: string, re: RegExp): string[] {
  const out: string[] = [];
  let start = 0;
  for (const m of text.matchAll(re)) {
    const end = (m.index ?? 0) + m[0].length;
    if (end > start) {
      out.push(text.slice(start, end));
      start = end;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** The text's sentences, each with the spaces that follow it: joined, they give back the text exactly. */
export function splitSentences(text: string): string[] {
  return splitAt(text, SENTENCE_END);
}

export function splitClauses(text: string): string[] {
  return splitAt(text, CLAUSE_END);
}

type Count = (text: string) => number;

const wrap = (inner: string, before: boolean, after: boolean): string =>
  `${before && !inner.startsWith(ELLIPSIS) ? ELLIPSIS : ''}${inner}${after && !inner.endsWith(ELLIPSIS) ? ELLIPSIS : ''}`;

/** The longest start of `text` within `budget` tokens, by halving; null when not even one character fits. */
function prefixCut(text: string, budget: number, count: Count): string | null {
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(`${text.slice(0, mid)}${ELLIPSIS}`) <= budget) lo = mid;
    else hi = mid - 1;
  }
  const head = text.slice(0, lo).trimEnd();
  return head ? `${head}${ELLIPSIS}` : null;
}

const LEVELS = [splitSentences, splitClauses];

/** The best unit of `units` for the query (the first when none relates), grown by neighbours while they fit. */
interface Span {
  best: number;
  lo: number;
  /** exclusive */
  hi: number;
  /** false when not even the best unit fits whole */
  fits: boolean;
}

function bestUnit(units: readonly string[], query: string): number {
  const scores = units.map((u) => relatedness(u, query));
  let best = 0;
  for (let i = 1; i < units.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

function grow(units: readonly string[], query: string, budget: number, count: Count, mark: number): Span {
  const best = bestUnit(units, query);
  const cost = units.map(count);
  let used = cost[best] + 2 * mark;
  if (used > budget) return { best, lo: best, hi: best + 1, fits: false };
  let lo = best;
  let hi = best + 1;
  while (hi < units.length && used + cost[hi] <= budget) used += cost[hi++];
  while (lo > 0 && used + cost[lo - 1] <= budget) used += cost[--lo];
  return { best, lo, hi, fits: true };
}

/** Cuts inside the one unit `i` of `units`, one level finer. */
function inside(units: readonly string[], i: number, query: string, budget: number, count: Count, level: number): string | null {
  const inner = focus(units[i].trim(), query, budget - 2 * count(ELLIPSIS), count, level + 1);
  return inner === null ? null : wrap(inner, i > 0, i < units.length - 1);
}

function focus(text: string, query: string, budget: number, count: Count, level: number): string | null {
  if (count(text) <= budget) return text;
  if (level >= LEVELS.length) return prefixCut(text, budget, count);
  const units = LEVELS[level](text);
  if (units.length <= 1) return focus(text, query, budget, count, level + 1);
  const { best, fits, ...span } = grow(units, query, budget, count, count(ELLIPSIS));
  if (!fits) return inside(units, best, query, budget, count, level);
  let { lo, hi } = span;
  // token counts of pieces need not add up exactly to the count of their join: check the whole and shed
  // neighbours (those after the best one first) until it fits
  for (;;) {
    const out = wrap(units.slice(lo, hi).join('').trim(), lo > 0, hi < units.length);
    if (count(out) <= budget) return out;
    if (hi - 1 > best) hi--;
    else if (lo < best) lo++;
    else return inside(units, best, query, budget, count, level);
  }
}

/**
 * `text` within `budget` tokens: whole when it fits, else the sentences most related to `query` (see the
 * file's head). Null when nothing useful fits.
 */
export function fitText(text: string, query: string, budget: number, count: Count): string | null {
  if (budget <= 0) return null;
  return focus(text, query, budget, count, 0);
}
