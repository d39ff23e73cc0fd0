// GPU memory for fine-tuning with the usual PyTorch stack (transformers + PEFT + bitsandbytes): bf16 or
// 4/8-bit base weights, LoRA adapters or full training, AdamW, gradient checkpointing. Byte counts per
// parameter follow LLaMA-Factory's hardware table (full: 18 mixed / 8 pure bf16; LoRA: 2; QLoRA 4-bit:
// 0.5 plus the QLoRA paper's 0.127-bit double-quantised constants); the tests hold them to its figures.
import { linearParams, loraParams, paramCount, type ModelShape } from '../train/estimate.js';

export type GpuMethod = 'lora' | 'qlora' | 'full';

export interface GpuEstimateInput {
  method: GpuMethod;
  /** LoRA rank on all seven projections */
  loraR: number;
  /** tokens per row */
  seqLen: number;
  /** rows per micro-batch */
  batch: number;
  /** quantised base weights for QLoRA */
  bits?: 4 | 8;
  /** full fine-tuning: fp32 master weights with bf16 autocast, or everything in bf16 */
  fullPrecision?: 'mixed' | 'bf16';
  gradientCheckpointing?: boolean;
}

export interface GpuEstimate {
  params: number;
  trainableParams: number;
  weightBytes: number;
  gradientBytes: number;
  optimizerBytes: number;
  activationBytes: number;
  /** CUDA context, cuBLAS workspace and the caching allocator's slack */
  overheadBytes: number;
  peakBytes: number;
}

const BF16 = 2;
const F32 = 4;
/** QLoRA double quantisation: 8-bit constants per 64 weights plus fp32 per 256 constants = 0.127 bits */
const NF4_BYTES = 0.5 + 0.127 / 8;
const INT8_BYTES = 1;
/** CUDA context + cuBLAS workspace + loaded kernels: typically 0.5-1 GiB on current GPUs and PyTorch builds */
const CONTEXT_BYTES = 0.75 * 2 ** 30;
/** the caching allocator reserves more than it hands out */
const ALLOCATOR_SLACK = 0.1;

function weightBytes(s: ModelShape, e: GpuEstimateInput, params: number): number {
  if (e.method === 'full') return params * (e.fullPrecision === 'bf16' ? BF16 : F32 + BF16); // + bf16 autocast copy
  if (e.method === 'lora') return params * BF16;
  const lin = linearParams(s); // bitsandbytes quantises the block linears; embeddings, head, norms stay bf16
  return lin * (e.bits === 8 ? INT8_BYTES : NF4_BYTES) + (params - lin) * BF16;
}

/** bf16 activations: with checkpointing, each layer's input plus one layer recomputed with its gradients */
function activationBytes(s: ModelShape, e: GpuEstimateInput): number {
  const tokens = e.seqLen * e.batch;
  const lora = e.method === 'full' ? 0 : 7 * e.loraR;
  const perTokenLayer = 6 * s.C + 3 * s.H * s.D + 3 * s.Hkv * s.D + 3 * s.F + lora; // as in train/estimate.ts
  const layers = e.gradientCheckpointing === false ? s.L * perTokenLayer : s.L * s.C + 2 * perTokenLayer;
  const logits = s.V * (BF16 + F32 + F32); // logits, their fp32 upcast for the loss, and its gradient
  const dequant = e.method === 'qlora' ? s.F * s.C * BF16 : 0; // one dequantised weight at a time
  return tokens * (layers * BF16 + logits) + dequant;
}

export function estimateGpu(s: ModelShape, e: GpuEstimateInput): GpuEstimate {
  const params = paramCount(s);
  const full = e.method === 'full';
  const trainableParams = full ? params : loraParams(s, e.loraR);
  const pure = full && e.fullPrecision === 'bf16';
  // LoRA adapters live in fp32 (PEFT upcasts them); pure-bf16 full training keeps grads and moments in bf16
  const gradientBytes = trainableParams * (pure ? BF16 : F32);
  const optimizerBytes = trainableParams * 2 * (pure ? BF16 : F32);
  const weights = weightBytes(s, e, params) + (full ? 0 : trainableParams * F32);
  const activations = activationBytes(s, e);
  const counted = weights + gradientBytes + optimizerBytes + activations;
  const overheadBytes = CONTEXT_BYTES + ALLOCATOR_SLACK * counted;
  return {
    params, trainableParams, weightBytes: weights, gradientBytes, optimizerBytes, activationBytes: activations,
    overheadBytes, peakBytes: counted + overheadBytes,
  };
}

/** GPU memory classes people buy or rent, in GiB */
export const GPU_CLASSES = [8, 12, 16, 24, 40, 48, 80, 141] as const;

/** the smallest common card that holds `bytes`, or null when even 141 GiB (one H200) is too small */
export function smallestGpu(bytes: number): number | null {
  return GPU_CLASSES.find((g) => g * 2 ** 30 >= bytes) ?? null;
}

/** A Llama-like shape for a parameter count when the catalog has no exact shape: L = C / 128, F = 8C / 3,
 *  12 L C^2 linear weights, a 32k vocabulary. Good to within the estimate's own tolerance for dense models. */
export function approxShape(params: number, vocab = 32000): ModelShape {
  let C = 256;
  for (let c = 256; c <= 32768; c += 128) {
    const L = Math.max(1, Math.round(c / 128));
    if (12 * L * c * c + 2 * vocab * c > params) break;
    C = c;
  }
  const L = Math.max(1, Math.round(C / 128));
  const D = 128;
  const H = Math.max(1, Math.round(C / D));
  return { C, F: Math.round((8 * C) / 3 / 128) * 128, L, H, Hkv: H, D, V: vocab, tied: false };
}
