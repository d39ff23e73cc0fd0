// Back-of-envelope work per step for the Llama family, to turn a measured time into an effective GFLOP/s
// (training, GEMM-bound) or GB/s of weights streamed (decode, bandwidth-bound): how close each side is to
// the machine's limits, not only to each other.
import { countParams, parameterTable, type ModelConfig } from '../../src/models/index.js';

/** Weights of the blocks' linear layers (q, k, v, o, gate, up, down in a Llama block), from the family's parameter
 *  table, so fused projections and hybrid layers count exactly. */
export function blockLinearParams(c: ModelConfig): number {
  return countParams(parameterTable(c)).linear;
}

/** FLOPs of one LoRA training step on B x T tokens with a frozen base: forward, then backward to the
 *  activations only (no base weight gradients), LM head included, causal attention counted as half of T^2,
 *  LoRA factors (rank R) ignored as negligible. */
export function loraTrainFlops(c: ModelConfig, B: number, T: number): number {
  const tokens = B * T;
  const gemm = 2 * (blockLinearParams(c) + c.hiddenSize * c.vocabSize) * tokens; // one pass of x @ W^T
  const attn = 2 * 2 * B * c.numHeads * c.headDim * ((T * (T + 1)) / 2) * c.numLayers; // scores + weighted sum
  return 2 * gemm + 3 * attn; // backward: one GEMM per weight (dX); attention backward ~2x its forward
}

/** Bytes of float32 weights one decode step streams from memory (blocks + LM head). */
export function decodeWeightBytes(c: ModelConfig): number {
  return 4 * (blockLinearParams(c) + c.hiddenSize * c.vocabSize);
}
