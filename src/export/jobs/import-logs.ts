// Training logs the GPU engines write, read into shitate's metric events: transformers' trainer_state.json
// (log_history with loss / learning_rate / grad_norm per logged step, eval_loss per evaluation, a closing
// train_runtime entry; stateful_callbacks with the early-stopping counter) and LLaMA-Factory's
// trainer_log.jsonl (current_steps, total_steps, loss, eval_loss, lr, epoch, elapsed_time).
import fs from 'node:fs';
import { ShitateError } from '../../errors.js';

export type MetricEvent =
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm: number | null; tokensSeen: number | null }
  | { type: 'eval'; step: number; valLoss: number; trainLoss: number | null; bestValLoss: number; improved: boolean }
  | { type: 'done'; reason: 'completed' | 'early-stop' | 'interrupted'; step: number; bestValLoss: number | null; bestStep: number | null };

export interface ImportedLog {
  source: string;
  format: 'trainer_state' | 'trainer_log';
  events: MetricEvent[];
  globalStep: number;
  maxSteps: number | null;
  epochs: number | null;
  elapsedSec: number | null;
  tokensSeen: number | null;
  /** rows per step on one device, as the trainer recorded it */
  trainBatchSize: number | null;
  bestStep: number | null;
  bestValLoss: number | null;
  earlyStopped: boolean;
}

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ShitateError('E_JSON', `${file}: expected JSON, found a parse error (${(e as Error).message})`, 'copy the file again from the GPU machine');
  }
}

/** shitate's eval events from (step, eval loss) pairs and the train losses logged so far */
function evalEvents(evals: { step: number; loss: number }[], steps: MetricEvent[]): MetricEvent[] {
  let best = Infinity;
  return evals.map(({ step, loss }) => {
    const improved = loss < best;
    best = Math.min(best, loss);
    const last = [...steps].reverse().find((s) => s.step <= step);
    return { type: 'eval' as const, step, valLoss: loss, trainLoss: last && last.type === 'step' ? last.loss : null, bestValLoss: best, improved };
  });
}

function closing(log: Omit<ImportedLog, 'events'>, events: MetricEvent[]): MetricEvent[] {
  const evals = events.filter((e): e is Extract<MetricEvent, { type: 'eval' }> => e.type === 'eval');
  const best = evals.reduce<Extract<MetricEvent, { type: 'eval' }> | null>((b, e) => (b === null || e.valLoss < b.valLoss ? e : b), null);
  const reason = log.earlyStopped ? 'early-stop' : log.maxSteps !== null && log.globalStep < log.maxSteps ? 'interrupted' : 'completed';
  const all = [...events].sort((a, b) => a.step - b.step || (a.type === 'step' ? -1 : 1));
  all.push({ type: 'done', reason, step: log.globalStep, bestValLoss: log.bestValLoss ?? best?.valLoss ?? null, bestStep: log.bestStep ?? best?.step ?? null });
  return all;
}

/** transformers' TrainerState as saved by Trainer.save_state() or in each checkpoint-N folder */
export function readTrainerState(file: string): ImportedLog {
  const obj = parseJson(file, fs.readFileSync(file, 'utf8')) as Row;
  if (obj === null || typeof obj !== 'object' || !Array.isArray(obj.log_history)) {
    throw new ShitateError('E_IMPORT', `${file}: expected transformers' trainer state with a log_history list, found ${JSON.stringify(obj).slice(0, 80)}`,
      'pass the trainer_state.json that Trainer.save_state() or a checkpoint-N folder holds');
  }
  const maxSteps = num(obj.max_steps);
  const steps: MetricEvent[] = [];
  const evals: { step: number; loss: number }[] = [];
  let elapsed: number | null = null;
  for (const r of obj.log_history as Row[]) {
    const step = num(r.step);
    if (step === null) continue;
    const loss = num(r.loss);
    const evalLoss = num(r.eval_loss);
    if (loss !== null) {
      steps.push({ type: 'step', step, totalSteps: maxSteps ?? step, epoch: num(r.epoch) ?? 0, loss, lr: num(r.learning_rate) ?? 0, gradNorm: num(r.grad_norm), tokensSeen: num(r.num_input_tokens_seen) });
    }
    if (evalLoss !== null) evals.push({ step, loss: evalLoss });
    if (num(r.train_runtime) !== null) elapsed = num(r.train_runtime);
  }
  const callbacks = (obj.stateful_callbacks ?? {}) as Row;
  const es = callbacks.EarlyStoppingCallback as Row | undefined;
  const patience = num((es?.args as Row | undefined)?.early_stopping_patience);
  const counter = num((es?.attributes as Row | undefined)?.early_stopping_patience_counter);
  const bestCkpt = typeof obj.best_model_checkpoint === 'string' ? /checkpoint-(\d+)/.exec(obj.best_model_checkpoint) : null;
  const info: Omit<ImportedLog, 'events'> = {
    source: file, format: 'trainer_state', globalStep: num(obj.global_step) ?? 0, maxSteps, epochs: num(obj.epoch), elapsedSec: elapsed,
    tokensSeen: num(obj.num_input_tokens_seen), trainBatchSize: num(obj.train_batch_size),
    bestStep: num(obj.best_global_step) ?? (bestCkpt ? Number(bestCkpt[1]) : null), bestValLoss: num(obj.best_metric),
    earlyStopped: patience !== null && counter !== null && counter >= patience,
  };
  return { ...info, events: closing(info, [...steps, ...evalEvents(evals, steps)]) };
}

/** LLaMA-Factory's trainer_log.jsonl (one line per logging and evaluation step) */
export function readTrainerLog(file: string): ImportedLog {
  const steps: MetricEvent[] = [];
  const evals: { step: number; loss: number }[] = [];
  let last: Row = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: Row;
    try {
      r = JSON.parse(line) as Row;
    } catch {
      continue; // a line cut short by an interrupted run
    }
    const step = num(r.current_steps);
    if (step === null) continue;
    last = r;
    const loss = num(r.loss);
    if (loss !== null) steps.push({ type: 'step', step, totalSteps: num(r.total_steps) ?? step, epoch: num(r.epoch) ?? 0, loss, lr: num(r.lr) ?? 0, gradNorm: null, tokensSeen: num(r.total_tokens) });
    const ev = num(r.eval_loss);
    if (ev !== null) evals.push({ step, loss: ev });
  }
  const info: Omit<ImportedLog, 'events'> = {
    source: file, format: 'trainer_log', globalStep: num(last.current_steps) ?? 0, maxSteps: num(last.total_steps), epochs: num(last.epoch),
    elapsedSec: null, tokensSeen: num(last.total_tokens), trainBatchSize: null, bestStep: null, bestValLoss: null, earlyStopped: false,
  };
  return { ...info, events: closing(info, [...steps, ...evalEvents(evals, steps)]) };
}
