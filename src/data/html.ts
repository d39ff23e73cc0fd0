// The report as one self-contained HTML page for non-engineers: inline CSS, no scripts, no external
// resources; every piece of user text is escaped. Long lists fold with <details> (works without JS).
import { FONT_STACK, MONO_STACK } from './html-fonts.js';
import { formatLoc, ui, type Lang } from './messages.js';
import type { DataReport, ReportOccurrence, ReportProblem } from './report.js';
import { verdict, verdictText } from './report.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const CSS = `body{font-family:${FONT_STACK};margin:2rem auto;max-width:62rem;padding:0 1rem;color:#1d1d1f;line-height:1.6}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.verdict{padding:.8rem 1rem;border-radius:.4rem;font-weight:600}.ok{background:#e7f6ea;color:#14532d}.warn{background:#fff7e0;color:#713f12}.bad{background:#fdeaea;color:#7f1d1d}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums}.bar{background:#5b8def;height:.9rem;border-radius:2px}
.problem{border:1px solid #e5e5e5;border-left-width:6px;border-radius:.4rem;padding:.6rem 1rem;margin:1rem 0}
.problem.error{border-left-color:#dc2626}.problem.warning{border-left-color:#d97706}.problem.info{border-left-color:#9ca3af}
.badge{display:inline-block;font-size:.75rem;padding:0 .5rem;border-radius:1rem;background:#eee;margin-right:.4rem}
.hint{background:#f5f7ff;padding:.4rem .7rem;border-radius:.3rem}.excerpt{color:#555}.loc{white-space:nowrap;font-family:${MONO_STACK};font-size:.85rem}
.summary span{margin-right:1.2rem}`;

function num(n: number, lang: Lang): string {
  return n.toLocaleString(lang === 'ja' ? 'ja-JP' : 'en-US');
}

function locCell(o: ReportOccurrence, lang: Lang): string {
  if (o.file === null || o.unit === null || o.n === null) return '';
  return escapeHtml(formatLoc({ file: o.file, unit: o.unit, n: o.n }, lang));
}

function problem(p: ReportProblem, lang: Lang): string {
  const [open, close] = lang === 'ja' ? ['「', '」'] : ['“', '”'];
  const rows = p.occurrences.map((o) => `<tr><td class="loc">${locCell(o, lang)}</td><td>${escapeHtml(o.message)}${o.excerpt ? `<div class="excerpt">${open}${escapeHtml(o.excerpt)}${close}</div>` : ''}</td></tr>`);
  const inline = rows.slice(0, 10).join('');
  const folded = rows.length > 10 ? `<details><summary>${escapeHtml(ui('more', lang, { count: num(p.count - 10, lang) }))}</summary><table>${rows.slice(10).join('')}</table></details>` : '';
  // problems of the whole data set have no place to point at: plain sentences read better than a table
  const placeless = p.occurrences.every((o) => o.file === null);
  const table = placeless ? p.occurrences.map((o) => `<p>${escapeHtml(o.message)}</p>`).join('')
    : `<table><tr><th>${ui('where', lang)}</th><th>${ui('what', lang)}</th></tr>${inline}</table>${folded}`;
  const hint = p.hint ? `<p class="hint"><strong>${ui('todo', lang)}:</strong> ${escapeHtml(p.hint)}</p>` : '';
  const count = placeless ? '' : ` (${num(p.count, lang)})`;
  return `<section class="problem ${p.severity}"><h3><span class="badge">${ui(p.severity, lang)}</span>${escapeHtml(p.title)}${count}</h3>${table}${hint}</section>`;
}

function filesTable(r: DataReport): string {
  const lang = r.lang;
  const rows = r.files.map((f) => `<tr><td>${escapeHtml(f.file)}${f.split === 'val' ? ` (${ui('val', lang)})` : ''}</td><td>${escapeHtml(f.type)}${f.sheet ? ` / ${escapeHtml(f.sheet)}` : ''}</td>`
    + `<td>${escapeHtml(f.format ?? '')}</td><td>${escapeHtml(f.encoding ?? '')}</td><td class="num">${num(f.records, lang)}</td></tr>`);
  return `<table><tr><th>${ui('file', lang)}</th><th>${ui('type', lang)}</th><th>${ui('format', lang)}</th><th>${ui('encoding', lang)}</th><th class="num">${ui('examples', lang)}</th></tr>${rows.join('')}</table>`;
}

function statsSection(r: DataReport): string {
  const lang = r.lang;
  const L = r.lengths;
  const tokens = L.unit === 'tokens';
  const max = Math.max(1, ...L.histogram.map((b) => b.count));
  const lastUsed = L.histogram.reduce((k, b, i) => (b.count > 0 ? i : k), 0);
  const width = (c: number): string => (c === 0 ? '0' : Math.max(0.5, (c / max) * 100).toFixed(1));
  const hist = L.histogram.slice(0, lastUsed + 1).map((b) => `<tr><td class="num">${escapeHtml(b.label)}</td><td style="width:70%"><div class="bar" style="width:${width(b.count)}%"></div></td><td class="num">${num(b.count, lang)}</td></tr>`);
  const summary = [[ui(tokens ? 'totalTokens' : 'totalChars', lang), L.total], [ui('mean', lang), L.mean], [ui('median', lang), L.median], [ui('p95', lang), L.p95], [ui('max', lang), L.max]]
    .map(([k, v]) => `<span>${escapeHtml(String(k))}: <strong>${num(Number(v), lang)}</strong></span>`).join('');
  const cats = r.categories.length === 0 ? '' : `<h3>${ui('categories', lang)}</h3><table>${r.categories.slice(0, 30)
    .map((c) => `<tr><td>${escapeHtml(c.name)}</td><td class="num">${num(c.count, lang)}</td><td class="num">${escapeHtml(c.share)}</td></tr>`).join('')}</table>`;
  return `<h2>${ui('stats', lang)}</h2><p class="summary">${summary}</p><h3>${ui('histogram', lang)} — ${ui(tokens ? 'lengthTokens' : 'lengthChars', lang)}</h3><table>${hist.join('')}</table>${cats}`;
}

export function renderHtml(r: DataReport): string {
  const lang = r.lang;
  const v = verdict(r);
  const cls = v === 'verdictOk' ? 'ok' : v === 'verdictError' ? 'bad' : 'warn';
  const split = r.split
    ? `<h2>${ui('split', lang)}</h2><p class="summary"><span>${ui('train', lang)}: <strong>${num(r.split.train, lang)}</strong></span><span>${ui('val', lang)}: <strong>${num(r.split.val, lang)}</strong></span><span>seed ${r.split.seed}</span></p>`
    : '';
  const problems = r.problems.length === 0 ? `<p>${ui('noProblems', lang)}</p>` : r.problems.map((p) => problem(p, lang)).join('\n');
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${ui('reportTitle', lang)}</title><style>${CSS}</style></head>
<body><h1>${ui('reportTitle', lang)}</h1>
<p class="verdict ${cls}">${escapeHtml(verdictText(r, 'below'))}</p>
<p class="summary"><span>${ui('examples', lang)}: <strong>${num(r.examples, lang)}</strong></span><span>${ui('errors', lang)}: <strong>${num(r.errors, lang)}</strong></span><span>${ui('warnings', lang)}: <strong>${num(r.warnings, lang)}</strong></span></p>
<h2>${ui('problems', lang)}</h2>
${problems}
<h2>${ui('files', lang)}</h2>${filesTable(r)}
${statsSection(r)}
${split}
</body></html>
`;
}
