// Method page: pick a model folder on this machine (with the catalog's licence verdict for your purpose),
// ask the advisor which way to customize fits, and see the memory and time estimate before starting.
import { useEffect, useState } from 'preact/hooks';
import { api, Badge, ErrorBox, fmt, getLang, getState, html, setState, t, useShared } from './ui.js';

const DECISION = { allow: 'ok', 'needs-ack': 'warn', block: 'error' };

function ModelPicker({ purpose, setPurpose }) {
  const shared = useShared();
  const [models, setModels] = useState(null);
  const [extra, setExtra] = useState('');
  const [error, setError] = useState(null);
  const load = async (path = null) => {
    setError(null);
    try {
      const q = new URLSearchParams({ purpose: purpose || 'none', ...(path ? { path } : {}) });
      const r = await api(`/api/models?${q}`);
      setModels(r.models);
      if (!getState().model) {
        const first = r.models.find((m) => m.supported);
        if (first) setState({ model: first.path });
      }
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => { load(); }, [purpose]);
  return html`<section class="panel" aria-labelledby="models-title">
    <h3 id="models-title">${t('method.models')}</h3>
    <div class="row">
      <div class="field compact"><label for="purpose">${t('method.purpose')}</label>
        <select id="purpose" value=${purpose} onChange=${(e) => setPurpose(e.target.value)}>
          ${['commercial', 'research', 'personal', 'none'].map((p) => html`<option value=${p}>${t(`purpose.${p}`)}</option>`)}</select></div>
      <div class="field grow"><label for="model-path">${t('method.otherFolder')}</label>
        <input id="model-path" value=${extra} placeholder="/path/to/Qwen2.5-0.5B-Instruct" onInput=${(e) => setExtra(e.target.value)} /></div>
      <button onClick=${() => extra && load(extra)}>${t('method.add')}</button>
    </div>
    <${ErrorBox} error=${error} />
    ${models === null ? html`<p class="muted">${t('loading')}</p>` : models.length === 0 ? html`<p class="muted">${t('method.noModels')}</p>` : html`
    <div class="table-wrap"><table data-testid="models">
      <thead><tr><th scope="col">${t('method.use')}</th><th scope="col">${t('name')}</th><th scope="col">${t('method.type')}</th><th scope="col">${t('method.params')}</th><th scope="col">${t('method.licence')}</th></tr></thead>
      <tbody>${models.map((m) => html`<tr class=${m.supported ? '' : 'dim'}>
        <td><input type="radio" name="model" checked=${shared.model === m.path} disabled=${!m.supported} aria-label=${t('method.useModel', { name: m.name })}
          onChange=${() => setState({ model: m.path })} /></td>
        <td><strong>${m.name}</strong><div class="muted small">${m.path}</div>${m.problem ? html`<div class="small bad">${m.problem}</div>` : null}
          ${m.hasChatTemplate ? null : html`<div class="small warnc">${t('method.noTemplate')}</div>`}</td>
        <td>${m.modelType ?? '—'}</td><td>${fmt.params(m.params)}</td>
        <td><${Badge} kind=${DECISION[m.licence.decision]}>${t(`licence.${m.licence.decision}`)}<//> ${m.licence.name}
          <details><summary>${t('method.why')}</summary><p class="small">${m.licence.explanation}</p>
          ${m.licence.obligations.length ? html`<ul class="small">${m.licence.obligations.map((o) => html`<li>${o}</li>`)}</ul>` : null}</details></td>
      </tr>`)}</tbody>
    </table></div>`}
  </section>`;
}

function Advisor({ purpose, examples }) {
  const [a, setA] = useState({ goal: 'style', examples, confidential: 'yes', budget: 'none', hardware: 'cpu', skill: 'beginner' });
  const [advice, setAdvice] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => setA((x) => ({ ...x, examples })), [examples]);
  const ask = async () => {
    setError(null);
    try {
      setAdvice((await api('/api/advise', { method: 'POST', json: { ...a, purpose, japanese: getLang() === 'ja' ? 'yes' : 'no' } })).advice);
    } catch (e) {
      setError(e);
    }
  };
  const sel = (k, opts) => html`<div class="field compact"><label for=${`adv-${k}`}>${t(`adv.${k}`)}</label>
    <select id=${`adv-${k}`} value=${a[k]} onChange=${(e) => setA({ ...a, [k]: e.target.value })}>${opts.map((o) => html`<option value=${o}>${t(`adv.${k}.${o}`)}</option>`)}</select></div>`;
  const l = getLang();
  return html`<section class="panel" aria-labelledby="adv-title">
    <h3 id="adv-title">${t('method.advisor')}</h3>
    <div class="row wrap">
      ${sel('goal', ['style', 'knowledge', 'fresh', 'personal'])}
      <div class="field compact"><label for="adv-examples">${t('adv.examples')}</label><input id="adv-examples" type="number" min="0" value=${a.examples} onInput=${(e) => setA({ ...a, examples: Number(e.target.value) })} /></div>
      ${sel('confidential', ['yes', 'no'])}${sel('budget', ['none', 'low', 'medium', 'high'])}${sel('hardware', ['cpu', 'gpu', 'cloud'])}${sel('skill', ['beginner', 'intermediate', 'advanced'])}
    </div>
    <button class="primary" onClick=${ask} data-testid="advise">${t('method.ask')}</button>
    <${ErrorBox} error=${error} />
    ${advice ? html`<ol class="advice" data-testid="advice">${advice.recommendations.map((r) => html`<li class=${`rec ${r.level}`}>
      <div class="rec-head"><strong>${t(`m.${r.method}`)}</strong> <${Badge} kind=${r.level === 'recommended' ? 'ok' : r.level === 'possible' ? 'info' : 'muted'}>${t(`level.${r.level}`)}<//>
        <span class="stars" aria-label=${t('method.difficulty', { n: r.difficulty })}>${'★'.repeat(r.difficulty)}${'☆'.repeat(3 - r.difficulty)}</span> <span class="muted">${r.cost[l]}</span></div>
      <ul class="reasons small">${r.reasons.map((x) => html`<li class=${x.points >= 0 ? 'pro' : 'con'}>${x.points >= 0 ? '+' : '−'} ${x.text[l]}</li>`)}</ul>
      ${r.models.length ? html`<p class="small">${t('method.candidates')}: ${r.models.map((m) => `${m.id} (${m.licence})`).join(', ')}</p>` : null}
      ${r.commands.length ? html`<pre class="small">${r.commands.join('\n')}</pre>` : null}
    </li>`)}</ol>` : null}
  </section>`;
}

function Estimate({ model, dataset }) {
  const tokens = dataset && dataset.lengths && dataset.lengths.unit === 'tokens' && dataset.split
    ? Math.round((dataset.lengths.total * dataset.split.train) / Math.max(1, dataset.split.train + dataset.split.val)) : 1000000;
  const [o, setO] = useState({ method: 'lora', precision: 'fp32', rank: 8, seq: 512, batch: 2 });
  const [est, setEst] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setEst((await api('/api/estimate', { method: 'POST', json: { model, ...o, tokens } })).estimate);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const num = (k, min) => html`<div class="field compact"><label for=${`est-${k}`}>${t(`est.${k}`)}</label><input id=${`est-${k}`} type="number" min=${min} value=${o[k]} onInput=${(e) => setO({ ...o, [k]: Number(e.target.value) })} /></div>`;
  return html`<section class="panel" aria-labelledby="est-title">
    <h3 id="est-title">${t('method.estimate')}</h3>
    ${model ? html`<p class="muted">${t('method.estimateFor', { model: model.split(/[\\/]/).pop(), tokens: fmt.int(tokens) })}</p>` : html`<p class="muted">${t('method.pickModel')}</p>`}
    <div class="row wrap">
      <div class="field compact"><label for="est-method">${t('est.method')}</label><select id="est-method" value=${o.method} onChange=${(e) => setO({ ...o, method: e.target.value })}>
        ${['lora', 'qlora', 'full'].map((m) => html`<option value=${m}>${t(`m.${m}`)}</option>`)}</select></div>
      <div class="field compact"><label for="est-precision">${t('est.precision')}</label><select id="est-precision" value=${o.precision} onChange=${(e) => setO({ ...o, precision: e.target.value })}>
        <option value="fp32">fp32</option><option value="bf16">bf16</option></select></div>
      ${num('rank', 1)}${num('seq', 8)}${num('batch', 1)}
    </div>
    <button class="primary" disabled=${!model || busy} onClick=${run} data-testid="estimate">${busy ? t('method.measuring') : t('method.runEstimate')}</button>
    <${ErrorBox} error=${error} />
    ${est ? html`<div data-testid="estimate-result">
      <table class="kv"><tbody>
        <tr><th scope="row">${t('method.params')}</th><td>${fmt.params(est.cpu.params)} (${t('est.trainable')} ${fmt.params(est.cpu.trainableParams)})</td></tr>
        <tr><th scope="row">${t('est.cpuPeak')}</th><td>${fmt.bytes(est.cpu.peakBytes)}</td></tr>
        ${Object.entries(est.gpu).map(([k, g]) => html`<tr><th scope="row">GPU ${k}</th><td>${fmt.bytes(g.peakBytes)}</td></tr>`)}
        <tr><th scope="row">${t('est.time')}</th><td>${est.cpuSecondsPerEpoch !== null ? fmt.time(est.cpuSecondsPerEpoch) : '—'}</td></tr>
        <tr><th scope="row">${t('method.licence')}</th><td>${est.licence}</td></tr>
      </tbody></table>
      <p class="small muted"><code>${est.command}</code></p>
    </div>` : null}
  </section>`;
}

export function MethodPage() {
  const shared = useShared();
  const [purpose, setPurpose] = useState(shared.purpose || 'commercial');
  const [dataset, setDataset] = useState(null);
  useEffect(() => {
    if (shared.dataset) api(`/api/datasets/${shared.dataset}`).then((r) => setDataset(r.dataset), () => setDataset(null));
  }, [shared.dataset]);
  const choosePurpose = (p) => {
    setPurpose(p);
    setState({ purpose: p });
  };
  return html`<div class="page">
    <h2>${t('method.title')}</h2>
    <p class="lead">${t('method.lead')}</p>
    <${ModelPicker} purpose=${purpose} setPurpose=${choosePurpose} />
    <div class="grid two">
      <${Advisor} purpose=${purpose} examples=${dataset && dataset.split ? dataset.split.train + dataset.split.val : 0} />
      <${Estimate} key=${shared.model} model=${shared.model} dataset=${dataset} />
    </div>
    ${shared.model ? html`<p><a class="button primary" href="#/training">${t('method.next')}</a></p>` : null}
  </div>`;
}
