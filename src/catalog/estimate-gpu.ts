// GPU memory for fine-tuning with the usual PyTorch stack (transformers + PEFT + bitsandbytes, bf16 autocast,
// SDPA attention): what autograd keeps per token and layer, the loss buffers, weights, gradients and AdamW,
// with or without gradient checkpointing, on one GPU or sharded over N (DeepSpeed ZeRO-2/3, FSDP).
// Calibrated on measured H200 runs (see GPU_MEASURED in calibrate-gpu.ts; the tests hold it to them).
import { linearParams, loraParams, paramCount, type ModelShape } from '../train/estimate.js';

export type GpuMethod = 'lora' | 'qlora' | 'full';
/** none: every GPU holds everything (one GPU, or DDP); zero2: gradients and optimizer state split over the
 *  GPUs; zero3: weights split too (DeepSpeed ZeRO-3 or FSDP full_shard) */
export type Sharding = 'none' | 'zero2' | 'zero3';

export interface GpuEstimateInput {
  method: GpuMethod;
  /** LoRA rank on all seven projections */
  loraR: number;
  /** tokens per row (the padded length of a micro-batch) */
  seqLen: number;
  /** rows per micro-batch on each GPU */
  batch: number;
  /** quantised base weights for QLoRA */
  bits?: 4 | 8;
  /** full fine-tuning: fp32 master weights with bf16 autocast, or everything in bf16 */
  fullPrecision?: 'mixed' | 'bf16';
  /** default true */
  gradientCheckpointing?: boolean;
  /** LoRA dropout above 0 keeps a byte mask per adapted input (default 0, PEFT's default) */
  loraDropout?: number;
  /** RMSNorm on each query and key head (Qwen3, OLMo 2, Gemma 3) */
  qkNorm?: boolean;
  /** GPUs the run is spread over (default 1) */
  gpus?: number;
  sharding?: Sharding;
}

export interface GpuEstimate {
  params: number;
  trainableParams: number;
  weightBytes: number;
  gradientBytes: number;
  optimizerBytes: number;
  /** what autograd keeps for backward plus the loss buffers, at the worst moment of the step */
  activationBytes: number;
  /** of which the logits, their fp32 log-softmax and its gradients */
  lossBytes: number;
  /** the figure torch.cuda.max_memory_allocated() reports */
  allocatedBytes: number;
  /** CUDA context, cuBLAS workspace and the caching allocator's reserve beyond what it hands out */
  overheadBytes: number;
  /** what the card must hold: allocated + overhead */
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

/**
 * Bytes autograd keeps per token for one decoder layer (HF Llama-style block under bf16 autocast, SDPA).
 * Common to all methods: both RMSNorms keep their fp32 input and rsqrt (8C + 8); SDPA keeps the rotated q and k,
 * v, its output and an fp32 log-sum-exp per head (4HD + 4KD + 4H); the MLP keeps gate, silu(gate) and up (6F).
 * A frozen linear keeps nothing (its weight needs no gradient), but PEFT casts each adapted input to fp32 and
 * autocast casts it back, so every LoRA branch keeps its own bf16 copy of its input plus x A^T (2r);
 * a trained or 4-bit (bitsandbytes) base linear keeps its input.
 */
export function savedBytesPerTokenLayer(s: ModelShape, e: GpuEstimateInput): number {
  const HD = s.H * s.D;
  const KD = s.Hkv * s.D;
  const common = 8 * s.C + 8 + 2 * HD + 4 * KD + 2 * HD + 4 * s.H + 6 * s.F; // norms; q, k, v, out, lse; gate, silu, up
  const loraCopies = 3 * 2 * s.C + 2 * HD + 2 * 2 * s.C + 2 * s.F + 7 * 2 * e.loraR; // q k v | o | gate up | down, x A^T
  const baseInputs = 2 * s.C + 2 * HD + 2 * s.C + 2 * s.F; // attention input, o input, MLP input, down input
  const qkNorm = e.qkNorm ? 4 * HD + 4 * KD + 4 * (s.H + s.Hkv) : 0;
  const masks = e.method !== 'full' && (e.loraDropout ?? 0) > 0 ? 5 * s.C + HD + s.F : 0;
  const method = e.method === 'lora' ? loraCopies : e.method === 'qlora' ? loraCopies + baseInputs : baseInputs;
  return common + method + qkNorm + masks;
}

/** Loss buffers per token at their peak, the start of backward: the fp32 log-softmax the cross-entropy keeps
 *  (transformers upcasts the logits first) and the fp32 gradients coming into and going out of it; the bf16
 *  logits and their fp32 copy are gone by then. */
function lossBytesPerToken(s: ModelShape): number {
  return s.V * 3 * F32;
}

function activationBytes(s: ModelShape, e: GpuEstimateInput): { total: number; loss: number } {
  const tokens = e.seqLen * e.batch;
  const perLayer = savedBytesPerTokenLayer(s, e);
  const finalNorm = 4 * s.C + 4 + (e.method === 'full' ? 2 * s.C : 0);
  const loss = tokens * lossBytesPerToken(s);
  const dequant = e.method === 'qlora' ? s.F * s.C * BF16 : 0; // one dequantised weight at a time
  if (e.gradientCheckpointing === false) return { total: tokens * (s.L * perLayer + finalNorm) + loss + dequant, loss };
  // checkpointing keeps each layer's bf16 input; the peak is either the loss backward or one layer's
  // recomputation with the gradients flowing through it
  const kept = tokens * (s.L * 2 * s.C + finalNorm);
  const layerBackward = tokens * (perLayer + 4 * (s.F + s.C));
  return { total: kept + Math.max(loss, layerBackward) + dequant, loss };
}

function weightBytes(s: ModelShape, e: GpuEstimateInput, params: number): number {
  if (e.method === 'full') return params * (e.fullPrecision === 'bf16' ? BF16 : F32 + BF16); // + bf16 autocast copy
  if (e.method === 'lora') return params * BF16;
  const lin = linearParams(s); // bitsandbytes quantises the block linears; embeddings, head, norms stay bf16
  return lin * (e.bits === 8 ? INT8_BYTES : NF4_BYTES) + (params - lin) * BF16;
}

/** ZeRO-3 / FSDP gathers the full weights of about two layers at a time (the one running and the prefetch) */
function gatheredBytes(s: ModelShape, e: GpuEstimateInput): number {
  const perLayer = linearParams(s) / s.L;
  return Math.max(2 * perLayer, s.V * s.C) * (e.method === 'full' && e.fullPrecision !== 'bf16' ? F32 + BF16 : BF16);
}

export function estimateGpu(s: ModelShape, e: GpuEstimateInput): GpuEstimate {
  const params = paramCount(s);
  const full = e.method === 'full';
  const trainableParams = full ? params : loraParams(s, e.loraR);
  const pure = full && e.fullPrecision === 'bf16';
  const n = Math.max(1, e.gpus ?? 1);
  const sharding = n > 1 ? e.sharding ?? 'none' : 'none';
  const split = (bytes: number, when: boolean) => (when ? bytes / n : bytes);
  // LoRA adapters live in fp32 (PEFT upcasts them) plus autocast's bf16 copy; pure-bf16 full training keeps
  // grads and moments in bf16
  const gradientBytes = split(trainableParams * (pure ? BF16 : F32), sharding !== 'none');
  const optimizerBytes = split(trainableParams * 2 * (pure ? BF16 : F32), sharding !== 'none');
  const base = weightBytes(s, e, params) + (full ? 0 : trainableParams * (F32 + BF16));
  const weights = sharding === 'zero3' ? base / n + gatheredBytes(s, e) : base;
  const act = activationBytes(s, e);
  const allocatedBytes = weights + gradientBytes + optimizerBytes + act.total;
  const overheadBytes = CONTEXT_BYTES + ALLOCATOR_SLACK * allocatedBytes;
  return {
    params, trainableParams, weightBytes: weights, gradientBytes, optimizerBytes, activationBytes: act.total,
    lossBytes: act.loss, allocatedBytes, overheadBytes, peakBytes: allocatedBytes + overheadBytes,
  };
}

/** model_types whose attention normalises each query and key head (q_norm / k_norm) */
const QK_NORM_TYPES = new Set(['qwen3', 'qwen3_moe', 'olmo2', 'olmo3', 'gemma3', 'gemma3_text']);

export function hasQkNorm(modelType: string | null): boolean {
  return modelType !== null && QK_NORM_TYPES.has(modelType);
}

/** GPU memory classes people buy or rent, in GB */
export const GPU_CLASSES = [8, 12, 16, 24, 40, 48, 80, 141] as const;

/** the smallest common card that holds `bytes`, or null when even 141 GB (one H200) is too small */
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
