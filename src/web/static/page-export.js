// Export page: take a run's adapter home (PEFT folder), a merged model folder, and — where this
// installation has the commands — GGUF with an Ollama Modelfile and GPU job bundles; each result downloads.
import { useEffect, useState } from 'preact/hooks';
import { api, ErrorBox, fmt, html, notify, showError, statusBadge, t, usePoll } from './ui.js';

function Card({ kind, title, text, children, onGo, busy }) {
  return html`<div class="card" data-testid=${`export-${kind}`}>
    <h4>${title}</h4><p class="small">${text}</p>${children}
    <button class="primary" disabled=${busy} onClick=${onGo}>${t('ex.go')}</button>
  </div>`;
}

export function ExportPage() {
  const [opts, setOpts] = useState(null);
  const [runs, setRuns] = useState([]);
  const [run, setRun] = useState('');
  const [exportsList, setExports] = useState([]);
  const [quant, setQuant] = useState('q8_0');
  const [engine, setEngine] = useState('hf');
  const [gpus, setGpus] = useState(1);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    Promise.all([api('/api/export/options'), api('/api/runs')]).then(([o, r]) => {
      setOpts(o);
      const usable = r.runs.filter((x) => x.adapter);
      setRuns(usable);
      if (usable.length) setRun(usable[0].id);
    }, showError);
  }, []);
  usePoll(async () => setExports((await api('/api/exports')).exports), 2000, []);
  const go = async (kind, extra = {}) => {
    setBusy(true);
    try {
      await api('/api/exports', { method: 'POST', json: { run, kind, ...extra } });
      notify('ok', t('ex.started'));
      setExports((await api('/api/exports')).exports);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };
  if (!opts) return html`<div class="page"><p class="muted">${t('loading')}</p></div>`;
  return html`<div class="page">
    <h2>${t('ex.title')}</h2>
    <p class="lead">${t('ex.lead')}</p>
    ${runs.length === 0 ? html`<p class="muted">${t('ex.noRuns')}</p>` : html`
    <div class="field compact"><label for="ex-run">${t('ex.run')}</label><select id="ex-run" value=${run} onChange=${(e) => setRun(e.target.value)}>
      ${runs.map((r) => html`<option value=${r.id}>${r.name}</option>`)}</select></div>
    <div class="cards">
      <${Card} kind="adapter" title=${t('ex.adapter')} text=${t('ex.adapterText')} busy=${busy} onGo=${() => go('adapter')} />
      ${opts.merged ? html`<${Card} kind="merged" title=${t('ex.merged')} text=${t('ex.mergedText')} busy=${busy} onGo=${() => go('merged')} />` : null}
      ${opts.gguf ? html`<${Card} kind="gguf" title=${t('ex.gguf')} text=${t('ex.ggufText')} busy=${busy} onGo=${() => go('gguf', { quant, ollama: true })}>
        <div class="field compact"><label for="ex-quant">${t('ex.quant')}</label><select id="ex-quant" value=${quant} onChange=${(e) => setQuant(e.target.value)}>
          ${opts.quants.map((q) => html`<option value=${q}>${q}</option>`)}</select></div><//>` : null}
      ${opts.job ? html`<${Card} kind="job" title=${t('ex.job')} text=${t('ex.jobText')} busy=${busy} onGo=${() => go('job', { engine, gpus })}>
        <div class="row"><div class="field compact"><label for="ex-engine">${t('ex.engine')}</label><select id="ex-engine" value=${engine} onChange=${(e) => setEngine(e.target.value)}>
          ${opts.engines.map((q) => html`<option value=${q}>${q}</option>`)}</select></div>
        <div class="field compact"><label for="ex-gpus">${t('ex.gpus')}</label><input id="ex-gpus" type="number" min="1" max="64" value=${gpus} onInput=${(e) => setGpus(Number(e.target.value))} /></div></div><//>` : null}
    </div>
    ${!opts.gguf || !opts.job ? html`<p class="small muted">${t('ex.missing')}</p>` : null}`}
    <section aria-labelledby="ex-list"><h3 id="ex-list">${t('ex.done')}</h3>
      ${exportsList.length === 0 ? html`<p class="muted">${t('ex.none')}</p>` : html`<div class="table-wrap"><table data-testid="exports">
        <thead><tr><th scope="col">${t('ex.kind')}</th><th scope="col">${t('ex.run')}</th><th scope="col">${t('status')}</th><th scope="col">${t('ex.files')}</th><th scope="col"></th></tr></thead>
        <tbody>${exportsList.map((x) => html`<tr>
          <td>${t(`ex.${x.kind}`)}</td><td>${x.runName}</td><td>${statusBadge(x.status)}<${ErrorBox} error=${x.error} /></td>
          <td class="small">${x.files.slice(0, 6).map((f) => html`<div>${f.path} <span class="muted">${fmt.bytes(f.size)}</span></div>`)}<div class="muted">${x.dir}</div></td>
          <td>${x.status === 'completed' ? html`<a class="button" href=${`/api/exports/${x.id}/download`} download data-testid="download">${t('ex.download')}</a>` : null}</td></tr>`)}</tbody>
      </table></div>`}
    </section>
  </div>`;
}
