// Resumable checkpoints: trainable weights, AdamW moments and the trainer state (step, epoch, position in
// the epoch's batch plan, early-stopping record). A checkpoint folder is written beside its final place
// and swapped in by rename, so an interruption leaves the previous checkpoint intact.
import fs from 'node:fs';
import path from 'node:path';
import { openSafetensors, writeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ShitateError } from '../errors.js';
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

/** Writes a folder via `fill(tmpDir)` then renames it over `dir` (the old one is removed after). */
export function replaceDir(dir: string, fill: (tmp: string) => void): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fill(tmp);
  const had = fs.existsSync(dir);
  if (had) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  if (had) fs.rmSync(old, { recursive: true, force: true });
}

export function saveTrainingCheckpoint(dir: string, params: NamedParam[], opt: AdamW, state: TrainerState,
  extra: (tmp: string) => void = () => {}): void {
  replaceDir(dir, (tmp) => {
    writeSafetensors(path.join(tmp, PARAMS_FILE), params.map((p) => ({ name: p.name, shape: [...p.tensor.shape], dtype: 'F32' as const, data: p.tensor.data })));
    writeSafetensors(path.join(tmp, OPTIMIZER_FILE), opt.stateTensors().map((t) => ({ name: t.name, shape: [t.data.length], dtype: 'F32' as const, data: t.data })),
      { step: String(opt.step) });
    writeFileAtomic(path.join(tmp, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
    extra(tmp);
  });
}

/** Restores weights into `params` and moments into `opt`; returns the trainer state. */
export function loadTrainingCheckpoint(dir: string, params: NamedParam[], opt: AdamW): TrainerState {
  const stateFile = path.join(dir, STATE_FILE);
  if (!fs.existsSync(stateFile)) {
    throw new ShitateError('E_RESUME', `expected a checkpoint at ${dir} (${STATE_FILE}), found none`,
      'the run was stopped before its first checkpoint; start it again without --resume');
  }
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as TrainerState;
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
