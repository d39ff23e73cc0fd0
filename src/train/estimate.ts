// Pre-flight estimate of peak memory and time for a training run on this engine (float32 on the CPU, plus
// bf16 weight copies in mixed precision),
// from the model shape, the method and the batch. The activation count follows what the forward pass
// keeps for backward (see models/blocks.ts and tensor/ops/lowrank.ts); it is checked against bench/train.
import { countParams, familyOf, parameterTable, type ModelConfig, type ParamCounts } from '../models/index.js';

export interface ModelShape {
  C: number; F: number; L: number; H: number; Hkv: number; D: number; V: number; tied: boolean;
  /** exact counts from the family's parameter table (a model folder); absent for catalog shapes, which use
   *  the Llama-block formulas below */
  counts?: ParamCounts;
  /** floats a block keeps per token for backward, averaged over layers, where the family's blocks differ from the
   *  Llama one (hybrids); absent: the Llama count below */
  activationsPerToken?: number;
}

export function shapeOf(c: ModelConfig): ModelShape {
  const own = familyOf(c).activationsPerToken?.(c);
  return {
    C: c.hiddenSize, F: c.intermediateSize, L: c.numLayers, H: c.numHeads, Hkv: c.numKvHeads, D: c.headDim, V: c.vocabSize,
    tied: c.tieWordEmbeddings, counts: countParams(parameterTable(c)), ...(own !== undefined ? { activationsPerToken: own } : {}),
  };
}

/** parameters in the linear layers of all blocks */
export function linearParams(s: ModelShape): number {
  if (s.counts) return s.counts.linear;
  const attn = s.C * s.H * s.D * 2 + s.C * s.Hkv * s.D * 2;
  return s.L * (attn + 3 * s.C * s.F);
}

export function paramCount(s: ModelShape): number {
  if (s.counts) return s.counts.total;
  return linearParams(s) + s.V * s.C * (s.tied ? 1 : 2) + s.L * 2 * s.C + s.C;
}

/** LoRA parameters with rank r on every linear layer of the blocks (the seven projections of a Llama block) */
export function loraParams(s: ModelShape, r: number): number {
  if (s.counts) return s.counts.loraPerRank * r;
  const HD = s.H * s.D;
  const KD = s.Hkv * s.D;
  return s.L * r * ((s.C + HD) * 2 + (s.C + KD) * 2 + (s.C + s.F) * 3);
}

export interface TrainEstimate {
  params: number;
  trainableParams: number;
  weightBytes: number;
  /** gradients + AdamW moments of the trainable parameters */
  optimizerBytes: number;
  activationBytes: number;
  /** loss chunk, scratch, the runtime itself */
  overheadBytes: number;
  peakBytes: number;
  /** floating-point operations of one training token (forward + backward) */
  flopsPerToken: number;
}

export interface EstimateInput {
  method: 'lora' | 'full';
  loraR: number;
  /** tokens in one micro-batch (padding included) */
  batchTokens: number;
  /** average attended context per token (defaults to half the batch row length, causal) */
  seqLen?: number;
  /** bf16 mixed precision keeps a bf16 copy of every frozen GEMM weight next to the float32 one */
  precision?: 'fp32' | 'bf16';
}

const F32 = 4;

export function estimateTraining(s: ModelShape, e: EstimateInput): TrainEstimate {
  const params = paramCount(s);
  const trainableParams = e.method === 'full' ? params : loraParams(s, e.loraR);
  const HD = s.H * s.D;
  const KD = s.Hkv * s.D;
  // kept per token per layer: h, o, residual, h2, down, residual (6C); q, rope(q), attn (3HD);
  // k, rope(k), v (3KD); gate, up, swiglu (3F); LoRA inputs x A^T (7r)
  const perTokenLayer = (s.activationsPerToken ?? 6 * s.C + 3 * HD + 3 * KD + 3 * s.F) + (e.method === 'lora' ? 7 * e.loraR : 0);
  // backward holds the gradient of about one layer's activations at a time, plus the residual stream
  const activationBytes = F32 * e.batchTokens * (s.L * perTokenLayer + perTokenLayer + 4 * s.C);
  const optimizerBytes = F32 * trainableParams * 3;
  const overheadBytes = F32 * (Math.floor((4 << 20) / s.V) * s.V + e.batchTokens * s.C * 2) + 160 * 2 ** 20;
  const bf16Copies = e.precision === 'bf16' && e.method === 'lora' ? 2 * (linearParams(s) + s.V * s.C) : 0;
  const weightBytes = F32 * params + bf16Copies;
  const T = e.seqLen ?? 256;
  const lin = linearParams(s) + s.V * s.C;
  const attn = s.L * 4 * HD * (T / 2); // scores + weighted sum, causal half
  const flopsPerToken = e.method === 'full' ? 6 * lin + 3 * attn : 4 * lin + 3 * attn;
  return {
    params, trainableParams, weightBytes, optimizerBytes, activationBytes, overheadBytes,
    peakBytes: weightBytes + optimizerBytes + activationBytes + overheadBytes, flopsPerToken,
  };
}

/** seconds for `tokens` training tokens at an effective `gflops` rate */
export function estimateSeconds(est: TrainEstimate, tokens: number, gflops: number): number {
  return (est.flopsPerToken * tokens) / (gflops * 1e9);
}

export function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
