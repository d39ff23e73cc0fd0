// The report as a terminal summary: files, length statistics with a text histogram, categories, and
// problems grouped by kind with their first locations and what to do.
import { formatLoc, ui, type Lang } from './messages.js';
import type { DataReport, ReportOccurrence } from './report.js';
import { verdictText } from './report.js';

const MARK = { error: '✗', warning: '!', info: '·' } as const;

function num(n: number, lang: Lang): string {
  return n.toLocaleString(lang === 'ja' ? 'ja-JP' : 'en-US');
}

function where(o: ReportOccurrence, lang: Lang): string {
  return o.file !== null && o.unit !== null && o.n !== null ? `${formatLoc({ file: o.file, unit: o.unit, n: o.n }, lang)}: ` : '';
}

function bar(count: number, max: number, width = 30): string {
  return '█'.repeat(max === 0 ? 0 : Math.round((count / max) * width)) || (count > 0 ? '▏' : '');
}

export function renderTerminal(r: DataReport, opts: { shown?: number } = {}): string {
  const lang = r.lang;
  const shown = opts.shown ?? 5;
  const out: string[] = [];
  out.push(`${ui('reportTitle', lang)} — ${ui('countExamples', lang, { count: num(r.examples, lang) })}`);
  out.push('', `${ui('files', lang)}:`);
  for (const f of r.files) {
    const parts = [f.type, f.format, f.encoding, f.sheet ? `sheet "${f.sheet}"` : null, f.delimiter ? `delimiter ${f.delimiter}` : null].filter((p) => p);
    out.push(`  ${f.file}${f.split === 'val' ? ` (${ui('val', lang)})` : ''}  ${parts.join(', ')}  ${num(f.records, lang)}`);
  }
  const L = r.lengths;
  if (r.examples > 0) {
    out.push('', `${ui(L.unit === 'tokens' ? 'lengthTokens' : 'lengthChars', lang)}: ${ui(L.unit === 'tokens' ? 'totalTokens' : 'totalChars', lang)} ${num(L.total, lang)} · `
      + `${ui('mean', lang)} ${num(L.mean, lang)} · ${ui('median', lang)} ${num(L.median, lang)} · ${ui('p95', lang)} ${num(L.p95, lang)} · ${ui('max', lang)} ${num(L.max, lang)}`);
    const max = Math.max(...L.histogram.map((b) => b.count));
    const lastUsed = L.histogram.reduce((k, b, i) => (b.count > 0 ? i : k), 0);
    for (const b of L.histogram.slice(0, lastUsed + 1)) out.push(`  ${b.label.padStart(11)} ${bar(b.count, max).padEnd(31)} ${num(b.count, lang)}`);
  }
  if (r.categories.length > 0) {
    out.push('', `${ui('categories', lang)}: ${r.categories.slice(0, 8).map((c) => `${c.name} ${c.share}`).join(' · ')}${r.categories.length > 8 ? ' …' : ''}`);
  }
  if (r.split) {
    out.push('', `${ui('split', lang)}: ${ui('train', lang)} ${num(r.split.train, lang)} · ${ui('val', lang)} ${num(r.split.val, lang)} (seed ${r.split.seed})`);
  }
  out.push('', `${ui('problems', lang)}:`);
  if (r.problems.length === 0) out.push(`  ${ui('noProblems', lang)}`);
  for (const p of r.problems) {
    const placeless = p.occurrences.every((o) => o.file === null);
    out.push(`  ${MARK[p.severity]} ${ui(p.severity, lang)}: ${p.title}${placeless ? '' : ` (${num(p.count, lang)})`}`);
    for (const o of p.occurrences.slice(0, shown)) out.push(`      ${where(o, lang)}${o.message}`);
    if (p.count > shown) out.push(`      ${ui('more', lang, { count: num(p.count - Math.min(shown, p.occurrences.length), lang) })}`);
    if (p.hint) out.push(`      → ${p.hint}`);
  }
  if (r.outputs && r.outputs.length > 0) out.push('', `${ui('written', lang)}:`, ...r.outputs.map((f) => `  ${f}`));
  out.push('', verdictText(r, 'above'), ''); // the last line: the problems are listed above it
  return out.join('\n');
}
