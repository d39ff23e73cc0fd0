// Evaluation page: the base model and tuned runs answer the same held-out questions (`shitate eval`); the
// metrics table, then every question side by side, the biggest improvements and regressions first.
import { useEffect, useState } from 'preact/hooks';
import { api, Badge, ErrorBox, fmt, html, notify, showError, statusBadge, t, usePoll, useShared } from './ui.js';

const ROWS = [
  ['loss', (v) => fmt.num(v), true], ['perplexity', (v) => fmt.num(v, 2), true], ['exactMatch', fmt.pct, false], ['charF1', fmt.pct, false],
  ['rougeL', fmt.pct, false], ['stopRate', fmt.pct, false], ['meanChars', (v) => fmt.num(v, 1), null], ['consistency', fmt.pct, false],
];

function StartEval({ onStarted }) {
  const shared = useShared();
  const [runs, setRuns] = useState([]);
  const [datasets, setDatasets] = useState([]);
  const [uploads, setUploads] = useState([]);
  const [picked, setPicked] = useState([]);
  const [source, setSource] = useState('');
  const [limit, setLimit] = useState(20);
  const [maxTokens, setMaxTokens] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    Promise.all([api('/api/runs'), api('/api/datasets'), api('/api/uploads')]).then(([r, d, u]) => {
      const usable = r.runs.filter((x) => x.adapter);
      setRuns(usable);
      setPicked(usable.length ? [usable[0].id] : []);
      setDatasets(d.datasets.filter((x) => x.val));
      setUploads(u.uploads.filter((x) => /\.jsonl?$/i.test(x.name)));
      setSource(shared.dataset && d.datasets.some((x) => x.id === shared.dataset && x.val) ? `dataset:${shared.dataset}` : '');
    }, showError);
  }, []);
  const start = async () => {
    setBusy(true);
    try {
      const [kind, id] = source.split(':');
      const r = await api('/api/evals', { method: 'POST', json: { runs: picked, [kind]: id, limit: limit || null, max_tokens: maxTokens ? Number(maxTokens) : null } });
      notify('ok', t('eval.started'));
      onStarted(r.eval.id);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="panel" aria-labelledby="eval-new">
    <h3 id="eval-new">${t('eval.new')}</h3>
    <fieldset><legend>${t('eval.runs')}</legend>
      ${runs.length === 0 ? html`<p class="muted">${t('eval.noRuns')}</p>` : runs.map((r) => html`<label class="check"><input type="checkbox" checked=${picked.includes(r.id)}
        onChange=${() => setPicked(picked.includes(r.id) ? picked.filter((x) => x !== r.id) : [...picked, r.id])} /> ${r.name} ${statusBadge(r.status)}</label>`)}
    </fieldset>
    <div class="field compact"><label for="eval-data">${t('eval.data')}</label>
      <select id="eval-data" value=${source} onChange=${(e) => setSource(e.target.value)}>
        <option value="">—</option>
        ${datasets.map((d) => html`<option value=${`dataset:${d.id}`}>${t('eval.valOf', { name: d.name })}</option>`)}
        ${uploads.map((u) => html`<option value=${`upload:${u.id}`}>${u.name}</option>`)}
      </select><small>${t('eval.dataHint')}</small></div>
    <div class="field compact"><label for="eval-limit">${t('eval.limit')}</label><input id="eval-limit" type="number" min="1" value=${limit} onInput=${(e) => setLimit(Number(e.target.value))} /></div>
    <div class="field compact"><label for="eval-max">${t('eval.maxTokens')}</label><input id="eval-max" type="number" min="1" value=${maxTokens} placeholder=${t('train.auto')}
      onInput=${(e) => setMaxTokens(e.target.value)} /><small>${t('eval.maxTokensHint')}</small></div>
    <button class="primary" disabled=${busy || picked.length === 0 || !source} onClick=${start} data-testid="start-eval">${busy ? t('working') : t('eval.start')}</button>
  </section>`;
}

/** A system's name for people: "base", or the name of the run whose adapter it is. */
function label(ev, system) {
  if (system.system === 'base') return t('eval.base');
  const run = ev.runs.find((r) => r.adapter === system.adapter);
  return run ? run.name : system.system;
}

function MetricsTable({ ev, report }) {
  const base = report.systems[0];
  return html`<div class="table-wrap"><table class="metrics" data-testid="metrics">
    <thead><tr><th scope="col">${t('eval.metric')}</th>${report.systems.map((s) => html`<th scope="col">${label(ev, s)}</th>`)}</tr></thead>
    <tbody>${ROWS.map(([k, f, lower]) => html`<tr><th scope="row">${t(`metric.${k}`)}</th>${report.systems.map((s, i) => {
      const better = i > 0 && lower !== null && s[k] !== null && base[k] !== null && s[k] !== base[k] ? (lower ? s[k] < base[k] : s[k] > base[k]) : null;
      return html`<td class=${better === null ? '' : better ? 'better' : 'worse'}>${f(s[k])}</td>`;
    })}</tr>`)}</tbody>
  </table></div>`;
}

function Questions({ ev, report }) {
  const [filter, setFilter] = useState('all');
  const cmp = report.comparisons[0];
  const order = cmp ? [...cmp.improved, ...cmp.regressed, ...cmp.unchanged].map((d) => d.index) : report.questions.map((q) => q.index);
  const pick = filter === 'all' ? order : (cmp ? cmp[filter] : []).map((d) => d.index);
  const byIndex = new Map(report.questions.map((q) => [q.index, q]));
  return html`<section aria-labelledby="q-title">
    <div class="panel-head"><h3 id="q-title">${t('eval.questions')}</h3>
      <div role="group" aria-label=${t('eval.filter')} class="seg">${['all', 'improved', 'regressed'].map((f) => html`<button class=${filter === f ? 'on' : ''} aria-pressed=${filter === f}
        onClick=${() => setFilter(f)}>${t(`eval.${f}`)}${cmp && f !== 'all' ? ` (${cmp[f].length})` : ''}</button>`)}</div></div>
    <ol class="qa" data-testid="questions">${pick.map((i) => byIndex.get(i)).filter(Boolean).map((q) => html`<li>
      <p class="q"><strong>${q.question}</strong></p>
      <p class="ref"><span class="muted">${t('eval.reference')}:</span> ${q.reference}</p>
      <div class="side">${report.systems.map((s) => {
        const r = q.results[s.system];
        return html`<div class="answer"><h5>${label(ev, s)}</h5>${r ? html`<p>${r.answer || html`<em class="muted">${t('eval.emptyAnswer')}</em>`}</p>
          <p class="small muted">F1 ${fmt.pct(r.charF1)} · ROUGE-L ${fmt.pct(r.rougeL)} · ${t('metric.loss')} ${fmt.num(r.loss, 3)}${r.finishReason === 'length' ? ` · ${t('eval.cut')}` : ''}</p>` : html`<p class="muted">—</p>`}</div>`;
      })}</div></li>`)}</ol>
  </section>`;
}

function EvalView({ id, onDone }) {
  const [ev, setEv] = useState(null);
  const [done, setDone] = useState(false);
  usePoll(async () => {
    if (done) return;
    const r = (await api(`/api/evals/${id}`)).eval;
    setEv(r);
    if (r.status !== 'running' && r.status !== 'stopping') {
      setDone(true);
      if (onDone) onDone();
    }
  }, 1000, [id, done]);
  if (!ev) return html`<p class="muted">${t('loading')}</p>`;
  const p = ev.progress;
  return html`<section class="panel" data-testid="eval-view" data-status=${ev.status}>
    <div class="panel-head"><h3>${ev.runs.map((r) => r.name).join(', ')} <span class="muted small">· ${ev.dataLabel}</span></h3><div>${statusBadge(ev.status)}</div></div>
    ${ev.status === 'running' ? html`<button class="danger" onClick=${() => api(`/api/evals/${id}/stop`, { method: 'POST' }).catch(showError)}>${t('eval.stop')}</button>` : null}
    ${p ? html`<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=${p.total} aria-valuenow=${p.done}><span style=${{ width: `${(100 * p.done) / Math.max(1, p.total)}%` }}></span></div>
      <p class="small muted">${t('eval.progress', { done: p.done, total: p.total })}</p>` : null}
    <${ErrorBox} error=${ev.error} />
    ${ev.report ? html`${ev.report.complete ? null : html`<${Badge} kind="warn">${t('eval.partial')}<//>`}
      <${MetricsTable} ev=${ev} report=${ev.report} /><p class="small"><a href=${`/api/evals/${id}/report.html`} target="_blank" rel="noopener">${t('eval.html')}</a></p>
      <${Questions} ev=${ev} report=${ev.report} />` : null}
  </section>`;
}

export function EvalPage({ arg }) {
  const [evals, setEvals] = useState([]);
  const current = arg || (evals[0] && evals[0].id) || null;
  const load = async () => setEvals((await api('/api/evals')).evals);
  usePoll(load, 4000, []);
  return html`<div class="page">
    <h2>${t('eval.title')}</h2>
    <p class="lead">${t('eval.lead')}</p>
    <div class="grid side">
      <div><${StartEval} onStarted=${(id) => { location.hash = `#/evaluation/${id}`; }} />
        ${evals.length ? html`<section class="panel"><h3>${t('eval.history')}</h3><ul class="plain">${evals.map((e) => html`<li>
          <a href=${`#/evaluation/${e.id}`} aria-current=${e.id === current ? 'true' : null}>${e.runs.map((r) => r.name).join(', ')}</a> ${statusBadge(e.status)} <span class="muted small">${fmt.date(e.createdAt)}</span></li>`)}</ul></section>` : null}</div>
      <div>${current ? html`<${EvalView} key=${current} id=${current} onDone=${() => load().catch(showError)} />` : html`<p class="muted empty">${t('eval.empty')}</p>`}</div>
    </div>
  </div>`;
}
