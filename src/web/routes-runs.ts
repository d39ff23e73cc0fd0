// HTTP routes of the Training page: list, start, stop, resume, delete runs; one run in full; its live
// events (server-sent, safe across reconnects and resumed runs); and several runs compared.
import path from 'node:path';
import type { Hono } from 'hono';
import type { StudioContext } from './context.js';
import { badField } from './errors.js';
import { readBodyJson } from './fields.js';
import { readMetrics, type MetricLine } from './run-state.js';
import { deleteRun, listRuns, resumeRun, runDetail, settingsSchema, startRun, stopRun, summarizeRun, type RunSummary } from './runs.js';
import { sseResponse, type SseSink } from './sse.js';
import { readJson } from './workspace.js';

/** An event id: how many metric lines were sent and the time stamp of the last one (a resumed run rewrites
 *  the file, so a count alone could point into different lines). */
function cursorOf(lines: MetricLine[]): string {
  return `${lines.length}-${lines.at(-1)?.time ?? ''}`;
}

function matches(lines: MetricLine[], cursor: string | null): number | null {
  if (!cursor) return null;
  const m = /^(\d+)-(.*)$/.exec(cursor);
  if (!m) return null;
  const n = Number(m[1]);
  if (n > lines.length || (n > 0 && (lines[n - 1].time ?? '') !== m[2])) return null;
  return n;
}

const statusOf = ({ curve: _curve, ...rest }: RunSummary) => rest;

async function followRun(ctx: StudioContext, id: string, lastEventId: string | null, sink: SseSink): Promise<void> {
  const dir = ctx.ws.item('runs', id, 'training run');
  let lines = readMetrics(dir);
  let sent = matches(lines, lastEventId); // lines the client already has; null: send it everything
  let lastStatus = '';
  while (!sink.closed) {
    if (sent === null) {
      sink.send({ event: 'snapshot', id: cursorOf(lines), data: { run: statusOf(summarizeRun(ctx, id)), metrics: lines } });
      sent = lines.length;
    }
    for (; sent < lines.length; sent++) sink.send({ event: 'metric', id: `${sent + 1}-${lines[sent].time ?? ''}`, data: lines[sent] });
    const status = statusOf(summarizeRun(ctx, id));
    const key = JSON.stringify(status);
    if (key !== lastStatus) {
      sink.send({ event: 'status', data: status });
      lastStatus = key;
    }
    const live = status.status === 'running' || status.status === 'stopping';
    await sink.sleep(live ? 400 : 2000);
    const next = readMetrics(dir);
    // a resumed run rewrites the file: when what was sent is no longer its beginning, start over
    if (sent > next.length || (sent > 0 && next[sent - 1].time !== lines[sent - 1].time)) sent = null;
    lines = next;
  }
}

interface SavedConfig {
  config: Record<string, unknown>;
}

/** Curves of several runs and the settings in which they differ. */
function compareRuns(ctx: StudioContext, ids: string[]): Record<string, unknown> {
  if (ids.length < 1 || ids.length > 8) throw badField('ids', '1 to 8 run ids separated by commas', ids.join(','));
  const runs = ids.map((id) => {
    const dir = ctx.ws.item('runs', id, 'training run');
    const lines = readMetrics(dir);
    const s = summarizeRun(ctx, id);
    return {
      id, name: s.name, status: s.status, best: s.best,
      train: lines.filter((l) => l.type === 'step').map((l) => [l.step, l.loss]),
      val: lines.filter((l) => l.type === 'eval').map((l) => [l.step, l.valLoss]),
      config: readJson<SavedConfig>(path.join(dir, 'config.json'))?.config ?? {},
    };
  });
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))].filter((k) => k !== 'out').sort();
  const diff = keys.filter((k) => new Set(runs.map((r) => JSON.stringify(r.config[k] ?? null))).size > 1)
    .map((k) => ({ key: k, values: Object.fromEntries(runs.map((r) => [r.id, r.config[k] ?? null])) }));
  return { runs: runs.map(({ config: _c, ...r }) => r), diff, same: keys.length - diff.length };
}

export function runRoutes(app: Hono, ctx: StudioContext): void {
  app.get('/api/train/settings', () => Response.json({ settings: settingsSchema() }));
  app.get('/api/runs', () => Response.json({ runs: listRuns(ctx) }));
  app.post('/api/runs', async (c) => Response.json({ run: startRun(ctx, await readBodyJson(c.req.raw)) }, { status: 201 }));
  app.get('/api/runs/compare', (c) => Response.json(compareRuns(ctx, (c.req.query('ids') ?? '').split(',').filter(Boolean))));
  app.get('/api/runs/:id', (c) => Response.json({ run: runDetail(ctx, c.req.param('id')) }));
  app.delete('/api/runs/:id', (c) => {
    deleteRun(ctx, c.req.param('id'));
    return Response.json({ deleted: c.req.param('id') });
  });
  app.post('/api/runs/:id/stop', (c) => Response.json({ run: stopRun(ctx, c.req.param('id')) }));
  app.post('/api/runs/:id/resume', (c) => Response.json({ run: resumeRun(ctx, c.req.param('id')) }));
  app.get('/api/runs/:id/events', (c) => {
    const id = c.req.param('id');
    ctx.ws.item('runs', id, 'training run'); // 404 before the stream starts
    const last = c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? null;
    return sseResponse(c.req.raw.signal, (sink) => followRun(ctx, id, last, sink), (e) => ctx.log(`events of ${id}: ${(e as Error).stack ?? e}`));
  });
}
