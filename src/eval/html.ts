// The self-contained HTML report, in the report's language: settings, how answers were scored, the metric table
// with each difference's interval, bar charts (inline SVG), and for each tuned system every question side by
// side — reference, base answer, tuned answer, scores — ordered from the largest improvement to the largest
// regression. No scripts, no external files: it opens anywhere.
import { FONT_STACK } from '../data/html-fonts.js';
import { barChartSvg, escapeXml as esc, SERIES_COLOURS } from './chart.js';
import { deltaCells, formatValue, shownRows, verdictLine } from './table.js';
import { metricLabel, tr } from './text.js';
import type { AnswerResult, Comparison, EvalReport, QuestionDelta, QuestionReport, ReportLang } from './types.js';

const CSS = `body{font-family:${FONT_STACK};margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:4px 8px;vertical-align:top}th{background:#f6f6f6;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.good{color:#1a7f37}.bad{color:#cf222e}.muted{color:#777}
.banner{background:#fff4ce;border:1px solid #e0c060;padding:8px 12px;margin:12px 0}.method{font-size:13px;color:#444;max-width:70em}
.charts{display:flex;flex-wrap:wrap;gap:16px}.qa{width:100%;table-layout:fixed;margin-bottom:12px}
.qa td{word-break:break-word}.text{white-space:pre-wrap;max-height:14em;overflow:auto}.scores{font-size:12px;color:#555;margin-top:6px;white-space:normal}
.tag{display:inline-block;border-radius:3px;padding:0 4px;font-size:11px;background:#eee;margin-right:4px}`;

function metricTable(r: EvalReport): string {
  const lang = r.lang;
  const level = +(100 * r.settings.bootstrap.level).toFixed(1);
  const head = r.systems.map((s, i) => `<th><span style="color:${SERIES_COLOURS[i % SERIES_COLOURS.length]}">■</span> ${esc(s.system)}</th>`
    + (i > 0 ? `<th>${esc(tr('delta', lang))}</th><th>${esc(tr('interval', lang, { level }))}</th>` : '')).join('');
  const body = shownRows(r).map((m) => {
    const cells = r.systems.map((s, i) => {
      if (i === 0) return `<td class="num">${esc(formatValue(m, s[m.key]))}</td>`;
      const [d, ci] = deltaCells(r, i, m);
      const cls = d.endsWith('▲') ? 'good' : d.endsWith('▼') ? 'bad' : '';
      return `<td class="num">${esc(formatValue(m, s[m.key]))}</td><td class="num ${cls}">${esc(d)}</td><td class="num muted">${esc(ci)}</td>`;
    }).join('');
    return `<tr><th>${esc(metricLabel(m.key, lang))}</th>${cells}</tr>`;
  }).join('\n');
  return `<table><thead><tr><th>${esc(tr('metric', lang))}</th>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function charts(r: EvalReport): string {
  const names = r.systems.map((s) => s.system);
  const unit = shownRows(r).filter((m) => m.unitScale);
  const quality = barChartSvg(tr('quality', r.lang), names,
    unit.map((m) => ({ label: metricLabel(m.key, r.lang), values: r.systems.map((s) => s[m.key] as number | null) })), (v) => `${(100 * v).toFixed(0)}%`, 1);
  const loss = barChartSvg(tr('lossChart', r.lang), names,
    [{ label: metricLabel('loss', r.lang), values: r.systems.map((s) => s.loss) }], (v) => v.toFixed(3));
  return `<div class="charts">${quality}${loss}</div>`;
}

function scores(a: AnswerResult, lang: ReportLang): string {
  const parts = [
    `${metricLabel('rougeL', lang)} ${(100 * a.rougeL).toFixed(1)}%`, `${metricLabel('charF1', lang)} ${(100 * a.charF1).toFixed(1)}%`,
    `${metricLabel('loss', lang)} ${a.loss === null ? '—' : a.loss.toFixed(3)}`, tr('tokens', lang, { n: a.answerTokens }),
  ];
  if (a.consistency !== null) parts.push(`${metricLabel('consistency', lang)} ${(100 * a.consistency).toFixed(1)}%`);
  if (a.judge) parts.push(`${metricLabel('judge', lang)} ${a.judge.score ?? '—'}${a.judge.reason ? ` (${a.judge.reason})` : ''}`);
  const tags = `${a.exact ? `<span class="tag good">${esc(tr('exact', lang))}</span>` : ''}<span class="tag">${esc(tr(a.finishReason === 'stop' ? 'stopped' : 'hitMax', lang))}</span>`;
  return `<div class="scores">${tags}${esc(parts.join(' · '))}</div>`;
}

function textBlock(s: string, lang: ReportLang): string {
  return s.trim() ? `<div class="text">${esc(s)}</div>` : `<div class="muted">${esc(tr('empty', lang, { n: Array.from(s).length }))}</div>`;
}

function answerCell(a: AnswerResult | undefined, lang: ReportLang): string {
  return a ? `<td>${textBlock(a.answer, lang)}${scores(a, lang)}</td>` : `<td class="muted">${esc(tr('notEvaluated', lang))}</td>`;
}

function promptBlock(q: QuestionReport, lang: ReportLang): string {
  const earlier = q.messages && q.messages.length > 1
    ? `<details><summary class="muted">${esc(tr('fullPrompt', lang, { n: q.messages.length }))}</summary>${q.messages.map((m) => `<div><b>${esc(m.role)}</b>: ${esc(m.content)}</div>`).join('')}</details>`
    : '';
  return `<div><b>Q${q.index + 1}</b> <span class="muted">(${esc(tr('line', lang, { n: q.line }))})</span> ${esc(q.question)}</div>${earlier}`;
}

function deltaText(d: QuestionDelta, lang: ReportLang): string {
  const pt = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} pt`;
  const parts = [`${metricLabel('rougeL', lang)} ${pt(d.rougeL)}`, `${metricLabel('charF1', lang)} ${pt(d.charF1)}`];
  if (d.loss !== null) parts.push(`${metricLabel('loss', lang)} ${d.loss >= 0 ? '+' : ''}${d.loss.toFixed(3)}`);
  if (d.judge !== null) parts.push(`${metricLabel('judge', lang)} ${d.judge >= 0 ? '+' : ''}${d.judge}`);
  if (d.identical) parts.push(tr('identicalTag', lang));
  return parts.join(' · ');
}

/** One question: the prompt, and the reference beside the two systems' answers. */
function qaTable(q: QuestionReport, c: Comparison, lang: ReportLang, head = ''): string {
  return `<table class="qa"><colgroup><col style="width:28%"><col style="width:36%"><col style="width:36%"></colgroup>
<tr><th colspan="3">${promptBlock(q, lang)}${head}</th></tr>
<tr><th>${esc(tr('reference', lang))}</th><th>${esc(c.baseline)}</th><th>${esc(c.system)}</th></tr>
<tr><td>${textBlock(q.reference, lang)}</td>${answerCell(q.results[c.baseline], lang)}${answerCell(q.results[c.system], lang)}</tr></table>`;
}

function questionRows(r: EvalReport, c: Comparison, list: QuestionDelta[], cls: string): string {
  if (list.length === 0) return `<p class="muted">${esc(tr('none', r.lang))}</p>`;
  return list.map((d) => qaTable(r.questions[d.index], c, r.lang, `<div class="${cls}">${esc(deltaText(d, r.lang))}</div>`)).join('\n');
}

function comparisonSection(r: EvalReport, c: Comparison): string {
  const lang = r.lang;
  return `<h2>${esc(c.baseline)} vs ${esc(c.system)}</h2>
<p>${esc(verdictLine(r, c))}<br><span class="muted">${esc(tr('ranked', lang, { pt: +(100 * c.rule.minChange).toFixed(2) }))}</span></p>
<h3>${esc(tr('improvements', lang))}</h3>\n${questionRows(r, c, c.improved, 'good')}
<h3>${esc(tr('regressions', lang))}</h3>\n${questionRows(r, c, c.regressed, 'bad')}
<h3>${esc(tr('unchanged', lang))}</h3>\n${questionRows(r, c, c.unchanged, 'muted')}${notCompared(r, c)}`;
}

/** Questions only one side answered before the run was interrupted. */
function notCompared(r: EvalReport, c: Comparison): string {
  const half = r.questions.filter((q) => Boolean(q.results[c.system]) !== Boolean(q.results[c.baseline]));
  if (half.length === 0) return '';
  return `\n<h3>${esc(tr('notCompared', r.lang))}</h3>\n${half.map((q) => qaTable(q, c, r.lang)).join('\n')}`;
}

function baseOnly(r: EvalReport): string {
  const name = r.systems[0].system;
  const rows = r.questions.map((q) => `<table class="qa"><tr><th colspan="2">${promptBlock(q, r.lang)}</th></tr>
<tr><th>${esc(tr('reference', r.lang))}</th><th>${esc(name)}</th></tr><tr><td>${textBlock(q.reference, r.lang)}</td>${answerCell(q.results[name], r.lang)}</tr></table>`);
  return `<h2>${esc(tr('answers', r.lang))}</h2>\n${rows.join('\n')}`;
}

export function reportHtml(r: EvalReport): string {
  const s = r.settings;
  const lang = r.lang;
  const settings = [
    `${tr('setModel', lang)}: ${r.model}`, tr('setData', lang, { data: r.data, n: r.questions.length }),
    tr('setMax', lang, { v: s.maxTokens ?? tr('setMaxAuto', lang) }), tr('setSamples', lang, { n: s.samples, t: s.temperature }), tr('setSeed', lang, { v: s.seed }),
    tr('setJudge', lang, { v: s.judge ? `${s.judge.model} @ ${s.judge.url}` : tr('off', lang) }),
  ];
  return `<!DOCTYPE html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>shitate eval — ${esc(r.model)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(tr('title', lang))}</h1>
<p class="muted">${settings.map(esc).join(' · ')}</p>
${r.complete ? '' : `<div class="banner">${esc(tr('partialBanner', lang))}</div>`}
<h2>${esc(tr('metrics', lang))}</h2>
${metricTable(r)}
<details class="method" open><summary>${esc(tr('method', lang))}</summary>${r.method.map((n) => `<p>${esc(n)}</p>`).join('')}</details>
${charts(r)}
${r.comparisons.length ? r.comparisons.map((c) => comparisonSection(r, c)).join('\n') : baseOnly(r)}
${s.judge ? `<h2>${esc(tr('rubric', lang))}</h2><pre style="white-space:pre-wrap">${esc(s.judge.rubric)}</pre>` : ''}
</body></html>
`;
}
