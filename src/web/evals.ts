// The Evaluation page: `shitate eval --model BASE --adapter RUN/adapter... --data HELD_OUT --out EVAL` as a
// child process, its progress from the command's own output, and the report it writes (eval.json) for
// the side-by-side view. Stop = Ctrl-C, after which eval keeps the questions already computed.
import fs from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import type { EvalReport } from '../eval/index.js';
import { refuseIfBusy, type StudioContext } from './context.js';
import { badField, StudioError } from './errors.js';
import { getDataset } from './datasets.js';
import { optNum, optStr, readBodyJson, strList, type Body } from './fields.js';
import { errorInLog, interrupt, isAlive, readLog, startCli, type Launch, type LoggedError } from './jobs.js';
import { summarizeRun } from './runs.js';
import { getUpload } from './uploads.js';
import { readJson, writeJson } from './workspace.js';

interface EvalMeta {
  id: string;
  createdAt: string;
  model: string;
  runs: { id: string; name: string; adapter: string }[];
  data: string;
  dataLabel: string;
  limit: number | null;
  launch: Launch & { stopRequestedAt?: string };
}

export interface EvalState {
  id: string;
  createdAt: string;
  model: string;
  runs: EvalMeta['runs'];
  dataLabel: string;
  status: 'running' | 'stopping' | 'completed' | 'stopped' | 'failed';
  progress: { done: number; total: number } | null;
  error: LoggedError | null;
  report: EvalReport | null;
}

const metaPath = (dir: string) => path.join(dir, 'studio.json');
const logPath = (dir: string) => path.join(dir, 'eval.log');

function live(meta: EvalMeta, dir: string): boolean {
  return meta.launch.endedAt === undefined && isAlive(meta.launch.pid, dir);
}

export function evalState(ctx: StudioContext, id: string, withReport = true): EvalState {
  const dir = ctx.ws.item('evals', id, 'evaluation');
  const meta = readJson<EvalMeta>(metaPath(dir));
  if (!meta) throw new StudioError(404, 'not_found', `evaluation "${id}" has no studio.json`, 'start the evaluation again');
  const log = readLog(logPath(dir));
  const report = readJson<EvalReport>(path.join(dir, 'eval.json'));
  const m = [...log.matchAll(/^(\d+)\/(\d+) · /gm)].at(-1);
  const running = live(meta, dir);
  let error: LoggedError | null = null;
  let status: EvalState['status'];
  if (running) status = meta.launch.stopRequestedAt ? 'stopping' : 'running';
  else if (report?.complete) status = 'completed';
  else if (report && meta.launch.stopRequestedAt) status = 'stopped';
  else {
    status = 'failed';
    error = errorInLog(log) ?? { code: 'E_EVAL_EXIT', message: 'the evaluation ended without a report', hint: `its output is in ${logPath(dir)}` };
  }
  const total = report?.systems.length ? report.questions.length * report.systems.length : 0;
  const progress = m ? { done: Number(m[1]), total: Number(m[2]) } : total ? { done: total, total } : null;
  return { id, createdAt: meta.createdAt, model: meta.model, runs: meta.runs, dataLabel: meta.dataLabel, status, progress, error,
    report: withReport ? report : null };
}

function heldOut(ctx: StudioContext, b: Body): { file: string; label: string } {
  const dataset = optStr(b, 'dataset');
  const upload = optStr(b, 'upload');
  if (dataset) {
    const ds = getDataset(ctx, dataset);
    if (!ds.val) throw badField('dataset', 'a dataset with a validation split', dataset, 'prepare it again with a validation share above 0, or upload held-out questions (JSONL)');
    return { file: ds.val, label: `${ds.name} (validation split)` };
  }
  if (upload) {
    const up = getUpload(ctx, upload);
    return { file: up.path, label: up.name };
  }
  throw badField('dataset', 'a prepared dataset or an uploaded JSONL file of held-out questions', undefined, 'pick one on the Evaluation page');
}

function startEval(ctx: StudioContext, b: Body): EvalState {
  const runIds = strList(b, 'runs');
  if (runIds.length < 1 || runIds.length > 4) throw badField('runs', '1 to 4 training runs to compare with the base model', runIds);
  const runs = runIds.map((id) => {
    const s = summarizeRun(ctx, id);
    if (!s.adapter) throw new StudioError(409, 'no_adapter', `training run "${s.name}" has no adapter yet`, 'wait until it has written a checkpoint, or pick another run');
    return { id, name: s.name, adapter: s.adapter, model: s.model };
  });
  const model = runs[0].model;
  if (runs.some((r) => r.model !== model)) throw badField('runs', 'runs of the same base model', runs.map((r) => r.model));
  const data = heldOut(ctx, b);
  const limit = optNum(b, 'limit', 1, 1e6, true);
  const maxTokens = optNum(b, 'max_tokens', 1, 4096, true);
  refuseIfBusy(ctx, 'eval');
  const { id, dir } = ctx.ws.create('evals', 'eval');
  const args = ['eval', '--model', model, ...runs.flatMap((r) => ['--adapter', r.adapter]), '--data', data.file, '--out', dir,
    ...(limit ? ['--limit', String(limit)] : []), ...(maxTokens ? ['--max-tokens', String(maxTokens)] : [])];
  const started = startCli(ctx.cli, args, { cwd: ctx.cwd, log: logPath(dir) });
  const meta: EvalMeta = { id, createdAt: new Date().toISOString(), model, runs: runs.map(({ model: _m, ...r }) => r), data: data.file, dataLabel: data.label, limit, launch: started.launch };
  writeJson(metaPath(dir), meta);
  ctx.log(`evaluation ${id}: started pid ${started.launch.pid}`);
  ctx.exits.set(id, started.exited.then(({ code }) => {
    const now = readJson<EvalMeta>(metaPath(dir));
    if (now) writeJson(metaPath(dir), { ...now, launch: { ...now.launch, endedAt: new Date().toISOString(), exitCode: code } });
  }));
  return evalState(ctx, id);
}

export function evalActivity(ctx: StudioContext) {
  return () => ctx.ws.list('evals').flatMap((id) => {
    const dir = path.join(ctx.ws.kindDir('evals'), id);
    const meta = readJson<EvalMeta>(metaPath(dir));
    return meta && live(meta, dir) ? [{ kind: 'eval' as const, id, label: meta.runs.map((r) => r.name).join(', ') }] : [];
  });
}

export function stopEval(ctx: StudioContext, id: string): EvalState {
  const dir = ctx.ws.item('evals', id, 'evaluation');
  const meta = readJson<EvalMeta>(metaPath(dir));
  if (!meta || !live(meta, dir)) throw new StudioError(409, 'not_running', `evaluation "${id}" is not running`, 'reload the page');
  writeJson(metaPath(dir), { ...meta, launch: { ...meta.launch, stopRequestedAt: new Date().toISOString() } });
  interrupt(meta.launch.pid);
  return evalState(ctx, id, false);
}

export function evalRoutes(app: Hono, ctx: StudioContext): void {
  app.get('/api/evals', () => Response.json({ evals: ctx.ws.list('evals').filter((id) => fs.existsSync(metaPath(path.join(ctx.ws.kindDir('evals'), id))))
    .map((id) => evalState(ctx, id, false)) }));
  app.post('/api/evals', async (c) => Response.json({ eval: startEval(ctx, await readBodyJson(c.req.raw)) }, { status: 201 }));
  app.get('/api/evals/:id', (c) => Response.json({ eval: evalState(ctx, c.req.param('id')) }));
  app.post('/api/evals/:id/stop', (c) => Response.json({ eval: stopEval(ctx, c.req.param('id')) }));
  app.get('/api/evals/:id/report.html', (c) => {
    const file = path.join(ctx.ws.item('evals', c.req.param('id'), 'evaluation'), 'eval.html');
    if (!fs.existsSync(file)) throw new StudioError(404, 'not_found', 'this evaluation has no HTML report yet', 'wait until it has finished');
    return new Response(fs.readFileSync(file), { headers: { 'content-type': 'text/html; charset=utf-8' } });
  });
}
