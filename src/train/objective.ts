// What the training loop optimises, as a strategy: how much each training unit costs in a micro-batch, how a
// planned micro-batch runs forward and backward (its loss divided by the step's total units), which metrics a
// step reports and how validation scores the weights. SFT (next-token loss on the target tokens) is one
// objective; DPO and KTO (preference-objective.ts) are others, so they share the loop, checkpoints and resume.
import { backward, noGrad, withStepPool, type Tensor } from '../tensor/index.js';
import type { CausalLM } from '../models/index.js';
import { buildBatch, planEpoch, type BatchOptions, type Example, type MicroBatch } from './batching.js';

/** One planned micro-batch, materialised. */
export interface MicroStep {
  /** what the step's loss is normalised by: target tokens (SFT), pairs (DPO), examples (KTO) */
  units: number;
  /** tokens the forward pass processes (padding included), for tokens/s */
  tokens: number;
  /** forward + backward with the loss divided by `normalizer` (the step's units); returns that loss */
  run(normalizer: number): number;
}

/** Early stopping on a score other than the validation loss: lower is better, ties broken by `tie`. */
export interface EvalScore {
  value: number;
  tie: number;
}

export interface EvalResult {
  loss: number;
  /** validation metrics (rewards/accuracies, ...), null for SFT */
  metrics: Record<string, number> | null;
  /** null: early stopping follows the validation loss */
  score: EvalScore | null;
}

export interface Objective {
  /** planning cost of each training unit in tokens (see planEpoch) */
  readonly lengths: number[];
  readonly hasValidation: boolean;
  /** rows: the planned rows of one micro-batch (lists of unit indices) */
  build(rows: number[][]): MicroStep;
  /** metrics of the micro-steps run since the last call (averaged as TRL logs them), or null */
  takeStepMetrics(): Record<string, number> | null;
  evaluate(): EvalResult;
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
      sum += withStepPool(() => forwardLoss(model, mb, 1).item());
      count += mb.targetTokens;
    }
  });
  return count ? sum / count : NaN;
}

/** Supervised fine-tuning: cross-entropy on the target tokens, normalised by the step's target tokens. */
export function sftObjective(model: CausalLM, train: Example[], val: Example[], b: BatchOptions): Objective {
  return {
    lengths: train.map((e) => e.ids.length),
    hasValidation: val.length > 0,
    build(rows) {
      const mb = buildBatch(train, rows, b);
      return {
        units: mb.targetTokens,
        tokens: mb.B * mb.T,
        run(normalizer) {
          const l = forwardLoss(model, mb, normalizer);
          const value = l.item();
          backward(l);
          return value;
        },
      };
    },
    takeStepMetrics: () => null,
    evaluate: () => ({ loss: evaluateLoss(model, val, b), metrics: null, score: null }),
  };
}
