// The classification report: a terminal summary (scores against the majority baseline, per-label precision /
// recall / F1, the confusion matrix, the misclassified texts) and the same as one self-contained HTML page.
import { escapeHtml } from '../data/html.js';
import { FONT_STACK } from '../data/html-fonts.js';
import type { ClassifyEvalResult } from './classify-eval.js';

/** Terminal columns of a string: East Asian wide and fullwidth characters take two. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u.test(ch) ? 2 : 1;
  return w;
}

function pad(s: string, width: number, right = false): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return right ? fill + s : s + fill;
}

function cut(s: string, width: number): string {
  let out = '';
  for (const ch of s.replace(/\s+/g, ' ')) {
    if (displayWidth(out + ch) > width - 1) return `${out}…`;
    out += ch;
  }
  return out;
}

const f3 = (x: number): string => x.toFixed(3);

export function classifyTable(r: ClassifyEvalResult, maxMistakes = 20): string {
  const m = r.metrics;
  const b = r.baseline.metrics;
  const lines = [
    `classifier: ${r.model}`,
    `data: ${r.data} (${m.count} texts)${r.unknownLabels.length ? `; labels the classifier does not know (always wrong): ${r.unknownLabels.join(', ')}` : ''}`,
    '',
    `accuracy ${f3(m.accuracy)}   macro-F1 ${f3(m.macroF1)}   weighted-F1 ${f3(m.weightedF1)}`,
    `majority baseline (always "${r.baseline.label}", the commonest label of the ${r.baseline.from}): accuracy ${f3(b.accuracy)}   macro-F1 ${f3(b.macroF1)}`,
    '',
  ];
  const lw = Math.min(24, Math.max(5, ...r.labels.map(displayWidth)));
  lines.push(`${pad('label', lw)}  precision  recall     F1  support`);
  for (const s of m.perLabel) lines.push(`${pad(cut(s.label, lw + 1), lw)}  ${pad(f3(s.precision), 9, true)}  ${pad(f3(s.recall), 6, true)}  ${pad(f3(s.f1), 5, true)}  ${pad(String(s.support), 7, true)}`);
  lines.push('', 'confusion matrix (rows: true label, columns: predicted)');
  const cw = Math.max(3, String(Math.max(...m.confusion.flat())).length + 1, String(r.labels.length).length + 3);
  lines.push(`${pad('', lw + 5)}${r.labels.map((_, j) => pad(`[${j + 1}]`, cw, true)).join('')}`);
  m.confusion.forEach((row, i) => lines.push(`${pad(`[${i + 1}]`, 5)}${pad(cut(r.labels[i], lw + 1), lw)}${row.map((n) => pad(n === 0 ? '.' : String(n), cw, true)).join('')}`));
  if (r.misclassified.length > 0) {
    lines.push('', `misclassified: ${r.misclassified.length} of ${m.count}${r.misclassified.length > maxMistakes ? ` (the ${maxMistakes} most confident shown; all in the JSON and HTML)` : ''}`);
    for (const x of r.misclassified.slice(0, maxMistakes)) {
      lines.push(`  ${x.source}  ${x.truth} -> ${x.predicted} (${f3(x.score)})  ${cut(x.text, 60)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Cell colour of the confusion matrix: share of the row, green on the diagonal, red off it. */
function cellStyle(n: number, rowTotal: number, diagonal: boolean): string {
  if (n === 0) return '';
  const a = (0.15 + 0.75 * (n / Math.max(1, rowTotal))).toFixed(2);
  return ` style="background:rgba(${diagonal ? '34,139,34' : '200,40,40'},${a})"`;
}

export function classifyHtml(r: ClassifyEvalResult): string {
  const m = r.metrics;
  const e = escapeHtml;
  const perLabel = m.perLabel.map((s) => `<tr><td>${e(s.label)}</td><td>${f3(s.precision)}</td><td>${f3(s.recall)}</td><td>${f3(s.f1)}</td><td>${s.support}</td></tr>`).join('');
  const head = r.labels.map((l, j) => `<th title="${e(l)}">${j + 1}</th>`).join('');
  const rows = m.confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return `<tr><th class="l">${i + 1}. ${e(r.labels[i])}</th>${row.map((n, j) => `<td${cellStyle(n, total, i === j)}>${n}</td>`).join('')}</tr>`;
  }).join('');
  const wrong = r.misclassified.map((x) => `<tr><td>${e(x.text)}</td><td>${e(x.truth)}</td><td>${e(x.predicted)}</td><td>${f3(x.score)}</td><td>${f3(x.truthScore)}</td><td>${e(x.source)}</td></tr>`).join('');
  const b = r.baseline;
  return `<!doctype html><html><head><meta charset="utf-8"><title>classification report</title><style>
body{font-family:${FONT_STACK};margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:right}
th.l,td:first-child{text-align:left}.big{font-size:1.4rem}.muted{color:#666}</style></head><body>
<h1>Classification report</h1>
<p class="muted">${e(r.model)} — ${e(r.data)} (${m.count} texts)</p>
<p class="big">accuracy <b>${f3(m.accuracy)}</b> · macro-F1 <b>${f3(m.macroF1)}</b> · weighted-F1 ${f3(m.weightedF1)}</p>
<p>Majority baseline (always “${e(b.label)}”, the commonest label of the ${b.from}): accuracy ${f3(b.metrics.accuracy)} · macro-F1 ${f3(b.metrics.macroF1)}</p>
<h2>Per label</h2><table><tr><th class="l">label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>${perLabel}</table>
<h2>Confusion matrix</h2><p class="muted">rows: true label · columns: predicted label</p><table><tr><th></th>${head}</tr>${rows}</table>
<h2>Misclassified (${r.misclassified.length})</h2><table><tr><th class="l">text</th><th>true</th><th>predicted</th><th>p(predicted)</th><th>p(true)</th><th>source</th></tr>${wrong}</table>
</body></html>
`;
}
