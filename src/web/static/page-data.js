// Data page: drop files (CSV/TSV/XLSX/JSONL, Shift_JIS and friends), choose which columns are what with a
// preview, read the validation report, take the offered fixes and prepare the training and validation
// split; then see how the model will tokenize the examples.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ErrorBox, fmt, getState, html, setState, showError, t, useShared, notify } from './ui.js';
import { fileName, PreviewTable, Report, SplitView, TokenPreview } from './data-report.js';

const ROLES = ['question_col', 'answer_col', 'category_col', 'system_col'];
const ROLE_OF = { question_col: 'question', answer_col: 'answer', category_col: 'category', system_col: 'system' };
const ENCODINGS = ['', 'utf-8', 'shift_jis', 'euc-jp', 'utf-16le'];

function DropZone({ onFiles }) {
  const input = useRef(null);
  const [over, setOver] = useState(false);
  const drop = (e) => {
    e.preventDefault();
    setOver(false);
    if (e.dataTransfer.files.length) onFiles([...e.dataTransfer.files]);
  };
  return html`<div class=${`dropzone${over ? ' over' : ''}`} onDragOver=${(e) => { e.preventDefault(); setOver(true); }}
      onDragLeave=${() => setOver(false)} onDrop=${drop} data-testid="dropzone">
    <p><strong>${t('data.drop')}</strong></p>
    <p class="muted">${t('data.formats')}</p>
    <button onClick=${() => input.current.click()}>${t('data.choose')}</button>
    <input ref=${input} type="file" multiple hidden accept=".csv,.tsv,.txt,.xlsx,.xlsm,.jsonl,.json,.md" data-testid="file-input"
      onChange=${(e) => { onFiles([...e.target.files]); e.target.value = ''; }} />
  </div>`;
}

function Mapping({ columns, mapping, setMapping, onApply }) {
  const tables = columns.filter((c) => c.header);
  const set = (k, v) => setMapping({ ...mapping, [k]: v });
  return html`<section class="panel" aria-labelledby="map-title">
    <h4 id="map-title">${t('data.mapping')}</h4>
    ${tables.map((c) => html`<div class="mapping">
      <p class="muted">${fileName(c.file)}: ${c.header.map((h, i) => `${i + 1}. ${h}`).join(' · ')}</p>
      <div class="row">${ROLES.map((r) => html`<div class="field compact">
        <label for=${`map-${r}`}>${t(`data.col.${ROLE_OF[r]}`)}</label>
        <select id=${`map-${r}`} value=${mapping[r] ?? ''} onChange=${(e) => set(r, e.target.value || null)}>
          <option value="">${t('data.auto')}${c.map && c.map[ROLE_OF[r]] !== null ? ` (${c.header[c.map[ROLE_OF[r]]]})` : ''}</option>
          ${c.header.map((h) => html`<option value=${h}>${h}</option>`)}
        </select></div>`)}
      </div></div>`)}
    <div class="row">
      <div class="field compact"><label for="map-header">${t('data.header')}</label>
        <select id="map-header" value=${mapping.header === undefined || mapping.header === null ? '' : String(mapping.header)}
          onChange=${(e) => set('header', e.target.value === '' ? null : e.target.value === 'true')}>
          <option value="">${t('data.auto')}</option><option value="true">${t('yes')}</option><option value="false">${t('no')}</option></select></div>
      <div class="field compact"><label for="map-enc">${t('data.encoding')}</label>
        <select id="map-enc" value=${mapping.encoding ?? ''} onChange=${(e) => set('encoding', e.target.value || null)}>
          ${ENCODINGS.map((e) => html`<option value=${e}>${e || t('data.auto')}</option>`)}</select></div>
      <div class="field grow"><label for="map-system">${t('data.system')}</label>
        <input id="map-system" value=${mapping.system ?? ''} placeholder=${t('data.systemPh')} onInput=${(e) => set('system', e.target.value || null)} /></div>
    </div>
    <button onClick=${onApply}>${t('data.recheck')}</button>
  </section>`;
}

function Uploads({ uploads, selected, toggle, remove }) {
  if (uploads.length === 0) return null;
  return html`<fieldset class="uploads"><legend>${t('data.files')}</legend>
    ${uploads.map((u) => html`<div class="upload">
      <input type="checkbox" id=${`up-${u.id}`} checked=${selected.includes(u.id)} onChange=${() => toggle(u.id)} />
      <label for=${`up-${u.id}`}>${u.name} <span class="muted">${fmt.bytes(u.size)} · ${fmt.date(u.createdAt)}</span></label>
      <button class="ghost small" onClick=${() => remove(u.id)} aria-label=${t('data.removeFile', { name: u.name })}>${t('remove')}</button>
    </div>`)}
  </fieldset>`;
}

function Prepare({ report, onPrepare, busy }) {
  const codes = new Set(report.problems.map((p) => p.code));
  const [o, setO] = useState({ dedup: codes.has('duplicate'), redact_pii: [...codes].some((c) => c.startsWith('pii_')), skip_invalid: report.errors > 0, val_ratio: 0.1 });
  const box = (k, label, offered) => html`<label class=${`check${offered ? ' offered' : ''}`}><input type="checkbox" checked=${o[k]} onChange=${(e) => setO({ ...o, [k]: e.target.checked })} /> ${label}${offered ? html` <span class="badge warn">${t('data.suggested')}</span>` : null}</label>`;
  return html`<section class="panel" aria-labelledby="fix-title">
    <h4 id="fix-title">${t('data.fixes')}</h4>
    ${box('dedup', t('data.fix.dedup'), codes.has('duplicate'))}
    ${box('redact_pii', t('data.fix.pii'), [...codes].some((c) => c.startsWith('pii_')))}
    ${box('skip_invalid', t('data.fix.invalid'), report.errors > 0)}
    <div class="field compact"><label for="val-ratio">${t('data.valShare')}</label>
      <input id="val-ratio" type="number" min="0" max="0.5" step="0.05" value=${o.val_ratio} onInput=${(e) => setO({ ...o, val_ratio: Number(e.target.value) })} /></div>
    <button class="primary" disabled=${busy} onClick=${() => onPrepare(o)} data-testid="prepare">${busy ? t('working') : t('data.prepare')}</button>
  </section>`;
}

export function DataPage() {
  const shared = useShared();
  const [uploads, setUploads] = useState([]);
  const [selected, setSelected] = useState(getState().uploads || []);
  const [mapping, setMapping] = useState({});
  const [check, setCheck] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [prepared, setPrepared] = useState(null);
  const [datasets, setDatasets] = useState([]);
  const [model, setModel] = useState(getState().model || null);

  const refresh = async () => {
    const [u, d] = await Promise.all([api('/api/uploads'), api('/api/datasets')]);
    setUploads(u.uploads);
    setDatasets(d.datasets);
    return u.uploads;
  };
  useEffect(() => {
    refresh().catch(showError);
    if (!model) api('/api/models').then((r) => { const m = r.models.find((x) => x.supported); if (m) setModel(m.path); }).catch(showError);
  }, []);

  const runCheck = async (ids = selected, map = mapping) => {
    if (ids.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      setCheck(await api('/api/data/check', { method: 'POST', json: { uploads: ids, mapping: map, model } }));
    } catch (e) {
      setError(e);
      setCheck(null);
    } finally {
      setBusy(false);
    }
  };
  const choose = (ids) => {
    setSelected(ids);
    setState({ uploads: ids });
    setPrepared(null);
  };
  const onFiles = async (files) => {
    const ids = [];
    for (const f of files) {
      try {
        const r = await api(`/api/uploads?name=${encodeURIComponent(f.name)}`, { method: 'POST', body: f });
        ids.push(r.upload.id);
      } catch (e) {
        showError(e);
      }
    }
    await refresh();
    if (ids.length) {
      choose(ids);
      await runCheck(ids);
    }
  };
  const rowOf = (occ) => {
    const up = check.uploads.find((u) => u.path === occ.file);
    return api('/api/data/row', { method: 'POST', json: { upload: up ? up.id : selected[0], n: occ.n, mapping, model } });
  };
  const prepare = async (o) => {
    setBusy(true);
    try {
      const r = await api('/api/data/prepare', { method: 'POST', json: { uploads: selected, mapping, model, ...o }, okStatuses: [422] });
      setPrepared(r);
      if (r.written) {
        setState({ dataset: r.dataset.id });
        notify('ok', t('data.preparedNote', { train: r.dataset.split.train, val: r.dataset.split.val }));
        await refresh();
      } else {
        notify('error', t('data.notPrepared'), t('data.notPreparedHint'));
      }
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };
  const current = datasets.find((d) => d.id === shared.dataset);
  return html`<div class="page">
    <h2>${t('data.title')}</h2>
    <p class="lead">${t('data.lead')}</p>
    <div class="grid two">
      <div>
        <${DropZone} onFiles=${onFiles} />
        <${Uploads} uploads=${uploads} selected=${selected}
          toggle=${(id) => choose(selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id])}
          remove=${async (id) => { try { await api(`/api/uploads/${id}`, { method: 'DELETE' }); choose(selected.filter((x) => x !== id)); await refresh(); } catch (e) { showError(e); } }} />
        <button disabled=${busy || selected.length === 0} onClick=${() => runCheck()} data-testid="check">${busy ? t('working') : t('data.check')}</button>
        <${ErrorBox} error=${error} />
        ${check ? html`<${Mapping} columns=${check.columns} mapping=${mapping} setMapping=${setMapping} onApply=${() => runCheck()} />
          <section class="panel"><h4>${t('data.preview')}</h4><${PreviewTable} rows=${check.preview} /></section>` : null}
      </div>
      <div>
        ${check ? html`<${Report} key=${selected.join(',')} report=${(prepared && prepared.report) || check.report} rowOf=${rowOf} />
          <${Prepare} key=${JSON.stringify(check.report.problems.map((p) => p.code))} report=${check.report} onPrepare=${prepare} busy=${busy} />` : html`<p class="muted empty">${t('data.empty')}</p>`}
        ${prepared && prepared.written ? html`<${SplitView} dataset=${prepared.dataset} report=${prepared.report} />` : null}
      </div>
    </div>
    <section aria-labelledby="ds-title">
      <h3 id="ds-title">${t('data.datasets')}</h3>
      ${datasets.length === 0 ? html`<p class="muted">${t('data.noDatasets')}</p>` : html`<div class="table-wrap"><table>
        <thead><tr><th scope="col">${t('data.use')}</th><th scope="col">${t('name')}</th><th scope="col">${t('data.train')}</th><th scope="col">${t('data.val')}</th><th scope="col">${t('created')}</th></tr></thead>
        <tbody>${datasets.map((d) => html`<tr>
          <td><input type="radio" name="dataset" aria-label=${t('data.useDataset', { name: d.name })} checked=${d.id === shared.dataset} onChange=${() => setState({ dataset: d.id })} /></td>
          <td>${d.name}</td><td>${d.split ? d.split.train : '—'}</td><td>${d.split ? d.split.val : '—'}</td><td>${fmt.date(d.createdAt)}</td></tr>`)}</tbody>
      </table></div>`}
      ${current && model ? html`<${TokenPreview} key=${`${current.id}|${model}`} dataset=${current} model=${model} />` : null}
      ${current ? html`<p><a class="button primary" href="#/method">${t('data.next')}</a></p>` : null}
    </section>
  </div>`;
}
