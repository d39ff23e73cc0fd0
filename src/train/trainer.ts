// The training loop: token-budget micro-batches, gradient accumulation normalised by the step's total
// target tokens, clipping, AdamW with warmup + schedule, periodic validation with early stopping (the best
// weights kept), exact resume (weights, moments, step, data position), and a clean stop on interrupt.
import { backward, noGrad, type Tensor } from '../tensor/index.js';
import type { CausalLM } from '../models/index.js';
import { buildBatch, planEpoch, type BatchOptions, type Example, type MicroBatch } from './batching.js';
import { AdamW, type NamedParam } from './optimizer.js';
import { learningRate } from './schedule.js';
import { newEarlyStop, observeEval } from './early-stop.js';
import { Rng } from '../kernels/rng.js';
import type { TrainConfig } from './config.js';
import type { TrainerState } from './checkpoint.js';
import { faultPoint } from './faults.js';

export type TrainEvent =
  | { type: 'start'; totalSteps: number; stepsPerEpoch: number; resumedAt: number | null }
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number; etaSec: number }
  | { type: 'eval'; step: number; valLoss: number; trainLoss: number; bestValLoss: number; improved: boolean }
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
  model: CausalLM;
  params: NamedParam[];
  train: Example[];
  val: Example[];
  config: TrainConfig;
  batch: BatchOptions;
  /** restored state when resuming, with moments already loaded into `opt` */
  resume: TrainerState | null;
  opt: AdamW;
}

export function stepsPerEpochOf(train: Example[], c: TrainConfig, b: BatchOptions): number {
  const micro = planEpoch(train.map((e) => e.ids.length), b, null).length;
  return Math.max(1, Math.ceil(micro / c.gradAccum));
}

export function totalStepsOf(stepsPerEpoch: number, c: TrainConfig): number {
  return c.maxSteps ?? Math.max(1, Math.ceil(stepsPerEpoch * c.epochs));
}

function forwardLoss(model: CausalLM, mb: MicroBatch, normalizer: number): Tensor {
  return model.forward({
    ids: mb.ids, batch: mb.B, seqLen: mb.T, targets: mb.targets, positions: mb.positions ?? undefined,
    segments: mb.segments, lossNormalizer: normalizer,
  }).loss!;
}

/** Mean validation loss per target token (no grad, no dropout). */
export function evaluateLoss(model: CausalLM, val: Example[], b: BatchOptions): number {
  let sum = 0;
  let count = 0;
  noGrad(() => {
    for (const rows of planEpoch(val.map((e) => e.ids.length), b, null)) {
      const mb = buildBatch(val, rows, b);
      if (mb.targetTokens === 0) continue;
      sum += forwardLoss(model, mb, 1).item();
      count += mb.targetTokens;
    }
  });
  return count ? sum / count : NaN;
}

export async function trainLoop(input: LoopInput, hooks: TrainHooks): Promise<TrainerState> {
  const { model, train, val, config: c, batch: b, opt } = input;
  const stepsPerEpoch = stepsPerEpochOf(train, c, b);
  const total = totalStepsOf(stepsPerEpoch, c);
  const warmup = Math.floor(total * c.warmupRatio);
  const evalEvery = c.evalEvery ?? Math.max(1, Math.floor(stepsPerEpoch / 4));
  const saveEvery = c.saveEvery ?? evalEvery;
  const s: TrainerState = input.resume ?? {
    step: 0, epoch: 0, batchInEpoch: 0, earlyStop: newEarlyStop(), tokensSeen: 0, elapsedSec: 0, lastTrainLoss: null,
  };
  hooks.onEvent({ type: 'start', totalSteps: total, stepsPerEpoch, resumedAt: input.resume ? s.step : null });
  const lengths = train.map((e) => e.ids.length);
  const t0 = Date.now();
  const elapsed0 = s.elapsedSec;
  let reason: 'completed' | 'early-stop' | 'interrupted' = 'completed';
  outer: while (s.step < total) {
    const plan = planEpoch(lengths, b, new Rng(c.seed * 1000 + s.epoch));
    while (s.batchInEpoch < plan.length && s.step < total) {
      const micro = plan.slice(s.batchInEpoch, s.batchInEpoch + c.gradAccum).map((rows) => buildBatch(train, rows, b));
      const normalizer = micro.reduce((n, mb) => n + mb.targetTokens, 0);
      opt.zeroGrad();
      let loss = 0;
      micro.forEach((mb, i) => {
        hooks.setTraining(true, (c.seed * 7919 + s.step * 31 + i) >>> 0);
        const l = forwardLoss(model, mb, Math.max(1, normalizer));
        loss += l.item();
        backward(l);
        s.tokensSeen += mb.B * mb.T;
      });
      hooks.setTraining(false, 0);
      const gradNorm = opt.clipGradNorm(c.maxGradNorm);
      const lr = learningRate(c.schedule, c.learningRate, s.step, warmup, total);
      opt.update(lr);
      s.step++;
      s.batchInEpoch += micro.length;
      s.lastTrainLoss = loss;
      s.elapsedSec = elapsed0 + (Date.now() - t0) / 1000;
      const rate = s.tokensSeen / Math.max(1e-9, s.elapsedSec);
      hooks.onEvent({ type: 'step', step: s.step, totalSteps: total, epoch: s.epoch + s.batchInEpoch / plan.length, loss, lr, gradNorm,
        tokensPerSec: rate, etaSec: (s.elapsedSec / s.step) * (total - s.step) });
      faultPoint('train-step'); // a crash test can stop the process here, after the step is logged
      if (!Number.isFinite(loss)) {
        hooks.onEvent({ type: 'warning', message: `loss became ${loss} at step ${s.step}: lower learning_rate (now ${c.learningRate}) or check the data` });
        reason = 'interrupted';
        break outer;
      }
      const last = s.step === total;
      if (val.length && (s.step % evalEvery === 0 || last)) {
        const valLoss = evaluateLoss(model, val, b);
        const v = observeEval(s.earlyStop, s.step, valLoss, loss, c.earlyStoppingPatience, c.earlyStoppingMinDelta);
        hooks.onEvent({ type: 'eval', step: s.step, valLoss, trainLoss: loss, bestValLoss: s.earlyStop.best, improved: v.improved });
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
  hooks.onEvent({ type: 'done', reason, step: s.step, bestValLoss: es.bestStep >= 0 ? es.best : null, bestStep: es.bestStep >= 0 ? es.bestStep : null });
  return s;
}
