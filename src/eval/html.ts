// The self-contained HTML report: settings, the metric table, bar charts (inline SVG), and for each tuned
// system every question side by side — reference, base answer, tuned answer, scores — ordered from the
// largest improvement to the largest regression. No scripts, no external files: it opens anywhere.
import { FONT_STACK } from '../data/html-fonts.js';
import { barChartSvg, escapeXml as esc, SERIES_COLOURS } from './chart.js';
import { deltaOf, formatDelta, formatValue, shownRows } from './table.js';
import type { AnswerResult, Comparison, EvalReport, QuestionDelta, QuestionReport } from './types.js';

const CSS = `body{font-family:${FONT_STACK};margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:4px 8px;vertical-align:top}th{background:#f6f6f6;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.good{color:#1a7f37}.bad{color:#cf222e}.muted{color:#777}
.banner{background:#fff4ce;border:1px solid #e0c060;padding:8px 12px;margin:12px 0}
.charts{display:flex;flex-wrap:wrap;gap:16px}.qa{width:100%;table-layout:fixed;margin-bottom:12px}
.qa td{word-break:break-word}.text{white-space:pre-wrap;max-height:14em;overflow:auto}.scores{font-size:12px;color:#555;margin-top:6px;white-space:normal}
.tag{display:inline-block;border-radius:3px;padding:0 4px;font-size:11px;background:#eee;margin-right:4px}`;

function metricTable(r: EvalReport): string {
  const rows = shownRows(r);
  const head = r.systems.map((s, i) => `<th><span style="color:${SERIES_COLOURS[i % SERIES_COLOURS.length]}">■</span> ${esc(s.system)}</th>${i > 0 ? '<th>Δ vs base</th>' : ''}`).join('');
  const body = rows.map((m) => {
    const cells = r.systems.map((s, i) => {
      const d = i > 0 ? formatDelta(m, deltaOf(r, i, m)) : '';
      const cls = d.endsWith('▲') ? 'good' : d.endsWith('▼') ? 'bad' : '';
      return `<td class="num">${esc(formatValue(m, s[m.key]))}</td>${i > 0 ? `<td class="num ${cls}">${esc(d)}</td>` : ''}`;
    }).join('');
    return `<tr><th>${esc(m.label)}</th>${cells}</tr>`;
  }).join('\n');
  return `<table><thead><tr><th>metric</th>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function charts(r: EvalReport): string {
  const names = r.systems.map((s) => s.system);
  const unit = shownRows(r).filter((m) => m.unitScale);
  const quality = barChartSvg('answer quality (higher is better)', names,
    unit.map((m) => ({ label: m.label, values: r.systems.map((s) => s[m.key] as number | null) })), (v) => `${(100 * v).toFixed(0)}%`, 1);
  const loss = barChartSvg('loss on the reference answers (lower is better)', names,
    [{ label: 'loss', values: r.systems.map((s) => s.loss) }], (v) => v.toFixed(3));
  return `<div class="charts">${quality}${loss}</div>`;
}

function scores(a: AnswerResult): string {
  const parts = [
    `ROUGE-L ${(100 * a.rougeL).toFixed(1)}%`, `char F1 ${(100 * a.charF1).toFixed(1)}%`,
    `loss ${a.loss === null ? '—' : a.loss.toFixed(3)}`, `${a.answerTokens} tokens`,
  ];
  if (a.consistency !== null) parts.push(`consistency ${(100 * a.consistency).toFixed(1)}%`);
  if (a.judge) parts.push(`judge ${a.judge.score ?? '—'}${a.judge.reason ? ` (${a.judge.reason})` : ''}`);
  const tags = `${a.exact ? '<span class="tag good">exact</span>' : ''}<span class="tag">${a.finishReason === 'stop' ? 'stopped' : 'hit max tokens'}</span>`;
  return `<div class="scores">${tags}${esc(parts.join(' · '))}</div>`;
}

function textBlock(s: string): string {
  return s.trim() ? `<div class="text">${esc(s)}</div>` : `<div class="muted">(empty: ${Array.from(s).length} whitespace characters)</div>`;
}

function answerCell(a: AnswerResult | undefined): string {
  return a ? `<td>${textBlock(a.answer)}${scores(a)}</td>` : '<td class="muted">not evaluated (interrupted)</td>';
}

function promptBlock(q: QuestionReport): string {
  const earlier = q.messages && q.messages.length > 1
    ? `<details><summary class="muted">full prompt (${q.messages.length} messages)</summary>${q.messages.map((m) => `<div><b>${esc(m.role)}</b>: ${esc(m.content)}</div>`).join('')}</details>`
    : '';
  return `<div><b>Q${q.index + 1}</b> <span class="muted">(line ${q.line})</span> ${esc(q.question)}</div>${earlier}`;
}

function deltaText(d: QuestionDelta): string {
  const pt = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} pt`;
  const parts = [`ROUGE-L ${pt(d.rougeL)}`, `char F1 ${pt(d.charF1)}`];
  if (d.loss !== null) parts.push(`loss ${d.loss >= 0 ? '+' : ''}${d.loss.toFixed(3)}`);
  if (d.judge !== null) parts.push(`judge ${d.judge >= 0 ? '+' : ''}${d.judge}`);
  return parts.join(' · ');
}

function questionRows(r: EvalReport, c: Comparison, list: QuestionDelta[], cls: string): string {
  if (list.length === 0) return '<p class="muted">none</p>';
  return list.map((d) => {
    const q = r.questions[d.index];
    return `<table class="qa"><colgroup><col style="width:28%"><col style="width:36%"><col style="width:36%"></colgroup>
<tr><th colspan="3">${promptBlock(q)}<div class="${cls}">${esc(deltaText(d))}</div></th></tr>
<tr><th>reference</th><th>${esc(c.baseline)}</th><th>${esc(c.system)}</th></tr>
<tr><td>${textBlock(q.reference)}</td>${answerCell(q.results[c.baseline])}${answerCell(q.results[c.system])}</tr></table>`;
  }).join('\n');
}

function comparisonSection(r: EvalReport, c: Comparison): string {
  return `<h2>${esc(c.baseline)} vs ${esc(c.system)}</h2>
<p>${c.questions} questions compared: <span class="good">${c.improved.length} better</span>, <span class="bad">${c.regressed.length} worse</span>, ${c.unchanged.length} unchanged
<span class="muted">(ranked by ROUGE-L change, then char F1, then reference loss)</span></p>
<h3>Improvements, largest first</h3>\n${questionRows(r, c, c.improved, 'good')}
<h3>Regressions, largest first</h3>\n${questionRows(r, c, c.regressed, 'bad')}
<h3>Unchanged</h3>\n${questionRows(r, c, c.unchanged, 'muted')}${notCompared(r, c)}`;
}

/** Questions only one side answered before the run was interrupted. */
function notCompared(r: EvalReport, c: Comparison): string {
  const half = r.questions.filter((q) => Boolean(q.results[c.system]) !== Boolean(q.results[c.baseline]));
  if (half.length === 0) return '';
  const rows = half.map((q) => `<table class="qa"><colgroup><col style="width:28%"><col style="width:36%"><col style="width:36%"></colgroup>
<tr><th colspan="3">${promptBlock(q)}</th></tr>
<tr><th>reference</th><th>${esc(c.baseline)}</th><th>${esc(c.system)}</th></tr>
<tr><td>${textBlock(q.reference)}</td>${answerCell(q.results[c.baseline])}${answerCell(q.results[c.system])}</tr></table>`);
  return `\n<h3>Not compared (the run stopped first)</h3>\n${rows.join('\n')}`;
}

function baseOnly(r: EvalReport): string {
  const name = r.systems[0].system;
  const rows = r.questions.map((q) => `<table class="qa"><tr><th colspan="2">${promptBlock(q)}</th></tr>
<tr><th>reference</th><th>${esc(name)}</th></tr><tr><td>${textBlock(q.reference)}</td>${answerCell(q.results[name])}</tr></table>`);
  return `<h2>Answers</h2>\n${rows.join('\n')}`;
}

export function reportHtml(r: EvalReport): string {
  const s = r.settings;
  const settings = [
    `model: ${r.model}`, `data: ${r.data} (${r.questions.length} questions)`,
    `max tokens: ${s.maxTokens ?? 'twice the reference + 16'}`, `samples: ${s.samples} at temperature ${s.temperature}`, `seed: ${s.seed}`,
    `judge: ${s.judge ? `${s.judge.model} at ${s.judge.url}` : 'off'}`,
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>shitate eval — ${esc(r.model)}</title><style>${CSS}</style></head>
<body>
<h1>shitate eval: base vs tuned</h1>
<p class="muted">${settings.map(esc).join(' · ')}</p>
${r.complete ? '' : '<div class="banner">Partial results: the run was interrupted; only the questions computed are shown and summarised.</div>'}
<h2>Metrics</h2>
${metricTable(r)}
${charts(r)}
${r.comparisons.length ? r.comparisons.map((c) => comparisonSection(r, c)).join('\n') : baseOnly(r)}
${s.judge ? `<h2>Judge rubric</h2><pre style="white-space:pre-wrap">${esc(s.judge.rubric)}</pre>` : ''}
</body></html>
`;
}
