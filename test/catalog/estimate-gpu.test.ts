// The GPU estimate against measured runs: one H200, transformers 5.17 + PEFT 0.21, bf16 autocast, LoRA r 16 on
// all linear layers, batch 4 x 512, SDPA, no gradient checkpointing (GPU_MEASURED): peak allocated memory
// within 20% (the model lands within 3%) and throughput within 15%; then what checkpointing, dropout, q/k
// norms and sharding over GPUs change.
import { describe, expect, it } from 'vitest';
import { estimateGpu, hasQkNorm, savedBytesPerTokenLayer, type GpuEstimateInput } from '../../src/catalog/estimate-gpu.js';
import { GPU_MEASURED, gpuKind, gpuMicroBatchSeconds, gpuTokensPerSecond } from '../../src/catalog/calibrate-gpu.js';
import type { ModelShape } from '../../src/train/estimate.js';

const GiB = 2 ** 30;

/** shapes from each model's config.json on the Hugging Face Hub */
const SHAPES: Record<string, ModelShape & { qkNorm?: boolean }> = {
  'SmolLM2-135M': { C: 576, F: 1536, L: 30, H: 9, Hkv: 3, D: 64, V: 49152, tied: true },
  'Qwen2.5-0.5B': { C: 896, F: 4864, L: 24, H: 14, Hkv: 2, D: 64, V: 151936, tied: true },
  'Qwen3-1.7B': { C: 2048, F: 6144, L: 28, H: 16, Hkv: 8, D: 128, V: 151936, tied: true, qkNorm: true },
  'Llama-3.1-8B': { C: 4096, F: 14336, L: 32, H: 32, Hkv: 8, D: 128, V: 128256, tied: false },
};

const measuredRun = (s: ModelShape & { qkNorm?: boolean }): GpuEstimateInput =>
  ({ method: 'lora', loraR: 16, seqLen: 512, batch: 4, gradientCheckpointing: false, qkNorm: s.qkNorm ?? false });

describe('GPU estimate vs measured H200 runs', () => {
  for (const m of GPU_MEASURED) {
    it(`${m.model}: peak allocated memory within 20% of ${m.peakGiB} GiB, throughput within 15% of ${m.tokensPerSec} tokens/s`, () => {
      const s = SHAPES[m.model];
      const e = estimateGpu(s, measuredRun(s));
      const gib = e.allocatedBytes / GiB;
      expect(Math.abs(gib / m.peakGiB - 1), `estimated ${gib.toFixed(2)} GiB`).toBeLessThan(0.2);
      const tps = gpuTokensPerSecond(s, measuredRun(s), gpuKind('h200'));
      expect(Math.abs(tps / m.tokensPerSec - 1), `estimated ${tps.toFixed(0)} tokens/s`).toBeLessThan(0.15);
      // the card must hold more than PyTorch hands out: the CUDA context and the allocator's reserve
      expect(e.peakBytes).toBeGreaterThan(e.allocatedBytes + 0.5 * GiB);
    });
  }

  it('counts what autograd keeps per token and layer (SmolLM2-135M, LoRA r 16: 27,148 bytes)', () => {
    const s = SHAPES['SmolLM2-135M'];
    // norms 8C+8; LoRA input copies q k v gate up (2C each), o (2HD), down (2F); x A^T 7 x 2r;
    // rotated q, SDPA out (2HD each), k, v (2KD each), lse 4H; gate, silu, up (2F each)
    const [C, HD, KD, F, r, H] = [576, 576, 192, 1536, 16, 9];
    const byHand = 8 * C + 8 + 5 * 2 * C + 2 * HD + 2 * F + 7 * 2 * r + 2 * HD + 2 * HD + 2 * KD + 2 * KD + 4 * H + 6 * F;
    expect(savedBytesPerTokenLayer(s, measuredRun(s))).toBe(byHand);
    expect(byHand).toBe(27148);
  });
});

describe('what changes the GPU figures', () => {
  const s = SHAPES['Llama-3.1-8B'];
  const base = measuredRun(s);

  it('gradient checkpointing keeps one bf16 hidden state per layer and token: activations fall, time rises', () => {
    const off = estimateGpu(s, base);
    const on = estimateGpu(s, { ...base, gradientCheckpointing: true });
    expect(on.activationBytes).toBeLessThan(off.activationBytes / 2);
    expect(on.weightBytes).toBe(off.weightBytes);
    // at 4 x 512 the loss buffers (3 fp32 values per vocabulary entry and token) are the peak of a checkpointed step
    expect(on.activationBytes).toBeCloseTo(2048 * (32 * 2 * 4096 + 4 * 4096 + 4) + 2048 * s.V * 12, -3);
    expect(gpuMicroBatchSeconds(s, { ...base, gradientCheckpointing: true })).toBeGreaterThan(gpuMicroBatchSeconds(s, base));
  });

  it('LoRA dropout keeps a byte mask per adapted input; q/k norms keep fp32 copies of q and k', () => {
    expect(savedBytesPerTokenLayer(s, { ...base, loraDropout: 0.05 }) - savedBytesPerTokenLayer(s, base)).toBe(5 * 4096 + 4096 + 14336);
    expect(savedBytesPerTokenLayer(s, { ...base, qkNorm: true }) - savedBytesPerTokenLayer(s, base)).toBe(4 * 4096 + 4 * 1024 + 4 * 40);
    expect(hasQkNorm('qwen3')).toBe(true);
    expect(hasQkNorm('llama')).toBe(false);
  });

  it('ZeRO-2 splits gradients and AdamW state, ZeRO-3 the weights too (plus about two gathered layers)', () => {
    const full: GpuEstimateInput = { ...base, method: 'full', fullPrecision: 'mixed', gradientCheckpointing: true };
    const one = estimateGpu(s, full);
    const z2 = estimateGpu(s, { ...full, gpus: 8, sharding: 'zero2' });
    const z3 = estimateGpu(s, { ...full, gpus: 8, sharding: 'zero3' });
    expect(z2.optimizerBytes).toBeCloseTo(one.optimizerBytes / 8, -3);
    expect(z2.weightBytes).toBe(one.weightBytes);
    expect(z3.weightBytes).toBeLessThan(one.weightBytes / 4);
    expect(z3.peakBytes).toBeLessThan(z2.peakBytes);
    // one GPU ignores the sharding it is given
    expect(estimateGpu(s, { ...full, gpus: 1, sharding: 'zero3' }).peakBytes).toBe(one.peakBytes);
  });

  it('slower GPUs take longer on compute-bound steps and the same on launch-bound ones', () => {
    const long = { ...base, seqLen: 4096, batch: 8 };
    expect(gpuMicroBatchSeconds(s, long, gpuKind('a100-80'))).toBeGreaterThan(2 * gpuMicroBatchSeconds(s, long, gpuKind('h100')));
    const small = SHAPES['SmolLM2-135M'];
    const tiny = measuredRun(small);
    expect(gpuMicroBatchSeconds(small, tiny, gpuKind('a100-80'))).toBeCloseTo(gpuMicroBatchSeconds(small, tiny, gpuKind('h200')), 6);
  });
});
