// The Export page: a run's adapter as it is (PEFT folder), a merged model folder (`shitate merge`), and,
// where this installation has those commands, GGUF + Ollama Modelfile (`shitate export`) and GPU job
// bundles (`shitate export-job`). Each result lands in exports/<id>/ and downloads as a .tar.gz.
import fs from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import { PURPOSES } from '../catalog/gate.js';
import { refuseIfBusy, type StudioContext } from './context.js';
import { badField, StudioError } from './errors.js';
import { optBool, optNum, optStr, readBodyJson, str, type Body } from './fields.js';
import { errorInLog, isAlive, readLog, startCli, type Launch, type LoggedError } from './jobs.js';
import { readRunMeta } from './run-state.js';
import { summarizeRun } from './runs.js';
import { tarGzStream } from './tar.js';
import { readJson, writeJson } from './workspace.js';

export const KINDS = ['adapter', 'merged', 'gguf', 'job'] as const;
export type ExportKind = (typeof KINDS)[number];
const QUANTS = ['f16', 'bf16', 'q8_0', 'q4_k_m'];
const ENGINES = ['hf', 'axolotl', 'llama-factory', 'vllm'];

interface ExportMeta {
  id: string;
  kind: ExportKind;
  run: string;
  runName: string;
  createdAt: string;
  /** the output inside the export folder (a folder or a file) */
  output: string;
  command: string | null;
  launch: Launch | null;
}

/** Which exports this installation offers: GGUF and job bundles only when their commands exist. */
export function exportOptions(ctx: StudioContext): Record<string, unknown> {
  return {
    adapter: true, merged: ctx.commands.includes('merge'), gguf: ctx.commands.includes('export'), job: ctx.commands.includes('export-job'),
    quants: QUANTS, engines: ENGINES,
  };
}

const metaPath = (dir: string) => path.join(dir, 'studio.json');
const logPath = (dir: string) => path.join(dir, 'export.log');

function argsFor(kind: ExportKind, b: Body, run: { id: string; dir: string; model: string; adapter: string; data: string; val: string | null }, out: string): string[] {
  switch (kind) {
    case 'merged': {
      const purpose = optStr(b, 'purpose');
      if (purpose && !(PURPOSES as readonly string[]).includes(purpose)) throw badField('purpose', PURPOSES.join(', '), purpose);
      return ['merge', '--model', run.model, '--adapter', run.adapter, '--out', out, ...(purpose ? ['--purpose', purpose] : []),
        ...(optBool(b, 'accept_licence', false) ? ['--accept-licence'] : [])];
    }
    case 'gguf': {
      const quant = optStr(b, 'quant') ?? 'q8_0';
      if (!QUANTS.includes(quant)) throw badField('quant', QUANTS.join(', '), quant);
      return ['export', '--model', run.model, '--adapter', run.adapter, '--format', 'gguf', '--quant', quant, '--out', path.join(out, `model-${quant}.gguf`),
        ...(optBool(b, 'ollama', true) ? ['--ollama'] : [])];
    }
    default: {
      const engine = optStr(b, 'engine') ?? 'hf';
      if (!ENGINES.includes(engine)) throw badField('engine', ENGINES.join(', '), engine);
      // vLLM serves the trained adapter; the trainers get the data and the run's own train.yaml
      if (engine === 'vllm') return ['export-job', '--engine', 'vllm', '--model', run.model, '--adapter', `${run.id}=${run.adapter}`, '--out', out];
      const gpus = optNum(b, 'gpus', 1, 64, true) ?? 1;
      return ['export-job', '--engine', engine, '--model', run.model, '--data', run.data, ...(run.val ? ['--val', run.val] : []),
        '--config', path.join(run.dir, 'train.yaml'), '--gpus', String(gpus), '--out', out];
    }
  }
}

function startExport(ctx: StudioContext, b: Body): Record<string, unknown> {
  const kind = str(b, 'kind') as ExportKind;
  if (!KINDS.includes(kind)) throw badField('kind', KINDS.join(', '), kind);
  const opts = exportOptions(ctx);
  if (!opts[kind]) {
    throw new StudioError(400, 'not_available', `this installation of shitate has no ${kind === 'gguf' ? '`shitate export`' : kind === 'job' ? '`shitate export-job`' : '`shitate merge`'} command`, 'update shitate');
  }
  const runId = str(b, 'run');
  const run = summarizeRun(ctx, runId);
  if (!run.adapter) throw new StudioError(409, 'no_adapter', `training run "${run.name}" has no adapter yet`, 'train it until it writes a checkpoint');
  const runDir = ctx.ws.item('runs', runId, 'training run');
  const meta0 = readRunMeta(runDir)!;
  if (kind !== 'adapter') refuseIfBusy(ctx, 'export');
  const { id, dir } = ctx.ws.create('exports', `${kind}`);
  const output = { adapter: 'adapter', merged: 'merged', gguf: 'gguf', job: 'job' }[kind];
  const meta: ExportMeta = { id, kind, run: runId, runName: run.name, createdAt: new Date().toISOString(), output, command: null, launch: null };
  if (kind === 'adapter') {
    fs.cpSync(run.adapter, path.join(dir, 'adapter.tmp'), { recursive: true });
    fs.renameSync(path.join(dir, 'adapter.tmp'), path.join(dir, output));
  } else {
    const out = path.join(dir, output);
    if (kind === 'gguf') fs.mkdirSync(out);
    const args = argsFor(kind, b, { id: runId, dir: runDir, model: run.model, adapter: run.adapter, data: meta0.data, val: meta0.val }, out);
    const started = startCli(ctx.cli, args, { cwd: ctx.cwd, log: logPath(dir) });
    meta.command = `shitate ${args.join(' ')}`;
    meta.launch = started.launch;
    ctx.exits.set(id, started.exited.then(({ code }) => {
      const now = readJson<ExportMeta>(metaPath(dir));
      if (now?.launch) writeJson(metaPath(dir), { ...now, launch: { ...now.launch, endedAt: new Date().toISOString(), exitCode: code } });
    }));
  }
  writeJson(metaPath(dir), meta);
  return exportState(ctx, id);
}

function files(root: string): { path: string; size: number }[] {
  if (!fs.existsSync(root)) return [];
  if (fs.statSync(root).isFile()) return [{ path: path.basename(root), size: fs.statSync(root).size }];
  return (fs.readdirSync(root, { recursive: true }) as string[]).map((p) => ({ path: p, abs: path.join(root, p) }))
    .filter((f) => fs.statSync(f.abs).isFile()).map((f) => ({ path: f.path, size: fs.statSync(f.abs).size })).sort((a, b) => a.path.localeCompare(b.path));
}

function exportState(ctx: StudioContext, id: string): Record<string, unknown> {
  const dir = ctx.ws.item('exports', id, 'export');
  const meta = readJson<ExportMeta>(metaPath(dir));
  if (!meta) throw new StudioError(404, 'not_found', `export "${id}" has no studio.json`, 'export again');
  const l = meta.launch;
  const running = l !== null && l.endedAt === undefined && isAlive(l.pid, dir);
  let error: LoggedError | null = null;
  let status = 'completed';
  if (running) status = 'running';
  else if (l) {
    error = errorInLog(readLog(logPath(dir)));
    if (error || (l.exitCode !== undefined && l.exitCode !== 0) || files(path.join(dir, meta.output)).length === 0) {
      status = 'failed';
      error ??= { code: 'E_EXPORT_EXIT', message: `the export ended with exit code ${l.exitCode ?? 'unknown'}`, hint: `its output is in ${logPath(dir)}` };
    }
  }
  return { ...meta, dir: path.join(dir, meta.output), status, error, files: status === 'completed' ? files(path.join(dir, meta.output)) : [] };
}

export function exportActivity(ctx: StudioContext) {
  return () => ctx.ws.list('exports').flatMap((id) => {
    const dir = path.join(ctx.ws.kindDir('exports'), id);
    const m = readJson<ExportMeta>(metaPath(dir));
    return m?.launch && m.launch.endedAt === undefined && isAlive(m.launch.pid, dir) ? [{ kind: 'export' as const, id, label: `${m.kind} of ${m.runName}` }] : [];
  });
}

export function exportRoutes(app: Hono, ctx: StudioContext): void {
  app.get('/api/export/options', () => Response.json(exportOptions(ctx)));
  app.get('/api/exports', () => Response.json({ exports: ctx.ws.list('exports').filter((id) => fs.existsSync(metaPath(path.join(ctx.ws.kindDir('exports'), id)))).map((id) => exportState(ctx, id)) }));
  app.post('/api/exports', async (c) => Response.json({ export: startExport(ctx, await readBodyJson(c.req.raw)) }, { status: 201 }));
  app.get('/api/exports/:id', (c) => Response.json({ export: exportState(ctx, c.req.param('id')) }));
  app.delete('/api/exports/:id', (c) => {
    const st = exportState(ctx, c.req.param('id'));
    if (st.status === 'running') throw new StudioError(409, 'running', 'this export is still running', 'wait for it to finish');
    fs.rmSync(ctx.ws.item('exports', c.req.param('id'), 'export'), { recursive: true, force: true });
    return Response.json({ deleted: c.req.param('id') });
  });
  app.get('/api/exports/:id/download', (c) => {
    const st = exportState(ctx, c.req.param('id'));
    if (st.status !== 'completed') throw new StudioError(409, 'not_ready', `this export is ${st.status}`, 'download it once it has completed');
    const dir = path.join(ctx.ws.item('exports', c.req.param('id'), 'export'), String(st.output));
    const top = `${st.run}-${st.kind}`;
    return new Response(tarGzStream(dir, top), {
      headers: { 'content-type': 'application/gzip', 'content-disposition': `attachment; filename="${top}.tar.gz"` },
    });
  });
}
