// The studio page's shared pieces: htm bound to Preact, the language (browser language, switchable,
// remembered), the API client whose errors become messages with what to do, notices, and small widgets.
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { STRINGS } from './i18n.js';

export const html = htm.bind(h);
export { h, render };

// ---- language ----
const listeners = new Set();
let lang = localStorage.getItem('shitate.lang') || ((navigator.language || 'en').toLowerCase().startsWith('ja') ? 'ja' : 'en');
document.documentElement.lang = lang;

export function getLang() {
  return lang;
}

export function setLang(l) {
  lang = l;
  localStorage.setItem('shitate.lang', l);
  document.documentElement.lang = l;
  for (const f of listeners) f(l);
}

/** Re-renders the calling component when the language changes. */
export function useLang() {
  const [l, set] = useState(lang);
  useEffect(() => {
    listeners.add(set);
    return () => listeners.delete(set);
  }, []);
  return l;
}

/** The text for `key` in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const s = STRINGS[lang]?.[key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined ? `{${k}}` : String(vars[k])));
}

// ---- shared state kept across reloads (selected model, dataset, runs) ----
const stateListeners = new Set();
const state = JSON.parse(localStorage.getItem('shitate.state') || '{}');

export function getState() {
  return state;
}

export function setState(patch) {
  Object.assign(state, patch);
  localStorage.setItem('shitate.state', JSON.stringify(state));
  for (const f of stateListeners) f({ ...state });
}

export function useShared() {
  const [s, set] = useState({ ...state });
  useEffect(() => {
    stateListeners.add(set);
    return () => stateListeners.delete(set);
  }, []);
  return s;
}

// ---- API ----
export class ApiError extends Error {
  constructor(status, message, hint, code) {
    super(message);
    this.status = status;
    this.hint = hint;
    this.code = code;
  }
}

async function failure(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const e = body && body.error;
  if (e && typeof e.message === 'string') return new ApiError(res.status, e.message, e.hint || '', e.code || '');
  return new ApiError(res.status, t('err.http', { status: res.status }), t('err.retry'), 'http');
}

/** JSON request; throws ApiError (message + hint) for every failure, including a lost connection. */
export async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: { 'accept-language': lang, ...(opts.headers || {}) } };
  if (opts.json !== undefined) {
    init.body = JSON.stringify(opts.json);
    init.headers['content-type'] = 'application/json';
  } else if (opts.body !== undefined) {
    init.body = opts.body;
  }
  if (opts.signal) init.signal = opts.signal;
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, t('err.offline'), t('err.offlineHint'), 'offline');
  }
  if (!res.ok && !(opts.okStatuses || []).includes(res.status)) throw await failure(res);
  if (opts.raw) return res;
  return res.json();
}

// ---- notices (an aria-live region: screen readers hear them) ----
const noticeListeners = new Set();
let notices = [];
let nextId = 1;

export function notify(kind, message, hint = '') {
  const n = { id: nextId++, kind, message, hint };
  notices = [...notices, n].slice(-4);
  for (const f of noticeListeners) f(notices);
  if (kind !== 'error') setTimeout(() => dismiss(n.id), 6000);
}

export function dismiss(id) {
  notices = notices.filter((n) => n.id !== id);
  for (const f of noticeListeners) f(notices);
}

/** Shows an error from api() (or anything thrown) as a message with what to do. */
export function showError(err) {
  if (err && err.name === 'AbortError') return;
  if (err instanceof ApiError) notify('error', err.message, err.hint);
  else notify('error', t('err.unexpected'), t('err.retry'));
}

export function Notices() {
  const [list, set] = useState(notices);
  useLang();
  useEffect(() => {
    noticeListeners.add(set);
    return () => noticeListeners.delete(set);
  }, []);
  return html`<div class="notices" role="status" aria-live="polite">
    ${list.map((n) => html`<div class=${`notice ${n.kind}`} key=${n.id} data-testid="notice">
      <div><strong>${n.message}</strong>${n.hint ? html`<div class="hint">${t('hint')}: ${n.hint}</div>` : null}</div>
      <button class="ghost" aria-label=${t('close')} onClick=${() => dismiss(n.id)}>×</button>
    </div>`)}
  </div>`;
}

/** An inline error box for one part of a page. */
export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="notice error inline" role="alert"><div><strong>${error.message}</strong>${error.hint ? html`<div class="hint">${t('hint')}: ${error.hint}</div>` : null}</div></div>`;
}

// ---- small widgets ----
export function useAsync(fn, deps) {
  const [s, set] = useState({ loading: true, data: null, error: null });
  const reload = () => {
    set((p) => ({ ...p, loading: true }));
    return fn().then((data) => set({ loading: false, data, error: null }), (error) => set({ loading: false, data: null, error }));
  };
  useEffect(() => {
    reload();
  }, deps);
  return { ...s, reload };
}

/** Runs `fn` every `ms` while the component is shown (and once at once). */
export function usePoll(fn, ms, deps) {
  useEffect(() => {
    let stop = false;
    let timer = null;
    const tick = async () => {
      try {
        await fn();
      } catch (e) {
        showError(e);
      }
      if (!stop) timer = setTimeout(tick, ms);
    };
    tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, deps);
}

export function Field({ label, hint, children, id }) {
  return html`<div class="field"><label for=${id}>${label}</label>${children}${hint ? html`<small id=${`${id}-hint`}>${hint}</small>` : null}</div>`;
}

export function Badge({ kind, children }) {
  return html`<span class=${`badge ${kind}`}>${children}</span>`;
}

export function statusBadge(status) {
  const kind = { running: 'info', stopping: 'info', completed: 'ok', stopped: 'warn', failed: 'error' }[status] || 'muted';
  return html`<${Badge} kind=${kind}>${t(`status.${status}`)}<//>`;
}

export const fmt = {
  num: (v, d = 4) => (v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(d)),
  pct: (v) => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)}%`),
  int: (v) => (v === null || v === undefined ? '—' : Number(v).toLocaleString(lang === 'ja' ? 'ja-JP' : 'en-US')),
  bytes: (b) => (b === null || b === undefined ? '—' : b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`),
  params: (n) => (n === null || n === undefined ? '—' : n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${(n / 1e6).toFixed(1)}M`),
  time: (sec) => {
    if (sec === null || sec === undefined || !Number.isFinite(sec)) return '—';
    const s = Math.round(sec);
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
  },
  date: (iso) => (iso ? new Date(iso).toLocaleString(lang === 'ja' ? 'ja-JP' : 'en-US') : '—'),
};

/** Reads a server-sent stream of a fetch Response (POST streams: EventSource only does GET). */
export async function* sseChunks(res) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) yield data;
    }
  }
}
