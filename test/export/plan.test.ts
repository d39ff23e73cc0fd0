// The plan that turns shitate's token budget into GPU rows: the examples per optimizer step shitate would take
// on the data are kept, micro-batches are as large as memory allows, and checkpointing and sharding come in
// only when memory needs them.
import { describe, expect, it } from 'vitest';
import { planJob, shitateSteps, trainerStepsPerEpoch, type PlanInput } from '../../src/export/jobs/plan.js';
import { gpuKind } from '../../src/catalog/calibrate-gpu.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import type { ModelShape } from '../../src/train/estimate.js';

const LLAMA_8B: ModelShape = { C: 4096, F: 14336, L: 32, H: 32, Hkv: 8, D: 128, V: 128256, tied: false };
const LLAMA_70B: ModelShape = { C: 8192, F: 28672, L: 80, H: 64, Hkv: 8, D: 128, V: 128256, tied: false };
const SMOL: ModelShape = { C: 576, F: 1536, L: 30, H: 9, Hkv: 3, D: 64, V: 49152, tied: true };

const input = (p: Partial<PlanInput>): PlanInput => ({
  config: { ...TRAIN_DEFAULTS }, shape: SMOL, qkNorm: false, lengths: Array.from({ length: 400 }, (_, i) => 100 + (i % 50)),
  valExamples: 40, maxSeqLen: 1024, gpus: 1, gpu: gpuKind('h100')!, strategy: 'auto', checkpointing: 'auto', ...p,
});

describe('job plan', () => {
  it('keeps the examples per step of shitate\'s token budget', () => {
    const p = planJob(input({}));
    const s = shitateSteps(input({}).lengths, TRAIN_DEFAULTS, 1024);
    expect(p.shitateExamplesPerStep).toBeCloseTo(s.examplesPerStep, 9);
    // batch_tokens 4096 over rows of up to 149 tokens: at most 40 rows per micro-batch, fewer where a group of
    // 64 length-sorted rows leaves a short batch behind
    expect(p.shitateExamplesPerStep).toBeGreaterThan(15);
    expect(p.shitateExamplesPerStep).toBeLessThanOrEqual(4096 / 100);
    expect(Math.abs(p.globalBatch - p.shitateExamplesPerStep)).toBeLessThanOrEqual(1);
    expect(p.gradientCheckpointing).toBe(false);
    expect(p.strategy).toBe('none');
    expect(p.fits).toBe(true);
    expect(p.stepsPerEpoch).toBe(trainerStepsPerEpoch(400, 1, p.perDeviceBatch, p.gradAccum));
    expect(p.totalSteps).toBe(3 * p.stepsPerEpoch);
  });

  it('splits the step over GPUs and accumulation when memory is short, and turns checkpointing on only then', () => {
    const lengths = Array.from({ length: 2000 }, () => 2048);
    const c = { ...TRAIN_DEFAULTS, batchTokens: 65536, maxSeqLen: 2048 };
    const one = planJob(input({ config: c, shape: LLAMA_70B, lengths, maxSeqLen: 2048 }));
    expect(one.fits).toBe(false); // 131 GiB of bf16 weights on one 80 GB GPU
    expect(one.gradientCheckpointing).toBe(true);
    expect(one.notes.join(' ')).toMatch(/even 1 row of 2048 tokens per GPU needs about/);
    const h100 = planJob(input({ config: c, shape: LLAMA_8B, lengths, maxSeqLen: 2048 }));
    expect(h100.fits).toBe(true);
    expect(h100.globalBatch).toBe(32); // 65536 tokens of 2048-token rows
    expect(h100.perDeviceBatch * h100.gradAccum).toBe(32);
    expect(h100.memory.peakBytes).toBeLessThanOrEqual(80 * 2 ** 30);
    const four = planJob(input({ config: c, shape: LLAMA_8B, lengths, maxSeqLen: 2048, gpus: 4 }));
    expect(four.perDeviceBatch * four.gradAccum * 4).toBe(32);
    expect(four.strategy).toBe('zero2');
    expect(trainerStepsPerEpoch(2000, 4, four.perDeviceBatch, four.gradAccum)).toBe(four.stepsPerEpoch);
  });

  it('shards the weights (ZeRO-3) when a replica would not fit, and checkpoints before giving up', () => {
    const lengths = Array.from({ length: 100 }, () => 1024);
    const p = planJob(input({ shape: LLAMA_70B, lengths, gpus: 8 }));
    expect(p.strategy).toBe('zero3');
    expect(p.fits).toBe(true);
    const forced = planJob(input({ shape: LLAMA_70B, lengths, gpus: 8, strategy: 'zero2' }));
    expect(forced.fits).toBe(false); // 141 GB of bf16 weights on every GPU
    const noCkpt = planJob(input({ shape: LLAMA_8B, lengths: Array.from({ length: 64 }, () => 4096), maxSeqLen: 4096, checkpointing: 'off', config: { ...TRAIN_DEFAULTS, batchTokens: 65536, maxSeqLen: 4096 } }));
    const auto = planJob(input({ shape: LLAMA_8B, lengths: Array.from({ length: 64 }, () => 4096), maxSeqLen: 4096, config: { ...TRAIN_DEFAULTS, batchTokens: 65536, maxSeqLen: 4096 } }));
    expect(auto.perDeviceBatch).toBeGreaterThanOrEqual(noCkpt.perDeviceBatch);
    if (auto.gradientCheckpointing) expect(auto.perDeviceBatch).toBeGreaterThan(noCkpt.perDeviceBatch);
  });

  it('rescales step counts given in shitate steps, and derives warmup and evaluation from the GPU steps', () => {
    const c = { ...TRAIN_DEFAULTS, maxSteps: 40, evalEvery: 10, warmupRatio: 0.1 };
    const p = planJob(input({ config: c }));
    const ratio = p.shitateExamplesPerStep / p.globalBatch;
    expect(p.maxSteps).toBe(Math.max(1, Math.round(40 * ratio)));
    expect(p.totalSteps).toBe(p.maxSteps);
    expect(p.evalSteps).toBe(Math.max(1, Math.round(10 * ratio)));
    expect(p.warmupSteps).toBe(Math.floor(p.totalSteps * 0.1));
    expect(planJob(input({ valExamples: 0 })).evalSteps).toBeNull();
  });
});
