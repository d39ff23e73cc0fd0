// Classification as a training objective for the shared loop: a micro-batch is padded texts with their labels,
// its loss the (class-weighted) cross-entropy of the head's logits summed and divided by the step's total weight
// (so gradient accumulation equals one large batch); validation reports loss, accuracy and macro-F1, and early
// stopping keeps the weights of the best macro-F1 (ties broken by the lower loss).
import { backward, classCrossEntropy, noGrad, targetWeight, Tensor } from '../tensor/index.js';
import type { TextEncoder } from '../models/encoder-text.js';
import type { EncoderModel } from '../models/encoder-types.js';
import { predictLogits } from '../models/encoder-predict.js';
import type { BatchOptions } from './batching.js';
import { argmaxRows, classificationMetrics, type ClassMetrics } from './classify-metrics.js';
import type { EvalResult, Objective } from './objective.js';

export interface EncodedText {
  /** token ids with the special tokens */
  ids: number[];
  /** label id */
  label: number;
}

/** Validation loss (weighted as in training) and scores of the model on `val`. */
export function scoreClassifier(model: EncoderModel, text: TextEncoder, val: readonly EncodedText[], labels: readonly string[],
  weights: Float32Array | null, batchTokens: number): { loss: number; metrics: ClassMetrics } {
  const K = labels.length;
  const logits = predictLogits(model, text, val.map((e) => e.ids), batchTokens);
  const truth = Int32Array.from(val, (e) => e.label);
  const loss = noGrad(() => classCrossEntropy(Tensor.from(logits, [val.length, K]), truth, weights)).item();
  return { loss, metrics: classificationMetrics(labels, Array.from(truth), argmaxRows(logits, K)) };
}

export function classifyObjective(model: EncoderModel, text: TextEncoder, train: EncodedText[], val: EncodedText[], labels: readonly string[],
  weights: Float32Array | null, b: BatchOptions): Objective {
  return {
    lengths: train.map((e) => e.ids.length),
    hasValidation: val.length > 0,
    build(rows) {
      const items = rows.map((r) => train[r[0]]); // no packing: one text per row
      const input = text.batch(items.map((e) => e.ids));
      const targets = Int32Array.from(items, (e) => e.label);
      return {
        units: targetWeight(targets, weights),
        tokens: input.batch * input.seqLen,
        run(normalizer) {
          const l = classCrossEntropy(model.classify(input), targets, weights, normalizer);
          const value = l.item();
          backward(l);
          return value;
        },
      };
    },
    takeStepMetrics: () => null,
    evaluate(): EvalResult {
      const { loss, metrics } = scoreClassifier(model, text, val, labels, weights, b.batchTokens);
      return { loss, metrics: { accuracy: metrics.accuracy, macro_f1: metrics.macroF1 }, score: { value: 1 - metrics.macroF1, tie: loss } };
    },
  };
}
