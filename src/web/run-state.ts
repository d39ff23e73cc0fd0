// What a training run folder says about the run: its curves (metrics.jsonl as `shitate train` writes it),
// where it stands (running, stopped and resumable, completed, failed with the command's own error) and the
// warnings worth showing at the step they happened. Read from disk each time, so it is right after restarts.
import fs from 'node:fs';
import path from 'node:path';
import { errorInLog, isAlive, readLog, warningsInLog, type Launch, type LoggedError } from './jobs.js';
import { readJson } from './workspace.js';

/** One line of metrics.jsonl (the trainer's events with a time stamp). */
export interface MetricLine {
  type: 'start' | 'step' | 'eval' | 'warning' | 'done';
  step?: number;
  totalSteps?: number;
  epoch?: number;
  loss?: number;
  lr?: number;
  gradNorm?: number;
  tokensPerSec?: number;
  etaSec?: number;
  valLoss?: number;
  trainLoss?: number;
  bestValLoss?: number | null;
  improved?: boolean;
  message?: string;
  reason?: 'completed' | 'early-stop' | 'interrupted';
  bestStep?: number | null;
  resumedAt?: number | null;
  time?: string;
}

export type RunStatus = 'running' | 'stopping' | 'stopped' | 'completed' | 'failed';

/** What studio.json holds for a run. */
export interface RunMeta {
  id: string;
  name: string;
  createdAt: string;
  model: string;
  dataset: string | null;
  data: string;
  val: string | null;
  /** the settings as the page sent them (snake_case train keys) */
  settings: Record<string, unknown>;
  launches: (Launch & { stopRequestedAt?: string })[];
}

export interface RunNotice {
  kind: 'warning' | 'early-stop' | 'overfit';
  step: number | null;
  message: string;
}

export interface RunProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number | null;
  valLoss: number | null;
  lr: number | null;
  tokensPerSec: number | null;
  etaSec: number | null;
}

export interface RunState {
  status: RunStatus;
  /** how a finished run ended: completed, early-stop */
  reason: string | null;
  error: LoggedError | null;
  resumable: boolean;
  progress: RunProgress | null;
  best: { valLoss: number; step: number } | null;
  notices: RunNotice[];
  adapter: string | null;
}

export const metricsFile = (runDir: string): string => path.join(runDir, 'metrics.jsonl');
export const logFile = (runDir: string): string => path.join(runDir, 'train.log');
export const metaFile = (runDir: string): string => path.join(runDir, 'studio.json');

/** Parsed files by path, kept while their size and time stamp stay the same (lists and live views poll). */
const parsed = new Map<string, { size: number; mtimeMs: number; ino: number; lines: MetricLine[] }>();

/** Every whole line of metrics.jsonl (a line being written is left for the next read). */
export function readMetrics(runDir: string): MetricLine[] {
  const file = metricsFile(runDir);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const hit = parsed.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino) return hit.lines;
  const out: MetricLine[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(0, -1)) if (line.trim()) out.push(JSON.parse(line) as MetricLine);
  parsed.set(file, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, lines: out });
  return out;
}

export function readRunMeta(runDir: string): RunMeta | null {
  return readJson<RunMeta>(metaFile(runDir));
}

/** The process of the last launch, when it still runs. */
export function liveLaunch(meta: RunMeta, runDir: string): RunMeta['launches'][number] | null {
  const last = meta.launches.at(-1);
  if (!last || last.endedAt !== undefined) return null;
  return isAlive(last.pid, runDir) ? last : null;
}

function lastOf(lines: MetricLine[], type: MetricLine['type']): MetricLine | undefined {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i].type === type) return lines[i];
  return undefined;
}

function progressOf(lines: MetricLine[]): RunProgress | null {
  const step = lastOf(lines, 'step');
  if (!step) return null;
  const ev = lastOf(lines, 'eval');
  return {
    step: step.step ?? 0, totalSteps: step.totalSteps ?? 0, epoch: step.epoch ?? 0, loss: step.loss ?? null,
    valLoss: ev?.valLoss ?? null, lr: step.lr ?? null, tokensPerSec: step.tokensPerSec ?? null, etaSec: step.etaSec ?? null,
  };
}

/** Warnings at the step they came after; early stops and over-fitting marked as such. */
export function noticesOf(lines: MetricLine[], logText: string): RunNotice[] {
  const out: RunNotice[] = [];
  let step: number | null = null;
  for (const l of lines) {
    if (l.type === 'step' || l.type === 'eval') step = l.step ?? step;
    if (l.type === 'warning' && l.message) {
      out.push({ kind: /memoris|rising while training loss/.test(l.message) ? 'overfit' : 'warning', step, message: l.message });
    }
    if (l.type === 'done' && l.reason === 'early-stop') {
      out.push({ kind: 'early-stop', step: l.step ?? step, message: `early stopping at step ${l.step}: the validation loss stopped improving; ` +
        `the best adapter (step ${l.bestStep}, validation loss ${l.bestValLoss?.toFixed(4)}) was kept` });
    }
  }
  for (const w of warningsInLog(logText)) if (!out.some((n) => n.message === w)) out.push({ kind: 'warning', step: null, message: w });
  return out;
}

/** The events of the latest launch: from the last 'start' on (a resumed run starts again). */
function lastSegment(lines: MetricLine[]): MetricLine[] {
  let at = -1;
  lines.forEach((l, i) => { if (l.type === 'start') at = i; });
  return at < 0 ? lines : lines.slice(at);
}

export function runState(runDir: string, meta: RunMeta, lines: MetricLine[] = readMetrics(runDir)): RunState {
  const live = liveLaunch(meta, runDir);
  const last = meta.launches.at(-1);
  const logText = readLog(logFile(runDir), 0, 256 * 1024);
  const sinceLaunch = last ? readLog(logFile(runDir), last.logOffset) : '';
  const hasCheckpoint = fs.existsSync(path.join(runDir, 'checkpoints', 'last'));
  const done = lastOf(lastSegment(lines), 'done');
  let status: RunStatus;
  let error: LoggedError | null = null;
  let reason: string | null = null;
  if (live) status = live.stopRequestedAt ? 'stopping' : 'running';
  else if ((error = errorInLog(sinceLaunch)) !== null) status = 'failed';
  else if (done && done.reason !== 'interrupted') {
    status = 'completed';
    reason = done.reason ?? 'completed';
  } else if (done || hasCheckpoint) status = 'stopped';
  else {
    status = 'failed';
    error = { code: 'E_TRAIN_EXIT', message: 'the training process ended before it wrote a checkpoint', hint: `the output is in ${logFile(runDir)}` };
  }
  const evals = lines.filter((l) => l.type === 'eval' && l.valLoss !== undefined);
  const bestEval = evals.reduce<MetricLine | null>((b, l) => (b === null || l.valLoss! < b.valLoss! ? l : b), null);
  const adapter = path.join(runDir, 'adapter');
  return {
    status, reason, error,
    resumable: !live && hasCheckpoint && status !== 'completed',
    progress: progressOf(lines),
    best: bestEval ? { valLoss: bestEval.valLoss!, step: bestEval.step! } : null,
    notices: noticesOf(lines, logText),
    adapter: fs.existsSync(path.join(adapter, 'adapter_config.json')) ? adapter : null,
  };
}
