// Playground: the same prompt to the base model and to a tuned run, side by side and streamed (through the
// studio's OpenAI-compatible engine, as `shitate serve` answers), with sampling controls; 👍/👎 on any
// answer is saved as preference data for later training.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, fmt, html, notify, setState, showError, sseChunks, t, useShared } from './ui.js';

/** Thumb icons drawn here (an emoji font is not on every machine). */
const THUMB = 'M2 10h4v11H2zM8 21h9.4a2 2 0 0 0 2-1.6l1.5-7.2A2 2 0 0 0 19 10h-5.4l.9-4.3a2 2 0 0 0-3.6-1.5L8 10z';
const thumb = (down) => html`<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" style=${down ? { transform: 'rotate(180deg)' } : null}><path d=${THUMB} fill="currentColor"/></svg>`;

const DEFAULTS = { temperature: 0.7, top_p: 0.95, top_k: 50, max_tokens: 200, seed: 42 };

function Controls({ s, set }) {
  const num = (k, min, max, step) => html`<div class="field compact"><label for=${`pg-${k}`}>${t(`pg.${k}`)}</label>
    <input id=${`pg-${k}`} type="number" min=${min} max=${max} step=${step} value=${s[k]} onInput=${(e) => set({ ...s, [k]: e.target.value === '' ? null : Number(e.target.value) })} /></div>`;
  return html`<div class="row wrap">${num('temperature', 0, 2, 0.1)}${num('top_p', 0, 1, 0.05)}${num('top_k', 0, 1000, 1)}${num('max_tokens', 1, 4096, 1)}${num('seed', 0, 2 ** 31, 1)}</div>`;
}

function Message({ m, onRate }) {
  return html`<div class=${`msg ${m.role}`}>
    <div class="who">${t(`role.${m.role}`)}</div>
    <div class="text">${m.content}${m.streaming ? html`<span class="caret" aria-hidden="true">▍</span>` : null}</div>
    ${m.error ? html`<div class="small bad">${m.error.message}${m.error.hint ? ` — ${m.error.hint}` : ''}</div>` : null}
    ${m.role === 'assistant' && !m.streaming && !m.error ? html`<div class="rate" role="group" aria-label=${t('pg.rate')}>
      <button class=${m.rated === true ? 'on' : ''} aria-pressed=${m.rated === true} aria-label=${t('pg.good')} onClick=${() => onRate(true)} data-testid="thumb-up">${thumb(false)}</button>
      <button class=${m.rated === false ? 'on' : ''} aria-pressed=${m.rated === false} aria-label=${t('pg.bad')} onClick=${() => onRate(false)} data-testid="thumb-down">${thumb(true)}</button>
      ${m.usage ? html`<span class="small muted">${m.usage.completion_tokens} tok${m.finish === 'length' ? ` · ${t('eval.cut')}` : ''}</span>` : null}</div>` : null}
  </div>`;
}

async function stream(body, signal, update) {
  const res = await api('/api/chat', { method: 'POST', json: body, raw: true, signal });
  let text = '';
  for await (const data of sseChunks(res)) {
    if (data === '[DONE]') break;
    const chunk = JSON.parse(data);
    if (chunk.error) throw Object.assign(new Error(chunk.error.message), { hint: '' });
    const choice = chunk.choices && chunk.choices[0];
    if (choice && choice.delta && choice.delta.content) {
      text += choice.delta.content;
      update({ content: text });
    }
    if (choice && choice.finish_reason) update({ finish: choice.finish_reason });
    if (chunk.usage) update({ usage: chunk.usage });
  }
  update({ streaming: false });
}

export function PlaygroundPage() {
  const shared = useShared();
  const [models, setModels] = useState([]);
  const [runs, setRuns] = useState([]);
  const [run, setRun] = useState(shared.chatRun || '');
  const [sampling, setSampling] = useState(DEFAULTS);
  const [system, setSystem] = useState('');
  const [prompt, setPrompt] = useState('');
  const [panes, setPanes] = useState({ base: [], tuned: [] });
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState(null);
  const abort = useRef(null);
  useEffect(() => {
    Promise.all([api('/api/models?purpose=none'), api('/api/runs'), api('/api/feedback')]).then(([m, r, f]) => {
      setModels(m.models.filter((x) => x.supported));
      setRuns(r.runs.filter((x) => x.adapter));
      setFeedback(f);
    }, showError);
  }, []);
  const mine = runs.filter((r) => r.model === shared.model);
  useEffect(() => {
    if (mine.length && !mine.some((r) => r.id === run)) setRun(mine[0].id);
  }, [mine.map((r) => r.id).join(','), shared.model]);
  const patch = (side, i, p) => setPanes((prev) => ({ ...prev, [side]: prev[side].map((m, j) => (j === i ? { ...m, ...p } : m)) }));
  const send = async () => {
    if (!prompt.trim() || !shared.model) return;
    const ac = new AbortController();
    abort.current = ac;
    setBusy(true);
    const user = { role: 'user', content: prompt };
    setPrompt('');
    const sides = run ? ['base', 'tuned'] : ['base'];
    const next = { ...panes };
    const history = {};
    for (const side of sides) {
      history[side] = [...(system ? [{ role: 'system', content: system }] : []), ...panes[side].filter((m) => !m.error).map(({ role, content }) => ({ role, content })), user];
      next[side] = [...panes[side], user, { role: 'assistant', content: '', streaming: true, prompt: history[side] }];
    }
    setPanes(next);
    await Promise.all(sides.map((side) => {
      const i = next[side].length - 1;
      const body = { model: shared.model, run: side === 'tuned' ? run : null, messages: history[side], ...sampling };
      return stream(body, ac.signal, (p) => patch(side, i, p)).catch((e) => patch(side, i, { streaming: false, error: e.name === 'AbortError' ? { message: t('pg.stopped') } : { message: e.message, hint: e.hint } }));
    }));
    setBusy(false);
  };
  const rate = async (side, i, label) => {
    const m = panes[side][i];
    try {
      const r = await api('/api/feedback', { method: 'POST', json: { prompt: m.prompt, completion: m.content, label, model: shared.model, run: side === 'tuned' ? run : null, temperature: sampling.temperature, seed: sampling.seed } });
      patch(side, i, { rated: label });
      setFeedback((f) => ({ ...(f || {}), count: r.count, file: r.file }));
      notify('ok', t('pg.saved', { n: r.count }));
    } catch (e) {
      showError(e);
    }
  };
  const runName = (runs.find((r) => r.id === run) || {}).name;
  return html`<div class="page">
    <h2>${t('pg.title')}</h2>
    <p class="lead">${t('pg.lead')}</p>
    <section class="panel">
      <div class="row wrap">
        <div class="field compact"><label for="pg-model">${t('pg.model')}</label>
          <select id="pg-model" value=${shared.model || ''} onChange=${(e) => setState({ model: e.target.value })}>${models.map((m) => html`<option value=${m.path}>${m.name}</option>`)}</select></div>
        <div class="field compact"><label for="pg-run">${t('pg.adapter')}</label>
          <select id="pg-run" value=${run} onChange=${(e) => { setRun(e.target.value); setState({ chatRun: e.target.value }); }}>
            <option value="">${t('pg.none')}</option>${mine.map((r) => html`<option value=${r.id}>${r.name}</option>`)}</select></div>
        <div class="field grow"><label for="pg-system">${t('pg.system')}</label><input id="pg-system" value=${system} onInput=${(e) => setSystem(e.target.value)} placeholder=${t('pg.systemPh')} /></div>
      </div>
      <${Controls} s=${sampling} set=${setSampling} />
    </section>
    <div class="grid two chat" data-testid="chat">
      ${['base', 'tuned'].map((side) => html`<section class="panel pane" aria-labelledby=${`pane-${side}`} data-testid=${`pane-${side}`}>
        <h3 id=${`pane-${side}`}>${side === 'base' ? t('pg.base') : `${t('pg.tuned')}${runName ? ` · ${runName}` : ''}`}</h3>
        <div class="messages" aria-live="polite">${panes[side].length === 0 ? html`<p class="muted">${side === 'tuned' && !run ? t('pg.noTuned') : t('pg.emptyPane')}</p>` : null}
          ${panes[side].map((m, i) => html`<${Message} m=${m} onRate=${(label) => rate(side, i, label)} />`)}</div>
      </section>`)}
    </div>
    <form class="composer" onSubmit=${(e) => { e.preventDefault(); send(); }}>
      <label for="pg-prompt" class="sr-only">${t('pg.prompt')}</label>
      <textarea id="pg-prompt" rows="2" value=${prompt} placeholder=${t('pg.promptPh')} onInput=${(e) => setPrompt(e.target.value)}
        onKeyDown=${(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); } }}></textarea>
      <div class="actions">
        <button class="primary" type="submit" disabled=${busy || !prompt.trim()} data-testid="send">${t('pg.send')}</button>
        ${busy ? html`<button type="button" class="danger" onClick=${() => abort.current && abort.current.abort()}>${t('pg.stop')}</button>` : null}
        <button type="button" class="ghost" onClick=${() => setPanes({ base: [], tuned: [] })}>${t('pg.reset')}</button>
      </div>
    </form>
    ${feedback ? html`<p class="small muted" data-testid="feedback-count">${t('pg.feedback', { n: fmt.int(feedback.count) })} <code>${feedback.file}</code></p>` : null}
  </div>`;
}
