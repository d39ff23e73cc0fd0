// Assistants page: profiles (instructions, persona, model, knowledge, memory) as `shitate assistant` keeps
// them, knowledge bases with file upload and a search preview, and what assistants remember per user.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, Badge, ErrorBox, html, notify, showError, t, useShared } from './ui.js';

const EMPTY = { id: '', name: '', description: '', instructions: '', tone: '', language: '', kind: 'local', model: '', url: '', key_env: '', adapter: '', bases: [], memory: false, quote: 0, knowledge: null };

function toForm(id, p) {
  return { id, name: p.name, description: p.description, instructions: p.instructions, tone: p.tone, language: p.language, kind: p.provider.kind,
    model: p.provider.model, url: p.provider.url || '', key_env: p.provider.keyEnv || '', adapter: p.provider.adapter || '', bases: p.knowledge.bases, memory: p.memory.enabled,
    quote: p.knowledge.quote || 0, knowledge: p.knowledge };
}

/** The profile's knowledge settings as the file spells them: what the page edits (bases, quote) over what it keeps. */
function knowledgeOf(f) {
  const k = f.knowledge || {};
  const kept = { top_k: k.topK, mode: k.mode, whole_max_chars: k.wholeMaxChars, budget_tokens: k.budgetTokens };
  const quote = f.kind === 'local' ? Number(f.quote) || 0 : 0;
  return { bases: f.bases, ...Object.fromEntries(Object.entries(kept).filter(([, v]) => v !== undefined)), ...(quote > 0 ? { quote } : {}) };
}

function toFile(f) {
  const provider = { kind: f.kind, model: f.model, ...(f.url ? { url: f.url } : {}), ...(f.key_env ? { key_env: f.key_env } : {}), ...(f.adapter && f.kind === 'local' ? { adapter: f.adapter } : {}) };
  return { name: f.name || f.id, description: f.description, instructions: f.instructions, tone: f.tone, language: f.language, provider,
    knowledge: knowledgeOf(f), memory: { enabled: f.memory } };
}

function Profiles({ bases }) {
  const shared = useShared();
  const [list, setList] = useState([]);
  const [form, setForm] = useState(null);
  const [error, setError] = useState(null);
  const [shown, setShown] = useState(null);
  const load = () => api('/api/assistants').then((r) => setList(r.assistants), showError);
  useEffect(() => { load(); }, []);
  const edit = async (id) => {
    setError(null);
    try {
      const r = await api(`/api/assistants/${id}`);
      setForm(toForm(id, r.profile));
      setShown(r);
    } catch (e) {
      showError(e);
    }
  };
  const save = async () => {
    setError(null);
    try {
      const r = await api(`/api/assistants/${encodeURIComponent(form.id)}`, { method: 'PUT', json: toFile(form) });
      setShown(r);
      notify('ok', t('as.saved', { file: r.file }));
      load();
    } catch (e) {
      setError(e);
    }
  };
  const input = (k, label, ph = '') => html`<div class="field"><label for=${`as-${k}`}>${label}</label><input id=${`as-${k}`} value=${form[k]} placeholder=${ph} onInput=${(e) => setForm({ ...form, [k]: e.target.value })} /></div>`;
  return html`<section class="panel" aria-labelledby="as-title">
    <h3 id="as-title">${t('as.profiles')}</h3>
    ${list.length === 0 ? html`<p class="muted">${t('as.none')}</p>` : html`<ul class="plain">${list.map((a) => html`<li>
      <button class="link" onClick=${() => edit(a.id)}>${a.name}</button> <span class="muted small">${a.provider}</span>
      ${a.knowledge.length ? html` <${Badge} kind="info">${t('as.kb')}: ${a.knowledge.join(', ')}<//>` : null}${a.memory ? html` <${Badge} kind="info">${t('as.memory')}<//>` : null}
      ${a.problem ? html`<div class="small bad">${a.problem}</div>` : null}</li>`)}</ul>`}
    <button onClick=${() => { setForm({ ...EMPTY, model: shared.model || '' }); setShown(null); }}>${t('as.new')}</button>
    ${form ? html`<div class="editor">
      <div class="row wrap">${input('id', t('as.id'), 'support')}${input('name', t('name'))}${input('description', t('as.description'))}</div>
      <div class="field"><label for="as-instructions">${t('as.instructions')}</label><textarea id="as-instructions" rows="4" value=${form.instructions}
        placeholder=${t('as.instructionsPh')} onInput=${(e) => setForm({ ...form, instructions: e.target.value })}></textarea></div>
      <div class="row wrap">${input('tone', t('as.tone'))}${input('language', t('as.language'), 'ja')}
        <div class="field compact"><label for="as-kind">${t('as.provider')}</label><select id="as-kind" value=${form.kind} onChange=${(e) => setForm({ ...form, kind: e.target.value })}>
          ${['local', 'openai', 'anthropic', 'gemini'].map((k) => html`<option value=${k}>${k}</option>`)}</select></div></div>
      <div class="row wrap">${input('model', form.kind === 'local' ? t('as.modelFolder') : t('as.modelName'))}
        ${form.kind === 'local' ? input('adapter', t('as.adapter')) : html`${input('url', t('as.url'), 'http://127.0.0.1:11434/v1')}${input('key_env', t('as.keyEnv'), 'OPENAI_API_KEY')}`}</div>
      <fieldset><legend>${t('as.kb')}</legend>${bases.length === 0 ? html`<span class="muted small">${t('kb.none')}</span>` : bases.map((b) => html`<label class="check">
        <input type="checkbox" checked=${form.bases.includes(b.name)} onChange=${() => setForm({ ...form, bases: form.bases.includes(b.name) ? form.bases.filter((x) => x !== b.name) : [...form.bases, b.name] })} /> ${b.name}</label>`)}</fieldset>
      ${form.kind === 'local' && form.bases.length ? html`<div class="field compact"><label for="as-quote">${t('as.quote')}</label>
        <input id="as-quote" type="number" min="0" max="100" step="1" value=${form.quote} onInput=${(e) => setForm({ ...form, quote: e.target.value })} />
        <span class="muted small">${t('as.quoteHelp')}</span></div>` : null}
      <label class="check"><input type="checkbox" checked=${form.memory} onChange=${(e) => setForm({ ...form, memory: e.target.checked })} /> ${t('as.memoryOn')}</label>
      <${ErrorBox} error=${error} />
      <div class="actions"><button class="primary" onClick=${save} disabled=${!form.id || !form.model}>${t('save')}</button>
        ${shown ? html`<button class="danger ghost" onClick=${async () => { try { await api(`/api/assistants/${form.id}`, { method: 'DELETE' }); setForm(null); setShown(null); load(); } catch (e) { showError(e); } }}>${t('remove')}</button>` : null}</div>
      ${shown && shown.budgets ? html`<p class="small muted" data-testid="as-budgets">${shown.budgets.problem ?? t('as.budgets', {
        context: shown.budgets.context, system: shown.budgets.system, answer: shown.budgets.answer, turn: shown.budgets.per_turn,
        knowledge: shown.budgets.knowledge, memory: shown.budgets.memory })}</p>` : null}
      ${shown ? html`<details><summary>${t('as.prompt')}</summary><pre class="small">${shown.systemPrompt}</pre><p class="small muted">${shown.file} · <code>shitate assistant chat ${form.id}</code></p></details>` : null}
    </div>` : null}
  </section>`;
}

function Knowledge({ bases, reload }) {
  const [name, setName] = useState('');
  const [open, setOpen] = useState(null);
  const [docs, setDocs] = useState([]);
  const [q, setQ] = useState('');
  const [hits, setHits] = useState(null);
  const [busy, setBusy] = useState(false);
  const file = useRef(null);
  const show = async (n) => {
    setOpen(n);
    setHits(null);
    try {
      setDocs((await api(`/api/kb/${n}`)).documents);
    } catch (e) {
      showError(e);
    }
  };
  const upload = async (files) => {
    const target = open || name;
    if (!target) return notify('error', t('kb.needName'));
    setBusy(true);
    for (const f of files) {
      try {
        const r = await api(`/api/kb/${encodeURIComponent(target)}/files?file=${encodeURIComponent(f.name)}`, { method: 'POST', body: f });
        const res = r.result;
        if (res && res.status === 'failed') notify('error', `${f.name}: ${res.error}`, res.hint || '');
        else notify('ok', t('kb.indexed', { name: f.name, n: res ? res.chunks : 0 }));
      } catch (e) {
        showError(e);
      }
    }
    setBusy(false);
    await reload();
    show(target);
  };
  const search = async () => {
    try {
      setHits(await api(`/api/kb/${open}/search?k=5&q=${encodeURIComponent(q)}`));
    } catch (e) {
      showError(e);
    }
  };
  return html`<section class="panel" aria-labelledby="kb-title">
    <h3 id="kb-title">${t('kb.title')}</h3>
    <ul class="plain">${bases.map((b) => html`<li><button class="link" onClick=${() => show(b.name)}>${b.name}</button> <span class="muted small">${t('kb.stats', { docs: b.documents, chunks: b.chunks })}</span></li>`)}</ul>
    <div class="row"><div class="field grow"><label for="kb-name">${t('kb.newName')}</label><input id="kb-name" value=${name} placeholder="handbook" onInput=${(e) => { setName(e.target.value); setOpen(null); }} /></div></div>
    <button disabled=${busy || !(open || name)} onClick=${() => file.current.click()}>${busy ? t('working') : t('kb.add', { name: open || name || '?' })}</button>
    <input ref=${file} type="file" multiple hidden accept=".txt,.md,.html,.htm,.pdf,.docx,.csv,.tsv,.xlsx" onChange=${(e) => { upload([...e.target.files]); e.target.value = ''; }} />
    ${open ? html`<div><h4>${open}</h4>
      <ul class="small">${docs.map((d) => html`<li>${d.name} · ${d.status} · ${t('kb.passages', { n: d.chunks })}${d.error ? html` <span class="bad">${d.error}</span>` : null}</li>`)}</ul>
      <form class="row" onSubmit=${(e) => { e.preventDefault(); search(); }}><div class="field grow"><label for="kb-q">${t('kb.search')}</label>
        <input id="kb-q" value=${q} onInput=${(e) => setQ(e.target.value)} placeholder=${t('kb.searchPh')} /></div><button type="submit">${t('kb.find')}</button></form>
      ${hits ? html`<ol class="hits">${hits.hits.map((h) => html`<li><strong>${h.cite}</strong> <span class="muted small">${h.score.toFixed(4)}</span><p class="small">${h.text.slice(0, 300)}</p></li>`)}</ol>
        ${hits.hits.length === 0 ? html`<p class="muted">${t('kb.noHits')}</p>` : null}` : null}
    </div>` : null}
  </section>`;
}

function Memory() {
  const [user, setUser] = useState('');
  const [data, setData] = useState(null);
  const [text, setText] = useState('');
  const load = async (u = user) => {
    try {
      const r = await api(`/api/memory?user=${encodeURIComponent(u)}`);
      setData(r);
      if (!u) setUser(r.user);
    } catch (e) {
      showError(e);
    }
  };
  useEffect(() => { load(''); }, []);
  const add = async () => {
    try {
      await api('/api/memory', { method: 'POST', json: { user, text } });
      setText('');
      load();
    } catch (e) {
      showError(e);
    }
  };
  return html`<section class="panel" aria-labelledby="mem-title">
    <h3 id="mem-title">${t('mem.title')}</h3>
    <div class="row"><div class="field compact"><label for="mem-user">${t('mem.user')}</label><input id="mem-user" value=${user} onInput=${(e) => setUser(e.target.value)} /></div>
      <button onClick=${() => load()}>${t('mem.show')}</button></div>
    ${data ? html`<ul class="plain">${data.items.length === 0 ? html`<li class="muted">${t('mem.empty')}</li>` : data.items.map((m) => html`<li>#${m.id} ${m.text} <span class="muted small">${m.assistant || t('mem.shared')}</span>
      <button class="ghost small" onClick=${async () => { try { await api(`/api/memory/${m.id}?user=${encodeURIComponent(user)}`, { method: 'DELETE' }); load(); } catch (e) { showError(e); } }}>${t('mem.forget')}</button></li>`)}</ul>` : null}
    <form class="row" onSubmit=${(e) => { e.preventDefault(); add(); }}><div class="field grow"><label for="mem-text">${t('mem.add')}</label>
      <input id="mem-text" value=${text} onInput=${(e) => setText(e.target.value)} placeholder=${t('mem.addPh')} /></div><button type="submit" disabled=${!text.trim()}>${t('mem.remember')}</button></form>
  </section>`;
}

export function AssistantsPage() {
  const [bases, setBases] = useState([]);
  const reload = () => api('/api/kb').then((r) => setBases(r.bases), showError);
  useEffect(() => { reload(); }, []);
  return html`<div class="page">
    <h2>${t('as.title')}</h2>
    <p class="lead">${t('as.lead')}</p>
    <div class="grid two"><${Profiles} bases=${bases} /><div><${Knowledge} bases=${bases} reload=${reload} /><${Memory} /></div></div>
  </div>`;
}
