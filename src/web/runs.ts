// Training runs of the studio: each is `shitate train --config RUN/train.yaml --out RUN` started as a child
// process (stop = Ctrl-C, which writes a checkpoint; resume = `shitate train --resume RUN`). The settings
// from the page are checked against train's own schema before anything starts, and written as the YAML a
// user could pass to the CLI (or to `shitate export-job`) unchanged.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { coerce, snake, type Value } from '../config/resolve.js';
import { LICENCE_DEFAULTS, LICENCE_SCHEMA } from '../catalog/gate.js';
import { TRAIN_DEFAULTS, TRAIN_SCHEMA } from '../train/config.js';
import { refuseIfBusy, type StudioContext } from './context.js';
import { badField, StudioError } from './errors.js';
import { obj, optStr, type Body } from './fields.js';
import { interrupt, startCli, type Launch } from './jobs.js';
import { datasetFiles } from './datasets.js';
import { checkModelDir } from './models.js';
import { liveLaunch, logFile, metaFile, readMetrics, readRunMeta, runState, type RunMeta, type RunState } from './run-state.js';
import { readJson, writeJson } from './workspace.js';

export const SETTINGS_SCHEMA = { ...TRAIN_SCHEMA, ...LICENCE_SCHEMA };
/** keys the studio sets itself */
const OWN_KEYS = new Set(['model', 'data', 'val', 'out']);

export interface RunSummary extends RunState {
  id: string;
  name: string;
  createdAt: string;
  model: string;
  dataset: string | null;
  /** train loss by step, thinned to at most 120 points, for the list's small curves */
  curve: [number, number][];
}

/** Page settings (snake_case, as in a train.yaml) checked one by one with the CLI's own rules. */
export function checkSettings(raw: Body): Record<string, Value> {
  const bySnake = new Map(Object.keys(SETTINGS_SCHEMA).map((k) => [snake(k), k]));
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = bySnake.get(k);
    if (!key || OWN_KEYS.has(key)) {
      throw badField(`settings.${k}`, 'a training setting', k, `known settings: ${[...bySnake.keys()].filter((s) => !OWN_KEYS.has(bySnake.get(s)!)).join(', ')}`);
    }
    if (v === undefined) continue;
    out[k] = coerce(key, SETTINGS_SCHEMA[key as keyof typeof SETTINGS_SCHEMA], v, 'settings');
  }
  return out;
}

/** Defaults and help of every setting, so the page's form is drawn from the schema train itself uses. */
export function settingsSchema(): { key: string; type: string; help: string; default: unknown; choices?: readonly string[]; min?: number; max?: number; nullable?: boolean }[] {
  const defaults: Record<string, unknown> = { ...TRAIN_DEFAULTS, ...LICENCE_DEFAULTS };
  return Object.entries(SETTINGS_SCHEMA).filter(([k]) => !OWN_KEYS.has(k)).map(([k, s]) => ({
    key: snake(k), type: s.type, help: s.help, default: defaults[k],
    ...('choices' in s ? { choices: s.choices } : {}), ...('min' in s ? { min: s.min } : {}), ...('max' in s ? { max: s.max } : {}),
    ...('nullable' in s ? { nullable: s.nullable } : {}),
  }));
}

function runDirOf(ctx: StudioContext, id: string): string {
  return ctx.ws.item('runs', id, 'training run');
}

function metaOf(ctx: StudioContext, id: string): { dir: string; meta: RunMeta } {
  const dir = runDirOf(ctx, id);
  const meta = readRunMeta(dir);
  if (!meta) throw new StudioError(404, 'not_found', `training run "${id}" has no studio.json`, 'it was not started by the studio; use `shitate train` for it');
  return { dir, meta };
}

function thin(points: [number, number][], max: number): [number, number][] {
  if (points.length <= max) return points;
  const every = points.length / max;
  return Array.from({ length: max }, (_, i) => points[Math.floor(i * every)]).concat([points[points.length - 1]]);
}

export function summarizeRun(ctx: StudioContext, id: string): RunSummary {
  const { dir, meta } = metaOf(ctx, id);
  const lines = readMetrics(dir);
  const curve = lines.filter((l) => l.type === 'step' && l.loss !== undefined).map((l) => [l.step!, l.loss!] as [number, number]);
  return { id, name: meta.name, createdAt: meta.createdAt, model: meta.model, dataset: meta.dataset, ...runState(dir, meta, lines), curve: thin(curve, 120) };
}

export function listRuns(ctx: StudioContext): RunSummary[] {
  return ctx.ws.list('runs').filter((id) => fs.existsSync(metaFile(path.join(ctx.ws.kindDir('runs'), id)))).map((id) => summarizeRun(ctx, id));
}

/** Everything about one run: its summary, the whole curves, the resolved config with where each value came from. */
export function runDetail(ctx: StudioContext, id: string): Record<string, unknown> {
  const { dir, meta } = metaOf(ctx, id);
  const lines = readMetrics(dir);
  const saved = readJson<{ config: Record<string, unknown>; sources: Record<string, string> }>(path.join(dir, 'config.json'));
  return {
    ...summarizeRun(ctx, id), dir, settings: meta.settings, data: meta.data, val: meta.val, launches: meta.launches,
    config: saved?.config ?? null, sources: saved?.sources ?? null, summary: readJson(path.join(dir, 'summary.json')), metrics: lines,
    log: logFile(dir),
  };
}

/** Runs this studio is training now (for the one-at-a-time rule). */
export function trainingActivity(ctx: StudioContext) {
  return () => ctx.ws.list('runs').flatMap((id) => {
    const dir = path.join(ctx.ws.kindDir('runs'), id);
    const meta = readRunMeta(dir);
    return meta && liveLaunch(meta, dir) ? [{ kind: 'train' as const, id, label: meta.name }] : [];
  });
}

function launch(ctx: StudioContext, id: string, dir: string, meta: RunMeta, args: string[]): Launch {
  const started = startCli(ctx.cli, args, { cwd: ctx.cwd, log: logFile(dir) });
  meta.launches.push(started.launch);
  writeJson(metaFile(dir), meta);
  ctx.log(`training ${id}: started pid ${started.launch.pid} (shitate ${args.join(' ')})`);
  ctx.exits.set(id, started.exited.then(({ code, signal }) => {
    const now = readRunMeta(dir);
    const l = now?.launches.find((x) => x.pid === started.launch.pid && x.startedAt === started.launch.startedAt);
    if (now && l) {
      l.endedAt = new Date().toISOString();
      l.exitCode = code;
      writeJson(metaFile(dir), now);
    }
    ctx.log(`training ${id}: pid ${started.launch.pid} exited (${code ?? signal})`);
  }));
  return started.launch;
}

export function startRun(ctx: StudioContext, b: Body): RunSummary {
  const model = checkModelDir(String(b.model ?? ''));
  const settings = checkSettings(obj(b, 'settings'));
  const datasetId = optStr(b, 'dataset');
  const files = datasetId ? datasetFiles(ctx, datasetId) : { train: optStr(b, 'data'), val: optStr(b, 'val') };
  if (!files.train || !fs.existsSync(files.train)) {
    throw badField('dataset', 'a prepared dataset (or a data file)', datasetId ?? b.data, 'prepare your data on the Data page first');
  }
  refuseIfBusy(ctx, 'train');
  const { id, dir } = ctx.ws.create('runs', 'run');
  const name = (optStr(b, 'name') ?? `${path.basename(model)} · ${datasetId ?? path.basename(files.train)}`).slice(0, 120);
  const yaml = { model, data: path.resolve(files.train), ...(files.val ? { val: path.resolve(files.val) } : {}), ...settings };
  fs.writeFileSync(path.join(dir, 'train.yaml'), `# training settings chosen in shitate studio; run again with: shitate train --config train.yaml --out RUN_DIR\n${YAML.stringify(yaml)}`);
  const meta: RunMeta = { id, name, createdAt: new Date().toISOString(), model, dataset: datasetId, data: files.train, val: files.val ?? null, settings, launches: [] };
  launch(ctx, id, dir, meta, ['train', '--config', path.join(dir, 'train.yaml'), '--out', dir]);
  return summarizeRun(ctx, id);
}

export function stopRun(ctx: StudioContext, id: string): RunSummary {
  const { dir, meta } = metaOf(ctx, id);
  const live = liveLaunch(meta, dir);
  if (!live) throw new StudioError(409, 'not_running', `training run "${meta.name}" is not running`, 'reload the page to see its current state');
  if (!live.stopRequestedAt) {
    live.stopRequestedAt = new Date().toISOString();
    writeJson(metaFile(dir), meta);
    interrupt(live.pid);
  }
  return summarizeRun(ctx, id);
}

export function resumeRun(ctx: StudioContext, id: string): RunSummary {
  const { dir, meta } = metaOf(ctx, id);
  const state = runState(dir, meta);
  if (!state.resumable) {
    const why = state.status === 'completed' ? 'it has completed' : state.status === 'running' || state.status === 'stopping' ? 'it is running' : 'it has no checkpoint yet';
    throw new StudioError(409, 'not_resumable', `training run "${meta.name}" cannot be resumed: ${why}`,
      state.status === 'completed' ? 'start a new run to train further' : 'start a new run instead');
  }
  refuseIfBusy(ctx, 'train');
  launch(ctx, id, dir, meta, ['train', '--resume', dir]);
  return summarizeRun(ctx, id);
}

export function deleteRun(ctx: StudioContext, id: string): void {
  const { dir, meta } = metaOf(ctx, id);
  if (liveLaunch(meta, dir)) throw new StudioError(409, 'running', `training run "${meta.name}" is running`, 'stop it first');
  fs.rmSync(dir, { recursive: true, force: true });
}
