// The metric rows shared by the terminal table and the HTML page, and the terminal table itself: one
// column per system and, for each tuned system, its difference from the base.
import type { EvalReport, SystemSummary } from './types.js';

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

/** "+3.2 pt" style difference, with a mark when it is an improvement (▲) or a regression (▼). */
export function formatDelta(m: MetricRow, d: number | null): string {
  if (d === null || !Number.isFinite(d) || m.better === null) return '';
  const sign = d > 0 ? '+' : d < 0 ? '-' : '±';
  const body = m.percent ? `${(100 * Math.abs(d)).toFixed(m.digits)} pt` : plain(Math.abs(d), m.digits);
  const good = m.better === 'higher' ? d > 0 : d < 0;
  return `${sign}${body}${d === 0 ? '' : good ? ' ▲' : ' ▼'}`;
}

/** system - base for one metric: over the questions both answered (from the comparison), or from the
 *  summaries when the run is complete (then both cover the same questions). */
export function deltaOf(r: EvalReport, systemIndex: number, m: MetricRow): number | null {
  const c = r.comparisons[systemIndex - 1];
  if (c && m.key in c.delta) return c.delta[m.key as keyof typeof c.delta];
  if (!r.complete) return null;
  const x = r.systems[systemIndex][m.key];
  const y = r.systems[0][m.key];
  return typeof x === 'number' && typeof y === 'number' ? x - y : null;
}

/** Plain-text table for the terminal. */
export function terminalTable(r: EvalReport): string {
  const rows = shownRows(r);
  const header = ['metric'];
  for (const [i, s] of r.systems.entries()) header.push(s.system, ...(i > 0 ? ['Δ vs base'] : []));
  const body = rows.map((m) => {
    const cells = [m.label];
    for (const [i, s] of r.systems.entries()) {
      cells.push(formatValue(m, s[m.key]));
      if (i > 0) cells.push(formatDelta(m, deltaOf(r, i, m)));
    }
    return cells;
  });
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((row) => Array.from(row[c]).length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  if (!r.complete) out.push('', 'partial results: the run was interrupted before every system answered every question');
  for (const c of r.comparisons) {
    out.push(`${c.system}: ${c.improved.length} questions better, ${c.regressed.length} worse, ${c.unchanged.length} unchanged (of ${c.questions})`);
  }
  return out.join('\n') + '\n';
}
