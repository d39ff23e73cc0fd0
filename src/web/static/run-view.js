// One training run, live: server-sent events (EventSource reconnects by itself and the server resumes from
// Last-Event-ID), the loss curves with warnings marked at their step, the numbers of the latest step, stop
// and resume, and the resolved settings with where each value came from.
import { useEffect, useState } from 'preact/hooks';
import { api, Badge, ErrorBox, fmt, html, notify, showError, statusBadge, t } from './ui.js';
import { LineChart } from './chart.js';

const NOTICE_COLOR = { overfit: '#d97706', 'early-stop': '#059669', warning: '#6b7280' };

/** Live state of a run from its event stream. */
export function useRunEvents(id) {
  const [s, set] = useState({ run: null, metrics: [], connected: false });
  useEffect(() => {
    const es = new EventSource(`/api/runs/${id}/events`);
    es.addEventListener('snapshot', (e) => {
      const d = JSON.parse(e.data);
      set({ run: d.run, metrics: d.metrics, connected: true });
    });
    es.addEventListener('metric', (e) => set((p) => ({ ...p, metrics: [...p.metrics, JSON.parse(e.data)], connected: true })));
    es.addEventListener('status', (e) => set((p) => ({ ...p, run: JSON.parse(e.data), connected: true })));
    es.addEventListener('failure', (e) => notify('error', JSON.parse(e.data).message));
    es.onerror = () => set((p) => ({ ...p, connected: false }));
    return () => es.close();
  }, [id]);
  return s;
}

export function curves(metrics) {
  const train = metrics.filter((m) => m.type === 'step').map((m) => [m.step, m.loss]);
  const val = metrics.filter((m) => m.type === 'eval').map((m) => [m.step, m.valLoss]);
  const lr = metrics.filter((m) => m.type === 'step').map((m) => [m.step, m.lr]);
  return { train, val, lr };
}

function Stats({ p }) {
  if (!p) return html`<p class="muted">${t('train.waiting')}</p>`;
  const pct = p.totalSteps ? Math.round((100 * p.step) / p.totalSteps) : 0;
  return html`<div>
    <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=${p.totalSteps} aria-valuenow=${p.step} aria-label=${t('train.progress')}>
      <span style=${{ width: `${pct}%` }}></span></div>
    <dl class="stats" data-testid="run-stats">
      <div><dt>${t('train.step')}</dt><dd data-testid="stat-step">${p.step} / ${p.totalSteps}</dd></div>
      <div><dt>${t('train.loss')}</dt><dd>${fmt.num(p.loss)}</dd></div>
      <div><dt>${t('train.valLoss')}</dt><dd>${fmt.num(p.valLoss)}</dd></div>
      <div><dt>${t('train.lr')}</dt><dd>${p.lr === null ? '—' : p.lr.toExponential(2)}</dd></div>
      <div><dt>${t('train.speed')}</dt><dd>${p.tokensPerSec === null ? '—' : `${Math.round(p.tokensPerSec)} tok/s`}</dd></div>
      <div><dt>${t('train.eta')}</dt><dd>${fmt.time(p.etaSec)}</dd></div>
      <div><dt>${t('train.epoch')}</dt><dd>${fmt.num(p.epoch, 2)}</dd></div>
    </dl></div>`;
}

function ConfigTable({ config, sources }) {
  if (!config) return null;
  return html`<details class="config"><summary>${t('train.config')}</summary>
    <div class="table-wrap"><table class="kv small"><tbody>${Object.entries(config).map(([k, v]) => html`<tr class=${sources && sources[k] && sources[k] !== 'default' ? 'set' : ''}>
      <th scope="row">${k}</th><td><code>${JSON.stringify(v)}</code></td><td class="muted">${sources ? t(`source.${sources[k] || 'default'}`) : ''}</td></tr>`)}</tbody></table></div>
  </details>`;
}

export function RunView({ id, onChanged }) {
  const live = useRunEvents(id);
  const [detail, setDetail] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = live.run;
  const status = run ? run.status : null;
  const started = Boolean(run && run.progress);
  useEffect(() => {
    api(`/api/runs/${id}`).then((r) => setDetail(r.run), showError);
    if (status && onChanged) onChanged(); // the list beside shows the new state at once
  }, [id, status, started]);
  const act = async (what) => {
    setBusy(true);
    try {
      await api(`/api/runs/${id}/${what}`, { method: 'POST' });
      notify('ok', t(what === 'stop' ? 'train.stopRequested' : 'train.resumed'));
      if (onChanged) onChanged();
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };
  if (!run) return html`<p class="muted">${t('loading')}</p>`;
  const c = curves(live.metrics);
  const markers = (run.notices || []).filter((n) => n.step !== null).map((n) => ({ x: n.step, label: t(`notice.${n.kind}`), color: NOTICE_COLOR[n.kind] }));
  return html`<section class="panel run" aria-labelledby="run-title" data-testid="run-view" data-status=${run.status}>
    <div class="panel-head">
      <h3 id="run-title">${run.name}</h3>
      <div>${statusBadge(run.status)} ${run.reason === 'early-stop' ? html`<${Badge} kind="ok">${t('train.earlyStopped')}<//>` : null}
        ${live.connected ? null : html`<${Badge} kind="muted">${t('train.reconnecting')}<//>`}</div>
    </div>
    <div class="actions">
      ${run.status === 'running' ? html`<button class="danger" disabled=${busy} onClick=${() => act('stop')} data-testid="stop">${t('train.stop')}</button>` : null}
      ${run.status === 'stopping' ? html`<button disabled>${t('train.stopping')}</button>` : null}
      ${run.resumable ? html`<button class="primary" disabled=${busy} onClick=${() => act('resume')} data-testid="resume">${t('train.resume')}</button>` : null}
      ${run.adapter ? html`<a class="button" href="#/evaluation">${t('train.toEval')}</a> <a class="button" href="#/playground">${t('train.toChat')}</a>` : null}
    </div>
    <${ErrorBox} error=${run.error} />
    <${Stats} p=${run.progress} />
    <${LineChart} height=${280} xLabel=${t('train.step')} yLabel=${t('train.loss')} rightLabel=${t('train.lr')} markers=${markers} ariaLabel=${t('train.chart')}
      series=${[
        { label: t('train.trainLoss'), points: c.train, color: '#2563eb' },
        { label: t('train.valLoss'), points: c.val, color: '#dc2626', dots: true },
        { label: t('train.lr'), points: c.lr, color: '#9ca3af', scale: 'right', width: 1 },
      ]} />
    ${run.best ? html`<p class="small">${t('train.best', { loss: fmt.num(run.best.valLoss), step: run.best.step })}</p>` : null}
    ${run.notices && run.notices.length ? html`<ul class="notices-list" data-testid="run-notices">${run.notices.map((n) => html`<li class=${n.kind}>
      <${Badge} kind=${n.kind === 'overfit' ? 'warn' : n.kind === 'early-stop' ? 'ok' : 'muted'}>${t(`notice.${n.kind}`)}${n.step !== null ? ` @ ${n.step}` : ''}<//> ${n.message}</li>`)}</ul>` : null}
    ${detail ? html`<${ConfigTable} config=${detail.config} sources=${detail.sources} /><p class="small muted">${t('train.folder')}: ${detail.dir}</p>` : null}
  </section>`;
}
