// The metric rows shared by the terminal table and the HTML page, and the terminal table itself: one
// column per system and, for each tuned system, its difference from the base with its interval.
import type { Interval } from './bootstrap.js';
import { marked, metricLabel, tr } from './text.js';
import type { Comparison, DeltaKey, EvalReport, SystemSummary } from './types.js';

export interface MetricRow {
  key: keyof SystemSummary;
  label: string;
  /** which direction is better; null when neither is (length) */
  better: 'higher' | 'lower' | null;
  /** shown as a percentage */
  percent: boolean;
  digits: number;
  /** between 0 and 1, so it fits the bar chart's axis */
  unitScale: boolean;
}

export const METRIC_ROWS: MetricRow[] = [
  { key: 'loss', label: 'loss (reference)', better: 'lower', percent: false, digits: 4, unitScale: false },
  { key: 'perplexity', label: 'perplexity', better: 'lower', percent: false, digits: 2, unitScale: false },
  { key: 'exactMatch', label: 'exact match', better: 'higher', percent: true, digits: 1, unitScale: true },
  { key: 'charF1', label: 'char F1', better: 'higher', percent: true, digits: 1, unitScale: true },
  { key: 'rougeL', label: 'ROUGE-L (chars)', better: 'higher', percent: true, digits: 1, unitScale: true },
  { key: 'stopRate', label: 'stop rate', better: 'higher', percent: true, digits: 1, unitScale: true },
  { key: 'consistency', label: 'consistency', better: 'higher', percent: true, digits: 1, unitScale: true },
  { key: 'judge', label: 'judge (1-5)', better: 'higher', percent: false, digits: 2, unitScale: false },
  { key: 'meanChars', label: 'answer length (chars)', better: null, percent: false, digits: 1, unitScale: false },
  { key: 'meanTokens', label: 'answer length (tokens)', better: null, percent: false, digits: 1, unitScale: false },
  { key: 'questions', label: 'questions', better: null, percent: false, digits: 0, unitScale: false },
];

/** The rows worth showing: a metric nobody has (judge off, no samples) is left out. */
export function shownRows(r: EvalReport): MetricRow[] {
  return METRIC_ROWS.filter((m) => r.systems.some((s) => s[m.key] !== null));
}

export function formatValue(m: MetricRow, v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return m.percent ? `${(100 * v).toFixed(m.digits)}%` : plain(v, m.digits);
}

/** Fixed digits, or three significant digits in exponent form for very large values (perplexity). */
function plain(v: number, digits: number): string {
  return Math.abs(v) >= 1e5 ? v.toExponential(2) : v.toFixed(digits);
}

/** The difference as shown ("+3.2 pt", "-0.0120"), and whether it shows as zero. */
function deltaBody(m: MetricRow, d: number): { text: string; zero: boolean } {
  const body = m.percent ? (100 * Math.abs(d)).toFixed(m.digits) : plain(Math.abs(d), m.digits);
  const zero = Number(body) === 0;
  const sign = zero ? '±' : d > 0 ? '+' : '-';
  return { text: `${sign}${body}${m.percent ? ' pt' : ''}`, zero };
}

/** "+3.2 pt ▲" style difference: ▲ (better) or ▼ (worse) only when the interval excludes zero over enough
 *  questions (text.ts marked()); a difference that rounds to zero shows as ±0 and is never marked. */
export function formatDelta(m: MetricRow, d: number | null, ci: Interval | null = null, questions = 0): string {
  if (d === null || !Number.isFinite(d) || m.better === null) return '';
  const { text, zero } = deltaBody(m, d);
  if (!marked(d, ci, questions, zero)) return text;
  const good = m.better === 'higher' ? d > 0 : d < 0;
  return `${text} ${good ? '▲' : '▼'}`;
}

/** "[-1.0, +5.3]" in the metric's unit, or '' without an interval. */
export function formatInterval(m: MetricRow, ci: Interval | null): string {
  if (!ci || m.better === null) return '';
  const one = (v: number) => (v === 0 ? '0' : `${v > 0 ? '+' : '-'}${m.percent ? (100 * Math.abs(v)).toFixed(m.digits) : plain(Math.abs(v), m.digits)}`);
  return `[${one(ci.low)}, ${one(ci.high)}]`;
}

/** system - base for one metric: over the questions both answered (from the comparison), or from the
 *  summaries when the run is complete (then both cover the same questions). */
export function deltaOf(r: EvalReport, systemIndex: number, m: MetricRow): number | null {
  const c = r.comparisons[systemIndex - 1];
  if (c && m.key in c.delta) return c.delta[m.key as DeltaKey];
  if (!r.complete) return null;
  const x = r.systems[systemIndex][m.key];
  const y = r.systems[0][m.key];
  return typeof x === 'number' && typeof y === 'number' ? x - y : null;
}

/** The difference's interval and the number of questions it covers. */
export function intervalOf(r: EvalReport, systemIndex: number, m: MetricRow): { ci: Interval | null; questions: number } {
  const c = r.comparisons[systemIndex - 1];
  return c && m.key in c.ci ? { ci: c.ci[m.key as DeltaKey], questions: c.questions } : { ci: null, questions: c?.questions ?? 0 };
}

/** Difference and interval cells of system `i` for one metric. */
export function deltaCells(r: EvalReport, i: number, m: MetricRow): [string, string] {
  const { ci, questions } = intervalOf(r, i, m);
  return [formatDelta(m, deltaOf(r, i, m), ci, questions), formatInterval(m, ci)];
}

/** The verdict line of a comparison, in the report's language. */
export function verdictLine(r: EvalReport, c: Comparison): string {
  return tr('verdict', r.lang, { system: c.system, better: c.improved.length, worse: c.regressed.length, unchanged: c.unchanged.length, n: c.questions, identical: c.identical });
}

/** Plain-text table for the terminal, then the verdicts and how they were reached. */
export function terminalTable(r: EvalReport): string {
  const lang = r.lang;
  const rows = shownRows(r);
  const level = +(100 * r.settings.bootstrap.level).toFixed(1);
  const header = [tr('metric', lang)];
  for (const [i, s] of r.systems.entries()) header.push(s.system, ...(i > 0 ? [tr('delta', lang), tr('interval', lang, { level })] : []));
  const body = rows.map((m) => {
    const cells = [metricLabel(m.key, lang)];
    for (const [i, s] of r.systems.entries()) {
      cells.push(formatValue(m, s[m.key]));
      if (i > 0) cells.push(...deltaCells(r, i, m));
    }
    return cells;
  });
  const all = [header, ...body];
  const width = (cell: string) => Array.from(cell).reduce((w, ch) => w + (/[\u3000-\u9fff\uff00-\uffef]/.test(ch) ? 2 : 1), 0);
  const widths = header.map((_, c) => Math.max(...all.map((row) => width(row[c]))));
  const pad = (cell: string, c: number) => (c === 0 ? cell + ' '.repeat(widths[c] - width(cell)) : ' '.repeat(widths[c] - width(cell)) + cell);
  const line = (row: string[]) => row.map(pad).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  if (!r.complete) out.push('', tr('partial', lang));
  for (const c of r.comparisons) out.push(verdictLine(r, c));
  if (r.comparisons.length > 0) out.push(...r.method.slice(1).map((n) => `  ${n}`));
  return out.join('\n') + '\n';
}
