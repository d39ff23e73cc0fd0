// Opening a run folder for training: take its lock, repair what a crash left (a checkpoint swap cut
// short, temp files, a torn metrics line), and decide how the run starts: fresh, resumed from its newest
// complete checkpoint, or started over because the earlier attempt never reached a checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { removeTempLeftovers } from '../io/atomic.js';
import { checkCheckpoint, checkpointStep, recoverDir } from './checkpoint.js';
import { lockRunDir, type RunLock } from './run-lock.js';

export const CHECKPOINTS = 'checkpoints';
/** Written last into checkpoints/best: its presence marks that folder complete. */
export const BEST_FILE = 'best.json';

/** What a run writes besides config.json; removed when an attempt that never checkpointed starts over. */
const OUTPUTS = ['metrics.jsonl', 'loss.svg', 'summary.json', 'licence.json', 'adapter', CHECKPOINTS];

export interface RunFolder {
  dir: string;
  lock: RunLock;
  /** the step of checkpoints/last, or null when there is none */
  checkpointStep: number | null;
}

function bestStep(dir: string): number | null {
  try {
    const b = JSON.parse(fs.readFileSync(path.join(dir, BEST_FILE), 'utf8')) as { step?: unknown };
    return typeof b.step === 'number' ? b.step : null;
  } catch {
    return null;
  }
}

/** Puts the newest complete checkpoint (and best weights, and adapter) back in place after a crash. */
function recover(dir: string, note: (m: string) => void): void {
  const ck = path.join(dir, CHECKPOINTS);
  const said = (what: string, r: { restoredFrom: string | null }) => {
    if (r.restoredFrom) note(`${what} was interrupted while being replaced; restored the newest complete copy (${path.basename(r.restoredFrom)})`);
  };
  said('the last checkpoint', recoverDir(path.join(ck, 'last'), checkpointStep));
  said('the best checkpoint', recoverDir(path.join(ck, 'best'), bestStep));
  recoverDir(path.join(dir, 'adapter'), (d) => (fs.existsSync(path.join(d, 'adapter_config.json')) || fs.existsSync(path.join(d, 'config.json')) ? 0 : null));
  const gone = [...removeTempLeftovers(dir), ...removeTempLeftovers(ck)];
  if (gone.length) note(`removed ${gone.length} temporary ${gone.length === 1 ? 'file' : 'files'} left by an interrupted run (${gone.slice(0, 3).join(', ')}${gone.length > 3 ? ', …' : ''})`);
}

/**
 * Locks and repairs `dir`, then checks it fits the request: a fresh start refuses a folder holding a
 * checkpoint; a folder whose earlier attempt stopped before its first checkpoint is cleaned (fresh start
 * or resume), so no step is logged twice. The caller releases `lock`.
 */
export function openRunFolder(dir: string, resume: boolean, note: (m: string) => void): RunFolder {
  const lock = lockRunDir(dir, note);
  try {
    recover(dir, note);
    const last = path.join(dir, CHECKPOINTS, 'last');
    const step = checkpointStep(last);
    if (step === null && fs.existsSync(last)) checkCheckpoint(last); // damaged, not missing: say how, never start over
    if (!resume && step !== null) {
      throw new ShitateError('E_RUN_EXISTS', `run folder ${dir} already holds a training run (checkpoint at step ${step})`,
        `continue it with \`shitate train --resume ${dir}\`, or pick a new --out`);
    }
    if (step === null && (resume || fs.existsSync(path.join(dir, 'metrics.jsonl')))) {
      const leftovers = OUTPUTS.filter((f) => fs.existsSync(path.join(dir, f)));
      for (const f of leftovers) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
      note(`${dir} holds a run that stopped before its first checkpoint: starting it over from step 0` +
        `${resume ? ' with its saved settings' : ''}${leftovers.length ? ` (removed its ${leftovers.join(', ')})` : ''}`);
    }
    return { dir, lock, checkpointStep: step };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** Runs `body` in the run folder (made, or reopened to resume) with its lock held; the lock goes when it ends. */
export async function inRunFolder<T>(dir: string, resume: boolean, note: (m: string) => void,
  body: (runDir: string, fromCheckpoint: boolean) => Promise<T>): Promise<T> {
  const folder = openRunFolder(dir, resume, note);
  try {
    return await body(folder.dir, folder.checkpointStep !== null);
  } finally {
    folder.lock.release();
  }
}
