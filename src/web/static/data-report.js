// Views of the Data page: the validation report (problems by kind, each occurrence with a link to its row),
// the examples at a row, the mapping preview table, the split after prepare, and the tokenized preview with
// the loss mask highlighted.
import { useState } from 'preact/hooks';
import { api, Badge, ErrorBox, fmt, html, showError, t } from './ui.js';

const SEVERITY = { error: 'error', warning: 'warn', info: 'muted' };

export function fileName(p) {
  return p ? p.split(/[\\/]/).pop() : '';
}

function RowDetail({ detail, onClose }) {
  return html`<div class="panel row-detail" role="region" aria-label=${t('data.rowTitle', { n: detail.n })} data-testid="row-detail">
    <div class="panel-head"><h4>${t('data.rowTitle', { n: detail.n })}</h4><button class="ghost" onClick=${onClose} aria-label=${t('close')}>×</button></div>
    ${detail.problems.map((p) => html`<p><${Badge} kind=${SEVERITY[p.severity]}>${p.title}<//> ${p.message}</p>`)}
    <${PreviewTable} rows=${detail.rows} highlight=${detail.n} />
  </div>`;
}

/** The report: counts, then each problem with its hint and its occurrences (row links open the examples). */
export function Report({ report, rowOf }) {
  const [detail, setDetail] = useState(null);
  const open = async (occ) => {
    try {
      setDetail(await rowOf(occ));
    } catch (e) {
      showError(e);
    }
  };
  const verdict = report.errors > 0 ? 'error' : report.warnings > 0 ? 'warn' : 'ok';
  return html`<section class="report" aria-labelledby="report-title" data-testid="report">
    <h3 id="report-title">${t('data.report')}</h3>
    <div class="stats">
      <div><span class="big">${fmt.int(report.examples)}</span>${t('data.examples')}</div>
      <div class=${report.errors ? 'bad' : ''}><span class="big">${report.errors}</span>${t('data.errors')}</div>
      <div class=${report.warnings ? 'warnc' : ''}><span class="big">${report.warnings}</span>${t('data.warnings')}</div>
      <div><span class="big">${fmt.int(report.lengths.p95)}</span>${t('data.p95', { unit: t(`unit.${report.lengths.unit}`) })}</div>
    </div>
    <p class=${`verdict ${verdict}`}>${t(`data.verdict.${verdict}`)}</p>
    ${report.categories.length > 0 ? html`<p class="muted">${t('data.categories')}: ${report.categories.map((c) => `${c.name} ${c.count}`).join(' · ')}</p>` : null}
    <ul class="problems">
      ${report.problems.map((p) => html`<li class=${`problem ${p.severity}`} data-code=${p.code}>
        <details open=${p.severity === 'error'}>
          <summary><${Badge} kind=${SEVERITY[p.severity]}>${t(`sev.${p.severity}`)}<//> <strong>${p.title}</strong> <span class="muted">×${p.count}</span></summary>
          <p class="hint">${p.hint}</p>
          <ul class="occurrences">
            ${p.occurrences.slice(0, 20).map((o) => html`<li>
              ${o.n !== null ? html`<button class="link" onClick=${() => open(o)} aria-label=${t('data.openRow', { n: o.n, file: fileName(o.file) })}>${fileName(o.file)} ${t(`unit.${o.unit}`)} ${o.n}</button>` : null}
              <span> ${o.message}</span>${o.excerpt ? html` <q class="muted">${o.excerpt}</q>` : null}
            </li>`)}
            ${p.occurrences.length > 20 ? html`<li class="muted">${t('data.more', { n: p.occurrences.length - 20 })}</li>` : null}
          </ul>
        </details>
      </li>`)}
    </ul>
    ${detail ? html`<${RowDetail} detail=${detail} onClose=${() => setDetail(null)} />` : null}
  </section>`;
}

export function PreviewTable({ rows, highlight = null }) {
  if (!rows || rows.length === 0) return html`<p class="muted">${t('data.noRows')}</p>`;
  const text = rows.some((r) => r.kind === 'text');
  return html`<div class="table-wrap"><table class="preview">
    <thead><tr><th scope="col">${t('data.row')}</th>${text ? html`<th scope="col">${t('data.text')}</th>` : html`
      <th scope="col">${t('data.question')}</th><th scope="col">${t('data.answer')}</th><th scope="col">${t('data.category')}</th>`}</tr></thead>
    <tbody>${rows.map((r) => html`<tr class=${r.n === highlight ? 'hl' : ''}>
      <td>${r.n}</td>${text ? html`<td>${r.text}</td>` : html`<td>${r.system ? html`<div class="muted">[system] ${r.system}</div>` : null}${r.question}</td><td>${r.answer}</td><td>${r.category ?? ''}</td>`}
    </tr>`)}</tbody>
  </table></div>`;
}

export function SplitView({ dataset, report }) {
  const s = dataset.split;
  return html`<div class="panel split" data-testid="split">
    <h4>${t('data.prepared', { name: dataset.name })}</h4>
    <div class="splitbar" role="img" aria-label=${t('data.splitAria', { train: s.train, val: s.val })}>
      <span class="train" style=${{ flexGrow: Math.max(1, s.train) }}>${t('data.train')} ${s.train}</span>
      <span class="val" style=${{ flexGrow: Math.max(1, s.val) }}>${t('data.val')} ${s.val}</span>
    </div>
    <ul class="facts">
      <li>${s.stratifiedBy ? t('data.stratified') : t('data.random')} · seed ${s.seed} · ${t('data.valShare')} ${fmt.pct(s.valRatio)}</li>
      ${s.removedDuplicates ? html`<li>${t('data.removedDup', { n: s.removedDuplicates })}</li>` : null}
      ${s.removedInvalid ? html`<li>${t('data.removedInvalid', { n: s.removedInvalid })}</li>` : null}
      ${s.redacted ? html`<li>${t('data.redacted', { n: s.redacted })}</li>` : null}
      <li class="muted">${dataset.train}</li>
    </ul>
    ${report && report.warnings ? html`<p class="muted">${t('data.stillWarnings', { n: report.warnings })}</p>` : null}
  </div>`;
}

/** The first examples as training sees them: learned-from tokens highlighted. */
export function TokenPreview({ dataset, model }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    setBusy(true);
    setError(null);
    try {
      setData(await api(`/api/datasets/${dataset.id}/tokens?n=3&model=${encodeURIComponent(model)}`));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="panel" aria-labelledby="tok-title" data-testid="token-preview">
    <h4 id="tok-title">${t('data.tokens')}</h4>
    <p class="muted">${t('data.tokensIntro', { model: fileName(model) })}</p>
    <button onClick=${load} disabled=${busy}>${busy ? t('working') : t('data.showTokens')}</button>
    <${ErrorBox} error=${error} />
    ${data ? html`<div>
      <p class="legend"><span class="tok target">${t('data.learned')}</span> <span class="tok">${t('data.context')}</span> <span class="tok special">${t('data.special')}</span>
        ${data.template === 'fallback' ? html` <${Badge} kind="warn">${t('data.fallbackTemplate')}<//>` : null}</p>
      ${data.examples.map((ex, i) => html`<div class="tokens" aria-label=${t('data.example', { n: i + 1 })}>
        <div class="muted small">${t('data.tokenCounts', { n: i + 1, tokens: ex.tokens, targets: ex.targets })}</div>
        <p>${ex.pieces.map((p) => html`<span class=${`tok${p.target ? ' target' : ''}${p.special ? ' special' : ''}`} title=${p.ids.join(' ')}>${p.text}</span>`)}</p>
      </div>`)}
    </div>` : null}
  </section>`;
}
