// GPU time for `shitate estimate` and job bundles, calibrated on measured runs: a LoRA step on a GPU is bound
// either by the host launching kernels (small models: about the same time per layer whatever the width) or by
// the GPU's arithmetic (large models, long batches). Both rates come from the H200 runs below.
import { estimateTraining, linearParams, type ModelShape } from '../train/estimate.js';
import type { GpuEstimateInput } from './estimate-gpu.js';

/** One H200, transformers 5.17 + PEFT 0.21, bf16 autocast, LoRA r 16 on all linear layers, batch 4 x 512, no
 *  gradient checkpointing, SDPA attention: throughput and torch.cuda.max_memory_allocated(). */
export const GPU_MEASURED = [
  { model: 'SmolLM2-135M', tokensPerSec: 8700, peakGiB: 3.1 },
  { model: 'Qwen2.5-0.5B', tokensPerSec: 10400, peakGiB: 7.5 },
  { model: 'Qwen3-1.7B', tokensPerSec: 9600, peakGiB: 13.1 },
  { model: 'Llama-3.1-8B', tokensPerSec: 9100, peakGiB: 31.8 },
] as const;

/** Host time per decoder layer and micro-batch (forward + backward + its share of the optimizer step): the
 *  measured step times over the layer counts give 7.0-8.2 ms (135M: 30 layers in 235 ms; 8B: 32 in 225 ms). */
export const LAUNCH_SECONDS_PER_LAYER = 0.0077;
/** Sustained bf16 training rate of an H200 on LoRA steps: the 8B run's 65.5 TFLOP per 4 x 512 step in 225 ms.
 *  A lower bound (that run may itself be partly launch-bound); other GPUs scale by their dense bf16 peak. */
export const H200_TRAIN_TFLOPS = 291;

export interface GpuKind {
  id: string;
  name: string;
  /** memory per GPU, GB as sold */
  memoryGB: number;
  /** dense bf16 tensor-core peak, TFLOP/s */
  bf16Tflops: number;
}

export const GPU_KINDS: GpuKind[] = [
  { id: 'h200', name: 'NVIDIA H200', memoryGB: 141, bf16Tflops: 989 },
  { id: 'h100', name: 'NVIDIA H100 80GB', memoryGB: 80, bf16Tflops: 989 },
  { id: 'a100-80', name: 'NVIDIA A100 80GB', memoryGB: 80, bf16Tflops: 312 },
  { id: 'a100-40', name: 'NVIDIA A100 40GB', memoryGB: 40, bf16Tflops: 312 },
  { id: 'l40s', name: 'NVIDIA L40S', memoryGB: 48, bf16Tflops: 362 },
  { id: 'a10g', name: 'NVIDIA A10G', memoryGB: 24, bf16Tflops: 125 },
  { id: 'rtx4090', name: 'GeForce RTX 4090', memoryGB: 24, bf16Tflops: 165 },
];

export function gpuKind(id: string): GpuKind | undefined {
  return GPU_KINDS.find((g) => g.id === id.toLowerCase());
}

/** Seconds of one micro-batch (forward + backward) on one GPU of `kind`. Checkpointing replays the forward:
 *  a third more launches, and 2 x the linear FLOPs again. QLoRA dequantises every weight on each use. */
export function gpuMicroBatchSeconds(s: ModelShape, e: GpuEstimateInput, kind: GpuKind = GPU_KINDS[0]): number {
  const ckpt = e.gradientCheckpointing !== false;
  const tokens = e.seqLen * e.batch;
  const est = estimateTraining(s, { method: e.method === 'full' ? 'full' : 'lora', loraR: e.loraR, batchTokens: tokens, seqLen: e.seqLen });
  const replay = ckpt ? 2 * (linearParams(s) + s.V * s.C) : 0; // the forward again, 2 FLOPs per weight
  const flops = tokens * (est.flopsPerToken + replay);
  const rate = H200_TRAIN_TFLOPS * 1e12 * (kind.bf16Tflops / 989) * (e.method === 'qlora' ? 0.6 : 1);
  const launch = s.L * LAUNCH_SECONDS_PER_LAYER * (ckpt ? 4 / 3 : 1) * (e.method === 'qlora' ? 1.5 : 1);
  return Math.max(launch, flops / rate);
}

/** Training tokens per second of a run spread over `gpus` data-parallel GPUs (padding counted as tokens). */
export function gpuTokensPerSecond(s: ModelShape, e: GpuEstimateInput, kind: GpuKind = GPU_KINDS[0]): number {
  return (e.seqLen * e.batch * Math.max(1, e.gpus ?? 1)) / gpuMicroBatchSeconds(s, e, kind);
}
