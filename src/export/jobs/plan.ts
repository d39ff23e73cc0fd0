// From shitate's settings to a GPU engine's numbers. shitate fills each micro-batch up to a token budget; the
// GPU trainers take rows. The plan keeps the examples per optimizer step that shitate's budget gives on this
// data, splits them into per-GPU micro-batches as large as memory allows (fewest accumulation steps), picks
// gradient checkpointing and the sharding only when memory needs them, and derives steps, warmup and
// evaluation intervals the way transformers' Trainer counts them.
import { planEpoch } from '../../train/batching.js';
import type { TrainConfig } from '../../train/config.js';
import type { ModelShape } from '../../train/estimate.js';
import { estimateGpu, type GpuEstimate, type Sharding } from '../../catalog/estimate-gpu.js';
import { gpuTokensPerSecond, type GpuKind } from '../../catalog/calibrate-gpu.js';
import type { JobPlan, Strategy } from './types.js';

export interface PlanInput {
  config: TrainConfig;
  shape: ModelShape;
  qkNorm: boolean;
  /** token counts of the training examples after truncation */
  lengths: number[];
  valExamples: number;
  maxSeqLen: number;
  gpus: number;
  gpu: GpuKind;
  strategy: Strategy | 'auto';
  checkpointing: 'auto' | 'on' | 'off';
  /** the largest micro-batch to consider (default 64 rows) */
  maxPerDevice?: number;
}

const sharding = (s: Strategy): Sharding => (s === 'zero2' ? 'zero2' : s === 'zero3' || s === 'fsdp' ? 'zero3' : 'none');

/** shitate's optimizer steps per epoch and examples per step on this data */
export function shitateSteps(lengths: number[], c: TrainConfig, maxSeqLen: number): { steps: number; examplesPerStep: number } {
  const micro = planEpoch(lengths, {
    batchTokens: Math.max(c.batchTokens, c.packing ? maxSeqLen : 0), packing: c.packing, groupByLength: c.groupByLength, maxSeqLen, padId: 0,
  }, null).length;
  const steps = Math.max(1, Math.ceil(micro / c.gradAccum));
  return { steps, examplesPerStep: lengths.length / steps };
}

/** Update steps per epoch as Trainer counts them: each of n GPUs gets ceil(N / n) rows (the sampler pads),
 *  ceil(rows / batch) micro-batches, and every `accum` of them (at least one) make a step. */
export function trainerStepsPerEpoch(examples: number, gpus: number, perDevice: number, accum: number): number {
  const batches = Math.ceil(Math.ceil(examples / gpus) / perDevice);
  return Math.max(1, Math.floor(batches / accum));
}

interface Layout {
  strategy: Strategy;
  checkpointing: boolean;
  perDevice: number;
  memory: GpuEstimate;
}

function memoryFor(p: PlanInput, seqLen: number, batch: number, ckpt: boolean, strategy: Strategy): GpuEstimate {
  const c = p.config;
  return estimateGpu(p.shape, {
    method: 'lora', loraR: c.loraR, seqLen, batch, gradientCheckpointing: ckpt, loraDropout: c.loraDropout, qkNorm: p.qkNorm,
    gpus: p.gpus, sharding: sharding(strategy),
  });
}

/** The largest micro-batch up to `want` that fits, trying cheaper layouts first. */
function chooseLayout(p: PlanInput, seqLen: number, want: number): Layout & { fits: boolean } {
  const budget = p.gpu.memoryGB * 2 ** 30;
  const strategies: Strategy[] = p.gpus === 1 ? ['none'] : p.strategy === 'auto' ? ['zero2', 'zero3'] : [p.strategy];
  const ckpts = p.checkpointing === 'auto' ? [false, true] : [p.checkpointing === 'on'];
  for (const strategy of strategies) {
    for (const ckpt of ckpts) {
      for (let b = want; b >= 1; b--) {
        const memory = memoryFor(p, seqLen, b, ckpt, strategy);
        if (memory.peakBytes <= budget) return { strategy, checkpointing: ckpt, perDevice: b, memory, fits: true };
      }
    }
  }
  const strategy = strategies[strategies.length - 1];
  const ckpt = ckpts[ckpts.length - 1];
  return { strategy, checkpointing: ckpt, perDevice: 1, memory: memoryFor(p, seqLen, 1, ckpt, strategy), fits: false };
}

/** A micro-batch at most `most` rows (and at least half of it) that divides the step's rows evenly over the GPUs
 *  and accumulation steps, when there is one: 32 rows on 1 GPU with room for 3 per batch -> 2 rows x 16
 *  accumulation steps, not 3 x 11 = 33 rows. */
function evenSplit(rows: number, gpus: number, most: number): number {
  for (let b = most; b >= Math.max(1, Math.ceil(most / 2)); b--) if (rows % (gpus * b) === 0) return b;
  return most;
}

/** a step count of shitate's (eval_every, max_steps, ...) in the GPU run's larger or smaller steps */
const rescale = (steps: number, shitatePerStep: number, gpuPerStep: number): number =>
  Math.max(1, Math.round((steps * shitatePerStep) / gpuPerStep));

export function planJob(p: PlanInput): JobPlan {
  const c = p.config;
  const notes: string[] = [];
  const { steps: shitateStepsPerEpoch, examplesPerStep } = shitateSteps(p.lengths, c, p.maxSeqLen);
  const target = Math.max(1, Math.round(examplesPerStep));
  const memorySeqLen = c.packing ? p.maxSeqLen : Math.max(...p.lengths);
  const want = Math.min(p.maxPerDevice ?? 64, Math.ceil(target / p.gpus));
  const layout = chooseLayout(p, memorySeqLen, want);
  if (!layout.fits) notes.push(`even 1 row of ${memorySeqLen} tokens per GPU needs about ${(layout.memory.peakBytes / 2 ** 30).toFixed(1)} GiB, more than a ${p.gpu.memoryGB} GB ${p.gpu.name}: use more GPUs (--gpus), a larger GPU (--gpu), or a lower max_seq_len`);
  const even = evenSplit(target, p.gpus, layout.perDevice);
  if (even !== layout.perDevice) Object.assign(layout, { perDevice: even, memory: memoryFor(p, memorySeqLen, even, layout.checkpointing, layout.strategy) });
  const accum = Math.max(1, Math.round(target / (p.gpus * layout.perDevice)));
  const globalBatch = p.gpus * layout.perDevice * accum;
  if (globalBatch !== target) notes.push(`shitate's token budget gives about ${examplesPerStep.toFixed(1)} examples per step on this data; the GPU run takes ${globalBatch} (${p.gpus} GPU x ${layout.perDevice} rows x ${accum} accumulation)`);
  const stepsPerEpoch = trainerStepsPerEpoch(p.lengths.length, p.gpus, layout.perDevice, accum);
  const maxSteps = c.maxSteps === null ? null : rescale(c.maxSteps, examplesPerStep, globalBatch);
  const totalSteps = maxSteps ?? Math.max(1, Math.ceil(c.epochs * stepsPerEpoch));
  const evalSteps = p.valExamples === 0 ? null
    : c.evalEvery !== null ? rescale(c.evalEvery, examplesPerStep, globalBatch) : Math.max(1, Math.floor(stepsPerEpoch / 4));
  const saveSteps = evalSteps ?? (c.saveEvery !== null ? rescale(c.saveEvery, examplesPerStep, globalBatch) : stepsPerEpoch);
  const meanLength = p.lengths.reduce((a, b) => a + b, 0) / p.lengths.length;
  const tokensPerSecond = gpuTokensPerSecond(p.shape, {
    method: 'lora', loraR: c.loraR, seqLen: Math.max(1, Math.round(meanLength)), batch: layout.perDevice,
    gradientCheckpointing: layout.checkpointing, gpus: p.gpus,
  }, p.gpu);
  return {
    gpus: p.gpus, gpu: { id: p.gpu.id, name: p.gpu.name, memoryGB: p.gpu.memoryGB }, strategy: layout.strategy,
    gradientCheckpointing: layout.checkpointing, perDeviceBatch: layout.perDevice, gradAccum: accum, globalBatch,
    shitateExamplesPerStep: examplesPerStep, shitateStepsPerEpoch, stepsPerEpoch, maxSteps, totalSteps,
    warmupSteps: Math.floor(totalSteps * c.warmupRatio), evalSteps, saveSteps, memorySeqLen, memory: layout.memory,
    fits: layout.fits, tokensPerSecond, secondsPerEpoch: (meanLength * p.lengths.length) / tokensPerSecond, notes,
  };
}
