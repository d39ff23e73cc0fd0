// The TypeScript reference kernels: plain loops, obviously correct, the twin of every native kernel and the
// fallback when the addon is missing. They also accept Float64Array, so gradient checks run in double.
import type { Kernels } from '../types.js';
import { gemm, gemmBf16, gemmI8, gemmRows, gemmRowsBf16, gemmRowsBf16Many, gemmRowsI8, gemmRowsI8Many, gemmRowsMany, loraRows, quantizeRowsI8 } from './gemm.js';
import { add, axpy, mul, scale, scaleMany, sumRows, sumSquares, sumSquaresMany } from './elementwise.js';
import { gelu, geluBackward, silu, siluBackward, swiglu, swigluBackward } from './activations.js';
import { softmax, softmaxBackward } from './softmax.js';
import { layernorm, layernormBackward, rmsnorm, rmsnormBackward } from './norm.js';
import { embedding, embeddingBackward, rope, ropeBackward } from './embed-rope.js';
import { addRmsnormRows, ropeRows, swigluRows } from './decode-rows.js';
import { attention, attentionBackward, attentionDecodeRows, attentionDecodeRowsBf16, attentionKvBf16 } from './attention.js';
import { encoderAttention, encoderAttentionBackward } from './encoder-attention.js';
import { crossEntropy } from './loss.js';
import { geglu, gegluBackward } from './geglu.js';
import { softcap, softcapBackward, softcapCrossEntropy } from './softcap.js';
import { dropout, dropoutBackward } from './dropout.js';
import { ropePartial, ropePartialBackward } from './rope-partial.js';
import { causalConv1d, causalConv1dBackward, l2norm, l2normBackward } from './conv1d.js';
import { deltaRuleChunk, deltaRuleRecurrent } from './delta-rule.js';
import { deltaRuleChunkBackward } from './delta-rule-backward.js';
import { adamw, adamwMany } from './optim.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './convert.js';
import { argmaxF32, topKIds } from './select.js';
import {
  addRmsnorm, attentionBf16, attentionBf16Backward, attentionBf16Bits, attentionBf16BitsBackward, bf16Accumulate, bf16LinearGrad, bf16LinearOut, crossEntropyBf16,
  gemmBf16Ld, rmsnormBf16, ropeBf16, swigluBf16, swigluBf16Backward,
} from './lowp.js';

export type { FA } from './types.js';
export { erf } from './erf.js';

/** The reference kernels with their wider buffer type (Float32Array | Float64Array). */
export const referenceKernelsFA = {
  name: 'reference' as const,
  gemm,
  gemmBf16,
  gemmI8,
  quantizeRowsI8,
  gemmRows,
  gemmRowsI8,
  gemmRowsBf16,
  gemmRowsMany,
  gemmRowsBf16Many,
  gemmRowsI8Many,
  loraRows,
  add, mul, scale, scaleMany, axpy, sumRows, sumSquares, sumSquaresMany,
  silu, siluBackward, swiglu, swigluBackward, gelu, geluBackward, softmax, softmaxBackward,
  geglu, gegluBackward, softcap, softcapBackward,
  rmsnorm, rmsnormBackward, layernorm, layernormBackward,
  embedding, embeddingBackward, rope, ropeBackward, ropePartial, ropePartialBackward,
  attention, attentionBackward, attentionKvBf16, attentionDecodeRows, attentionDecodeRowsBf16, swigluRows, addRmsnormRows, ropeRows,
  encoderAttention, encoderAttentionBackward,
  crossEntropy, softcapCrossEntropy,
  causalConv1d, causalConv1dBackward, l2norm, l2normBackward, deltaRuleChunk, deltaRuleChunkBackward, deltaRuleRecurrent,
  dropout, dropoutBackward,
  adamw, adamwMany,
  bf16ToF32, f16ToF32, f32ToBf16, f32ToF16,
  lineOffset: () => 0,
  topKIds, argmaxF32,
  gemmBf16Ld, bf16LinearOut, bf16LinearGrad, bf16Accumulate, swigluBf16, swigluBf16Backward, rmsnormBf16, addRmsnorm,
  attentionBf16, attentionBf16Backward, attentionBf16Bits, attentionBf16BitsBackward, crossEntropyBf16, ropeBf16,
} satisfies Kernels;

export const referenceKernels: Kernels = referenceKernelsFA;
