// What `shitate demo` runs on and how big each step is. The defaults fit the bundled model and sample
// FAQ on two cores in well under 15 minutes; a real model or your own data only changes the inputs.
import path from 'node:path';
import type { Lang } from '../data/messages.js';
import { DEFAULT_QUOTE_STRENGTH } from '../generate/index.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config.js';
import { bundledModelDir, sampleData } from './paths.js';

export interface DemoOptions {
  model: string;
  /** the training sheet or JSONL (anything `shitate data` reads) */
  data: string;
  /** held-out questions with reference answers; null: the validation split of `data` */
  heldout: string | null;
  /** a file with deliberate mistakes, checked only to show the report; null: skip */
  problems: string | null;
  /** questions asked to both models at the end; empty: the first held-out questions */
  questions: string[];
  out: string;
  lang: Lang;
  /** LoRA training: passes over the data, or a fixed number of steps (overrides epochs) */
  epochs: number;
  maxSteps: number | null;
  learningRate: number;
  loraR: number;
  maxSeqLen: number;
  batchTokens: number;
  /** evaluate only the first N held-out questions (null: all) */
  limit: number | null;
  /** how many of `questions` to ask */
  ask: number;
  /** token budget of each scripted answer */
  answerTokens: number;
  /** share of retrieval-augmented examples whose right entry is left out (they learn to say it is not there) */
  refuseShare: number;
  /** the grounded assistant quotes its sources with this bonus (source-anchored decoding; 0: off) */
  quote: number;
  seed: number;
}

export function defaultOutDir(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return path.join('runs', `demo-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`);
}

/** Defaults on the bundled model and sample FAQ; `questions` are read by the caller. */
export function demoDefaults(lang: Lang): DemoOptions {
  const s = sampleData();
  return {
    model: bundledModelDir(), data: s.data, heldout: s.heldout, problems: s.problems, questions: [], out: defaultOutDir(), lang,
    // grounded examples (instructions, two FAQ entries, question, answer) fill most of the model's 512 tokens
    epochs: 9, maxSteps: null, learningRate: 3e-3, loraR: 16, maxSeqLen: 512, batchTokens: 2048, limit: null, ask: 3,
    answerTokens: 128, refuseShare: 0.15, quote: DEFAULT_QUOTE_STRENGTH, seed: 42, // answerTokens: a quarter of the context, the room an assistant keeps for a reply
  };
}

/**
 * Settings for a model other than the bundled one: a real model learns in a few epochs at the usual LoRA
 * learning rate, and two dozen epochs of a 0.5B model would take hours on a CPU.
 */
export function realModelSettings(o: DemoOptions): DemoOptions {
  return { ...o, epochs: 3, learningRate: TRAIN_DEFAULTS.learningRate, loraR: 8, maxSeqLen: 1024, answerTokens: 256 };
}

/**
 * The LoRA run of the demo: every linear layer, validation twice an epoch, and early stopping after a
 * whole epoch without improvement (the best adapter is kept). `trainTokens` (from the data check) sizes
 * the validation interval: on a small model, validating more often costs a noticeable share of the time.
 */
export function demoTrainConfig(o: DemoOptions, train: string, val: string | null, runDir: string, trainTokens: number): TrainConfig {
  const stepsPerEpoch = Math.max(1, Math.ceil(trainTokens / o.batchTokens));
  return {
    ...TRAIN_DEFAULTS, model: o.model, data: train, val, valSplit: val ? 0 : 0.1, out: runDir, mode: 'chat', method: 'lora',
    loraR: o.loraR, loraAlpha: 2 * o.loraR, loraDropout: 0.05, learningRate: o.learningRate, warmupRatio: 0.05,
    epochs: o.epochs, maxSteps: o.maxSteps, batchTokens: o.batchTokens, maxSeqLen: o.maxSeqLen,
    evalEvery: Math.max(1, Math.round(stepsPerEpoch / 2)), earlyStoppingPatience: 2, seed: o.seed,
  };
}
