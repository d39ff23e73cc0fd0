// Training page: start a run (the form is drawn from train's own settings schema), the list of runs with
// their curves, one run live, and several runs compared (curves overlaid, settings that differ).
import { useEffect, useState } from 'preact/hooks';
import { api, fmt, html, notify, setState, showError, statusBadge, t, useShared, usePoll } from './ui.js';
import { COLORS, LineChart, Sparkline } from './chart.js';
import { RunView } from './run-view.js';

const MAIN = ['epochs', 'max_steps', 'learning_rate', 'lora_r', 'lora_alpha', 'batch_tokens', 'max_seq_len', 'eval_every', 'early_stopping_patience', 'precision'];
/** A small model (like the bundled one) learns with a higher rate and more passes than a real one. */
const SMALL_PRESET = { learning_rate: 0.003, lora_r: 16, lora_alpha: 32, epochs: 24, max_seq_len: 256, batch_tokens: 2048, early_stopping_patience: 2 };

function SettingInput({ s, value, onChange }) {
  const id = `set-${s.key}`;
  const v = value === undefined ? s.default : value;
  let input;
  if (s.choices) {
    input = html`<select id=${id} value=${v ?? ''} onChange=${(e) => onChange(e.target.value)}>
      ${s.nullable ? html`<option value="">—</option>` : null}${s.choices.map((c) => html`<option value=${c}>${c}</option>`)}</select>`;
  } else if (s.type === 'boolean') {
    input = html`<input id=${id} type="checkbox" checked=${Boolean(v)} onChange=${(e) => onChange(e.target.checked)} />`;
  } else if (s.type === 'number' || s.type === 'int') {
    input = html`<input id=${id} type="number" step=${s.type === 'int' ? 1 : 'any'} min=${s.min} max=${s.max} value=${v ?? ''} placeholder=${s.nullable ? t('train.auto') : ''}
      onInput=${(e) => onChange(e.target.value === '' ? null : Number(e.target.value))} />`;
  } else {
    input = html`<input id=${id} value=${Array.isArray(v) ? v.join(',') : v ?? ''} onInput=${(e) => onChange(e.target.value === '' ? null : e.target.value)} />`;
  }
  const label = MAIN.includes(s.key) ? t(`set.${s.key}`) : s.key;
  return html`<div class="field" title=${s.help}><label for=${id}>${label}${label !== s.key ? html` <span class="key">${s.key}</span>` : null}</label>${input}</div>`;
}

function StartForm({ onStarted }) {
  const shared = useShared();
  const [schema, setSchema] = useState([]);
  const [datasets, setDatasets] = useState([]);
  const [values, setValues] = useState({});
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [licence, setLicence] = useState(null);
  const [accept, setAccept] = useState(false);
  useEffect(() => {
    Promise.all([api('/api/train/settings'), api('/api/datasets')]).then(([s, d]) => {
      setSchema(s.settings);
      setDatasets(d.datasets);
    }, showError);
  }, []);
  // the licence gate's verdict for this model and purpose, so conditions are accepted here, not in a failed run
  useEffect(() => {
    if (!shared.model || !shared.purpose || shared.purpose === 'none') return setLicence(null);
    api(`/api/models?purpose=${shared.purpose}&path=${encodeURIComponent(shared.model)}`)
      .then((r) => setLicence((r.models.find((m) => m.path === shared.model) || {}).licence || null), showError);
  }, [shared.model, shared.purpose]);
  const set = (k, v) => setValues({ ...values, [k]: v });
  const changed = () => {
    const out = {};
    for (const s of schema) if (values[s.key] !== undefined && JSON.stringify(values[s.key]) !== JSON.stringify(s.default)) out[s.key] = values[s.key];
    if (shared.purpose && shared.purpose !== 'none' && out.purpose === undefined) out.purpose = shared.purpose;
    if (accept) out.accept_licence = true;
    return out;
  };
  const start = async () => {
    setBusy(true);
    try {
      const r = await api('/api/runs', { method: 'POST', json: { model: shared.model, dataset: shared.dataset, name: name || undefined, settings: changed() } });
      notify('ok', t('train.started', { name: r.run.name }));
      onStarted(r.run.id);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };
  const byKey = Object.fromEntries(schema.map((s) => [s.key, s]));
  return html`<section class="panel" aria-labelledby="start-title">
    <h3 id="start-title">${t('train.new')}</h3>
    <p class="small">${t('train.model')}: <strong>${shared.model ? shared.model.split(/[\\/]/).pop() : t('train.noModel')}</strong> · <a href="#/method">${t('train.change')}</a></p>
    <div class="field compact"><label for="start-dataset">${t('train.dataset')}</label>
      <select id="start-dataset" value=${shared.dataset || ''} onChange=${(e) => setState({ dataset: e.target.value })}>
        <option value="">—</option>${datasets.map((d) => html`<option value=${d.id}>${d.name} (${d.split ? `${d.split.train}/${d.split.val}` : ''})</option>`)}</select></div>
    <div class="field compact"><label for="start-name">${t('name')}</label><input id="start-name" value=${name} onInput=${(e) => setName(e.target.value)} placeholder=${t('train.namePh')} /></div>
    <div class="settings">${MAIN.filter((k) => byKey[k]).map((k) => html`<${SettingInput} s=${byKey[k]} value=${values[k]} onChange=${(v) => set(k, v)} />`)}</div>
    <button class="small" onClick=${() => setValues({ ...values, ...SMALL_PRESET })}>${t('train.preset')}</button>
    <details><summary>${t('train.advanced')}</summary>
      <div class="settings">${schema.filter((s) => !MAIN.includes(s.key)).map((s) => html`<${SettingInput} s=${s} value=${values[s.key]} onChange=${(v) => set(s.key, v)} />`)}</div>
    </details>
    ${licence && licence.decision !== 'allow' ? html`<div class=${`notice inline ${licence.decision === 'block' ? 'error' : ''}`} data-testid="licence-gate">
      <div><strong>${t(`train.licence.${licence.decision}`, { name: licence.name, purpose: t(`purpose.${shared.purpose}`) })}</strong>
        <p class="small">${licence.explanation}</p>
        ${licence.obligations.length ? html`<ul class="small">${licence.obligations.map((o) => html`<li>${o}</li>`)}</ul>` : null}
        ${licence.decision === 'needs-ack' ? html`<label class="check"><input type="checkbox" checked=${accept} onChange=${(e) => setAccept(e.target.checked)} /> ${t('train.accept')}</label>` : null}
      </div></div>` : null}
    <button class="primary" disabled=${busy || !shared.model || !shared.dataset || (licence && licence.decision === 'needs-ack' && !accept)} onClick=${start} data-testid="start">${busy ? t('working') : t('train.start')}</button>
    ${!shared.dataset ? html`<p class="small muted">${t('train.needData')} <a href="#/data">${t('nav.data')}</a></p>` : null}
  </section>`;
}

function RunsList({ runs, current, picked, setPicked }) {
  if (runs.length === 0) return html`<p class="muted">${t('train.noRuns')}</p>`;
  return html`<div class="table-wrap"><table data-testid="runs">
    <thead><tr><th scope="col">${t('train.compareCol')}</th><th scope="col">${t('name')}</th><th scope="col">${t('status')}</th><th scope="col">${t('train.step')}</th>
      <th scope="col">${t('train.bestVal')}</th><th scope="col">${t('train.curve')}</th><th scope="col">${t('created')}</th></tr></thead>
    <tbody>${runs.map((r) => html`<tr class=${r.id === current ? 'current' : ''}>
      <td><input type="checkbox" aria-label=${t('train.pick', { name: r.name })} checked=${picked.includes(r.id)}
        onChange=${() => setPicked(picked.includes(r.id) ? picked.filter((x) => x !== r.id) : [...picked, r.id])} /></td>
      <td><a href=${`#/training/${r.id}`}>${r.name}</a></td><td>${statusBadge(r.status)}</td>
      <td>${r.progress ? `${r.progress.step}/${r.progress.totalSteps}` : '—'}</td><td>${r.best ? fmt.num(r.best.valLoss) : '—'}</td>
      <td><${Sparkline} points=${r.curve} /></td><td>${fmt.date(r.createdAt)}</td></tr>`)}</tbody>
  </table></div>`;
}

function Compare({ ids }) {
  const [data, setData] = useState(null);
  useEffect(() => {
    api(`/api/runs/compare?ids=${ids.join(',')}`).then(setData, showError);
  }, [ids.join(',')]);
  if (!data) return null;
  const series = data.runs.flatMap((r, i) => [
    { label: `${r.name} · ${t('train.trainLoss')}`, points: r.train, color: COLORS[i % COLORS.length] },
    { label: `${r.name} · ${t('train.valLoss')}`, points: r.val, color: COLORS[i % COLORS.length], dash: [6, 4], dots: true },
  ]);
  return html`<section class="panel" aria-labelledby="cmp-title" data-testid="compare">
    <h3 id="cmp-title">${t('train.compare')}</h3>
    <${LineChart} height=${280} xLabel=${t('train.step')} yLabel=${t('train.loss')} series=${series} ariaLabel=${t('train.compare')} />
    <h4>${t('train.diff')}</h4>
    ${data.diff.length === 0 ? html`<p class="muted">${t('train.noDiff')}</p>` : html`<div class="table-wrap"><table class="small">
      <thead><tr><th scope="col">${t('train.setting')}</th>${data.runs.map((r) => html`<th scope="col">${r.name}</th>`)}</tr></thead>
      <tbody>${data.diff.map((d) => html`<tr><th scope="row">${d.key}</th>${data.runs.map((r) => html`<td><code>${JSON.stringify(d.values[r.id])}</code></td>`)}</tr>`)}</tbody>
    </table></div>`}
    <p class="small muted">${t('train.same', { n: data.same })}</p>
  </section>`;
}

export function TrainingPage({ arg }) {
  const [runs, setRuns] = useState([]);
  const [picked, setPicked] = useState([]);
  const current = arg || (runs[0] && runs[0].id) || null;
  const load = async () => setRuns((await api('/api/runs')).runs);
  usePoll(load, 3000, []);
  return html`<div class="page">
    <h2>${t('train.title')}</h2>
    <p class="lead">${t('train.lead')}</p>
    <div class="grid side">
      <${StartForm} onStarted=${(id) => { location.hash = `#/training/${id}`; load().catch(showError); }} />
      <div>
        ${current ? html`<${RunView} key=${current} id=${current} onChanged=${() => load().catch(showError)} />` : null}
        <section aria-labelledby="runs-title"><h3 id="runs-title">${t('train.runs')}</h3>
          <${RunsList} runs=${runs} current=${current} picked=${picked} setPicked=${setPicked} /></section>
        ${picked.length >= 2 ? html`<${Compare} ids=${picked} />` : picked.length === 1 ? html`<p class="small muted">${t('train.pickMore')}</p>` : null}
      </div>
    </div>
  </div>`;
}
