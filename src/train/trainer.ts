// The training loop: token-budget micro-batches, gradient accumulation normalised by the step's total
// target tokens, clipping, AdamW with warmup + schedule, periodic validation with early stopping (the best
// weights kept), exact resume (weights, moments, step, data position), and a clean stop on interrupt.
import type { CausalLM } from '../models/index.js';
import { withStepPool } from '../tensor/index.js';
import { planEpoch, type BatchOptions } from './batching.js';
import type { Objective } from './objective.js';
import { AdamW, type NamedParam } from './optimizer.js';
import { learningRate } from './schedule.js';
import { newEarlyStop, observeEval } from './early-stop.js';
import { Rng } from '../kernels/rng.js';
import type { TrainConfig } from './config.js';
import type { TrainerState } from './checkpoint.js';
import { faultPoint } from './faults.js';

export type TrainEvent =
  | { type: 'start'; totalSteps: number; stepsPerEpoch: number; resumedAt: number | null }
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number; etaSec: number;
    /** preference training: rewards/chosen, rewards/accuracies, ... of this step */
    metrics?: Record<string, number> }
  | { type: 'eval'; step: number; valLoss: number; trainLoss: number; bestValLoss: number; improved: boolean;
    /** preference training: the validation rewards/accuracies, margins, ... */
    metrics?: Record<string, number> }
  | { type: 'warning'; message: string }
  | { type: 'note'; message: string }
  | { type: 'done'; reason: 'completed' | 'early-stop' | 'interrupted'; step: number; bestValLoss: number | null; bestStep: number | null };

/** Side effects the loop asks for; the session implements them (files), tests can observe them. */
export interface TrainHooks {
  onEvent(e: TrainEvent): void;
  /** write the resumable checkpoint (weights, moments, state) */
  saveLast(state: TrainerState): void;
  /** the weights just scored the best validation loss */
  saveBest(state: TrainerState): void;
  /** set when the user asked to stop (Ctrl-C) */
  stopRequested(): boolean;
  /** switch adapter dropout on/off; the seed makes masks a function of the step */
  setTraining(on: boolean, seed: number): void;
}

export interface LoopInput {
  /** not read by the loop (the objective runs the model); kept for callers that pass it */
  model?: CausalLM;
  params: NamedParam[];
  /** what is optimised and how validation scores it (objective.ts) */
  objective: Objective;
  config: TrainConfig;
  batch: BatchOptions;
  /** restored state when resuming, with moments already loaded into `opt` */
  resume: TrainerState | null;
  opt: AdamW;
}

export { evaluateLoss } from './objective.js';

export function stepsPerEpochOf(lengths: number[], c: TrainConfig, b: BatchOptions): number {
  const micro = planEpoch(lengths, b, null).length;
  return Math.max(1, Math.ceil(micro / c.gradAccum));
}

export function totalStepsOf(stepsPerEpoch: number, c: TrainConfig): number {
  return c.maxSteps ?? Math.max(1, Math.ceil(stepsPerEpoch * c.epochs));
}

export async function trainLoop(input: LoopInput, hooks: TrainHooks): Promise<TrainerState> {
  const { objective: obj, config: c, batch: b, opt } = input;
  const lengths = obj.lengths;
  const stepsPerEpoch = stepsPerEpochOf(lengths, c, b);
  const total = totalStepsOf(stepsPerEpoch, c);
  const warmup = Math.floor(total * c.warmupRatio);
  const evalEvery = c.evalEvery ?? Math.max(1, Math.floor(stepsPerEpoch / 4));
  const saveEvery = c.saveEvery ?? evalEvery;
  const s: TrainerState = input.resume ?? {
    step: 0, epoch: 0, batchInEpoch: 0, earlyStop: newEarlyStop(), tokensSeen: 0, elapsedSec: 0, lastTrainLoss: null,
  };
  hooks.onEvent({ type: 'start', totalSteps: total, stepsPerEpoch, resumedAt: input.resume ? s.step : null });
  const t0 = Date.now();
  const elapsed0 = s.elapsedSec;
  let reason: 'completed' | 'early-stop' | 'interrupted' = 'completed';
  outer: while (s.step < total) {
    const plan = planEpoch(lengths, b, new Rng(c.seed * 1000 + s.epoch));
    while (s.batchInEpoch < plan.length && s.step < total) {
      const micro = plan.slice(s.batchInEpoch, s.batchInEpoch + c.gradAccum).map((rows) => obj.build(rows));
      const normalizer = micro.reduce((n, mb) => n + mb.units, 0);
      opt.zeroGrad();
      let loss = 0;
      micro.forEach((mb, i) => {
        hooks.setTraining(true, (c.seed * 7919 + s.step * 31 + i) >>> 0);
        loss += withStepPool(() => mb.run(Math.max(1, normalizer))); // activations and gradients recycled (tensor/pool.ts)
        s.tokensSeen += mb.tokens;
      });
      hooks.setTraining(false, 0);
      const metrics = obj.takeStepMetrics();
      const gradNorm = opt.clipGradNorm(c.maxGradNorm);
      const lr = learningRate(c.schedule, c.learningRate, s.step, warmup, total);
      opt.update(lr);
      s.step++;
      s.batchInEpoch += micro.length;
      s.lastTrainLoss = loss;
      s.elapsedSec = elapsed0 + (Date.now() - t0) / 1000;
      const rate = s.tokensSeen / Math.max(1e-9, s.elapsedSec);
      hooks.onEvent({ type: 'step', step: s.step, totalSteps: total, epoch: s.epoch + s.batchInEpoch / plan.length, loss, lr, gradNorm,
        tokensPerSec: rate, etaSec: (s.elapsedSec / s.step) * (total - s.step), ...(metrics ? { metrics } : {}) });
      faultPoint('train-step'); // a crash test can stop the process here, after the step is logged
      if (!Number.isFinite(loss)) {
        hooks.onEvent({ type: 'warning', message: `loss became ${loss} at step ${s.step}: lower learning_rate (now ${c.learningRate}) or check the data` });
        reason = 'interrupted';
        break outer;
      }
      const last = s.step === total;
      if (obj.hasValidation && (s.step % evalEvery === 0 || last)) {
        const ev = obj.evaluate();
        const v = observeEval(s.earlyStop, s.step, ev.loss, loss, c.earlyStoppingPatience, c.earlyStoppingMinDelta, ev.score ?? undefined);
        hooks.onEvent({ type: 'eval', step: s.step, valLoss: ev.loss, trainLoss: loss, bestValLoss: s.earlyStop.bestLoss ?? s.earlyStop.best, improved: v.improved,
          ...(ev.metrics ? { metrics: ev.metrics } : {}) });
        if (v.overfitWarning) hooks.onEvent({ type: 'warning', message: v.overfitWarning });
        if (v.improved) hooks.saveBest(s);
        if (v.stop) {
          reason = 'early-stop';
          break outer;
        }
      }
      if (s.step % saveEvery === 0 && !last) hooks.saveLast(s); // the last step is saved once, after the loop
      await new Promise((r) => setImmediate(r)); // let Ctrl-C handlers run between steps
      if (hooks.stopRequested()) {
        reason = 'interrupted';
        break outer;
      }
    }
    if (s.batchInEpoch >= plan.length) {
      s.epoch++;
      s.batchInEpoch = 0;
    }
  }
  s.elapsedSec = elapsed0 + (Date.now() - t0) / 1000;
  hooks.saveLast(s);
  const es = s.earlyStop;
  hooks.onEvent({ type: 'done', reason, step: s.step, bestValLoss: es.bestStep >= 0 ? es.bestLoss ?? es.best : null, bestStep: es.bestStep >= 0 ? es.bestStep : null });
  return s;
}
