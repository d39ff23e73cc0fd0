// Resumable checkpoints: trainable weights, AdamW moments and the trainer state (step, epoch, position in
// the epoch's batch plan, early-stopping record). A checkpoint folder is filled beside its final place and
// swapped in by two renames; trainer_state.json is written last, so a folder holding it is complete. A
// crash anywhere in the swap leaves at least one complete checkpoint, which recoverDir() puts back.
import fs from 'node:fs';
import path from 'node:path';
import { openSafetensors, writeSafetensors } from '../io/safetensors.js';
import { syncDir, writeFileAtomic } from '../io/atomic.js';
import { ShitateError } from '../errors.js';
import { faultPoint } from './faults.js';
import { parseTrainerState } from './state-file.js';
import type { AdamW, NamedParam } from './optimizer.js';
import type { EarlyStopState } from './early-stop.js';

export interface TrainerState {
  step: number;
  epoch: number;
  /** index of the next micro-batch in this epoch's plan */
  batchInEpoch: number;
  earlyStop: EarlyStopState;
  tokensSeen: number;
  elapsedSec: number;
  /** last training loss (mean over the last step) */
  lastTrainLoss: number | null;
}

export const STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const PARAMS_FILE = 'trainable.safetensors';

/** Names of the folders a swap of `dir` leaves behind when it is cut short: dir.tmp-PID and dir.old-PID. */
function leftovers(dir: string): string[] {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  if (!fs.existsSync(parent)) return [];
  return fs.readdirSync(parent).filter((e) => e.startsWith(`${base}.`) && /^\.(tmp|old)-\d+$/.test(e.slice(base.length))).map((e) => path.join(parent, e));
}

/**
 * Writes a folder via `fill(tmpDir)`, then swaps it in: dir -> dir.old-PID, dir.tmp-PID -> dir, and the
 * old one removed. Every state between the renames holds a complete folder (recoverDir finds it).
 */
export function replaceDir(dir: string, fill: (tmp: string) => void): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fill(tmp);
  syncDir(tmp);
  faultPoint('swap-filled');
  const had = fs.existsSync(dir);
  if (had) {
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(dir, old);
    faultPoint('swap-moved-old');
  }
  fs.renameSync(tmp, dir);
  syncDir(path.dirname(dir));
  faultPoint('swap-renamed-new');
  if (had) fs.rmSync(old, { recursive: true, force: true });
  faultPoint('swap-done');
}

export interface Recovered {
  /** the folder put back in place of `dir`, when `dir` itself was missing or older */
  restoredFrom: string | null;
  /** leftover folders removed */
  removed: string[];
}

/**
 * After a crash: among `dir` and its swap leftovers, keeps the newest complete one (by `rank`; null =
 * incomplete) as `dir` and removes the others. Only call it while holding the run folder's lock.
 */
export function recoverDir(dir: string, rank: (d: string) => number | null): Recovered {
  const candidates = [dir, ...leftovers(dir)].filter((d) => fs.existsSync(d));
  let best: string | null = null;
  let bestRank = -Infinity;
  for (const d of candidates) {
    const r = rank(d);
    if (r !== null && r > bestRank) { // ties keep the earlier candidate: dir itself first
      best = d;
      bestRank = r;
    }
  }
  const removed: string[] = [];
  if (best !== null && best !== dir) {
    if (fs.existsSync(dir)) {
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
    fs.renameSync(best, dir);
    syncDir(path.dirname(dir));
  }
  for (const d of candidates) {
    if (d === dir || d === best) continue;
    fs.rmSync(d, { recursive: true, force: true });
    removed.push(d);
  }
  return { restoredFrom: best !== null && best !== dir ? best : null, removed };
}

/** Throws what is wrong with a checkpoint folder: a missing file or a damaged trainer state. */
export function checkCheckpoint(dir: string): void {
  for (const f of [PARAMS_FILE, OPTIMIZER_FILE]) {
    if (!fs.existsSync(path.join(dir, f))) {
      throw new ShitateError('E_CHECKPOINT', `checkpoint ${dir}: expected ${f}, found none`,
        'the checkpoint is incomplete (copied or edited by hand?); restore the run folder from a backup, or start the run again without --resume');
    }
  }
  readTrainerState(dir);
}

/** The step of a complete training checkpoint folder, or null (missing files, unreadable state). */
export function checkpointStep(dir: string): number | null {
  if (![PARAMS_FILE, OPTIMIZER_FILE].every((f) => fs.existsSync(path.join(dir, f)))) return null;
  try {
    return readTrainerState(dir).step;
  } catch {
    return null;
  }
}

export function saveTrainingCheckpoint(dir: string, params: NamedParam[], opt: AdamW, state: TrainerState,
  extra: (tmp: string) => void = () => {}): void {
  replaceDir(dir, (tmp) => {
    writeSafetensors(path.join(tmp, PARAMS_FILE), params.map((p) => ({ name: p.name, shape: [...p.tensor.shape], dtype: 'F32' as const, data: p.tensor.data })));
    writeSafetensors(path.join(tmp, OPTIMIZER_FILE), opt.stateTensors().map((t) => ({ name: t.name, shape: [t.data.length], dtype: 'F32' as const, data: t.data })),
      { step: String(opt.step) });
    extra(tmp);
    // last: its presence marks the folder complete
    writeFileAtomic(path.join(tmp, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
  });
}

/** The checked trainer state of a checkpoint folder. */
export function readTrainerState(dir: string): TrainerState {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ShitateError('E_CHECKPOINT', `checkpoint ${dir}: expected ${STATE_FILE}, found ${(e as NodeJS.ErrnoException).code ?? 'nothing'}`,
      'the checkpoint is incomplete; resume finds the newest complete one, or start the run again without --resume');
  }
  return parseTrainerState(text, file);
}

/** Restores weights into `params` and moments into `opt`; returns the trainer state. */
export function loadTrainingCheckpoint(dir: string, params: NamedParam[], opt: AdamW): TrainerState {
  const state = readTrainerState(dir);
  const w = openSafetensors(path.join(dir, PARAMS_FILE));
  try {
    for (const p of params) {
      const info = w.header.get(p.name);
      if (!info || info.shape.join() !== p.tensor.shape.join()) {
        throw new ShitateError('E_RESUME', `checkpoint weight ${p.name}: expected shape [${p.tensor.shape}], found ${info ? `[${info.shape}]` : 'none'}`,
          'resume with the same model and LoRA settings the run started with');
      }
      w.readF32(p.name, p.tensor.data);
    }
  } finally {
    w.close();
  }
  const o = openSafetensors(path.join(dir, OPTIMIZER_FILE));
  try {
    opt.loadState(state.step, (name) => (o.header.has(name) ? o.readF32(name) : undefined));
  } finally {
    o.close();
  }
  return state;
}
