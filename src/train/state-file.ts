// The run's state files read back with checks: trainer_state.json and the run's config.json. A damaged
// file is an error that names the file, what was expected and what to do, never a raw stack trace.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { EarlyStopState } from './early-stop.js';
import type { TrainerState } from './checkpoint.js';

type Obj = Record<string, unknown>;

function damaged(file: string, found: string, hint: string, code = 'E_CHECKPOINT'): ShitateError {
  return new ShitateError(code, `${file}: ${found}`, hint);
}

const STATE_HINT = 'the checkpoint is damaged (a crash while copying, or an edit); restore the run folder from a backup, or start the run again without --resume';

function parseObject(text: string, file: string, hint: string, code?: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw damaged(file, `expected JSON, found ${text.trim() === '' ? 'an empty file' : `unreadable text (${(e as Error).message})`}`, hint, code);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw damaged(file, `expected a JSON object, found ${Array.isArray(v) ? 'a list' : String(v)}`, hint, code);
  return v as Obj;
}

function count(o: Obj, key: string, file: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw damaged(file, `expected "${key}" to be a whole number >= 0, found ${JSON.stringify(v) ?? 'nothing'}`, STATE_HINT);
  return v;
}

/** A number that JSON may have written as null (Infinity and NaN become null in JSON). */
function numberOr(o: Obj, key: string, file: string, ifNull: number): number {
  const v = o[key];
  if (v === null) return ifNull;
  if (typeof v !== 'number') throw damaged(file, `expected "${key}" to be a number, found ${JSON.stringify(v) ?? 'nothing'}`, STATE_HINT);
  return v;
}

function earlyStop(v: unknown, file: string): EarlyStopState {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw damaged(file, `expected "earlyStop" to be an object, found ${JSON.stringify(v) ?? 'nothing'}`, STATE_HINT);
  const o = v as Obj;
  const bestStep = o.bestStep;
  if (typeof bestStep !== 'number' || !Number.isInteger(bestStep) || bestStep < -1) throw damaged(file, `expected "earlyStop.bestStep" to be a step or -1, found ${JSON.stringify(bestStep)}`, STATE_HINT);
  if (!Array.isArray(o.gaps) || o.gaps.some((g) => g !== null && typeof g !== 'number')) throw damaged(file, 'expected "earlyStop.gaps" to be a list of numbers', STATE_HINT);
  return {
    // no evaluation yet: best is Infinity, which JSON stores as null
    best: numberOr(o, 'best', file, Infinity),
    bestStep,
    badEvals: count(o, 'badEvals', file),
    gaps: (o.gaps as (number | null)[]).map((g) => g ?? NaN),
    // preference training monitors a score; the validation loss and tie-breaker of its best step
    ...(typeof o.bestLoss === 'number' ? { bestLoss: o.bestLoss } : {}),
    ...(typeof o.bestTie === 'number' ? { bestTie: o.bestTie } : {}),
  };
}

/** trainer_state.json checked field by field. */
export function parseTrainerState(text: string, file: string): TrainerState {
  const o = parseObject(text, file, STATE_HINT);
  const last = o.lastTrainLoss;
  if (last !== null && typeof last !== 'number') throw damaged(file, `expected "lastTrainLoss" to be a number or null, found ${JSON.stringify(last) ?? 'nothing'}`, STATE_HINT);
  return {
    step: count(o, 'step', file),
    epoch: count(o, 'epoch', file),
    batchInEpoch: count(o, 'batchInEpoch', file),
    earlyStop: earlyStop(o.earlyStop, file),
    tokensSeen: count(o, 'tokensSeen', file),
    elapsedSec: numberOr(o, 'elapsedSec', file, 0),
    lastTrainLoss: last,
  };
}

export interface SavedRunConfig<T> {
  config: T;
  sources: Record<string, string>;
}

/** Writes RUN_DIR/config.json: the resolved settings and where each came from. A resume without sources (library
 *  callers) keeps the ones the run started with. Returns the sources written. */
export function writeRunConfig(runDir: string, config: object, sources: Record<string, string> | undefined, resume: boolean): Record<string, string> {
  const file = path.join(runDir, 'config.json');
  const kept = sources ?? (resume && fs.existsSync(file) ? readRunConfig(file).sources : {});
  writeFileAtomic(file, JSON.stringify({ config, sources: kept }, null, 2) + '\n');
  return kept;
}

/** RUN_DIR/config.json as `train` wrote it: the resolved settings and where each came from. */
export function readRunConfig<T extends Obj>(file: string): SavedRunConfig<T> {
  const hint = 'this file is written by `shitate train` when a run starts; restore it from a backup, or start a new run';
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const folder = path.dirname(file);
    throw new ShitateError('E_RESUME', `expected ${file} from an earlier run, found ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'none' : (e as Error).message}`,
      fs.existsSync(folder) ? `the run in ${folder} was stopped before it saved its settings: start it again with the same \`shitate train ... --out ${folder}\` command`
        : 'pass the RUN_DIR that `shitate train` printed');
  }
  const o = parseObject(text, file, hint, 'E_RESUME');
  const c = o.config;
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw damaged(file, 'expected a "config" object with the run\'s settings', hint, 'E_RESUME');
  const cfg = c as Obj;
  for (const k of ['model', 'data']) {
    if (typeof cfg[k] !== 'string' || cfg[k] === '') {
      throw damaged(file, `expected "config.${k}" to name a ${k === 'model' ? 'model folder' : 'data file'}, found ${JSON.stringify(cfg[k]) ?? 'nothing'}`, hint, 'E_RESUME');
    }
  }
  const sources = o.sources !== null && typeof o.sources === 'object' && !Array.isArray(o.sources) ? (o.sources as Record<string, string>) : {};
  return { config: cfg as T, sources };
}
