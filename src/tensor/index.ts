// Public face of the compute core: Tensor, autograd controls and every differentiable op.
export { Tensor } from './tensor.js';
export { CpuStorage, type Storage } from './storage.js';
export { numel, fmtShape, type Shape } from './shape.js';
export { backward, noGrad, isGradEnabled, setGradEnabled, clearTape, tapeLength, releaseGrad } from './tape.js';
export { add, mul, scale, sum, mean, view } from './ops/basic.js';
export { matmul, linear, type MatmulOpts } from './ops/matmul.js';
export { lowRankLinear, type LowRank } from './ops/lowrank.js';
export { embedding, embeddingRows, rmsnorm, layernorm, rope, silu, swiglu, gelu, softmax, dropout } from './ops/nn.js';
export { geglu } from './ops/nn.js';
export { softcap } from './ops/softcap.js';
export { narrow } from './ops/narrow.js';
export { ropePartial } from './ops/rope-partial.js';
export { causalConv1d, l2norm, type Conv1dOpts } from './ops/conv1d.js';
export { gatedDeltaRule, type DeltaRuleOpts } from './ops/delta-rule.js';
export { sigmoid, decayGate } from './ops/gates.js';
export { attention, type AttentionOpts } from './ops/attention.js';
export { encoderAttention, type EncoderAttentionOpts } from './ops/encoder-attention.js';
export { tokenPool } from './ops/token-pool.js';
export { classCrossEntropy, targetWeight } from './ops/class-loss.js';
export { crossEntropy, linearCrossEntropy, IGNORE_INDEX, type LossOpts } from './ops/loss.js';
export { adamwUpdate, adamwUpdateMany, type AdamWHyper, type AdamWSlot } from './ops/optim.js';
export { setCheckFinite } from './ops/util.js';
export { addRmsnorm, rmsnormForGemm, type ResidualNormOpts } from './ops/residual-norm.js';
export { withStepPool, beginStep, endStep, poolStats, resetPool, setPoolPoison, type PoolStats } from './pool.js';
export {
  computePrecision, setComputePrecision, bf16Weight, weightChanged, compactFrozenWeights, Bf16Storage, type ComputePrecision,
} from './lowp.js';
export { weightFormat, setWeightFormat, holdWeightsBf16, holdWeightsInt8, inferenceBf16, inferenceInt8, Int8Storage, quantizeRowsInt8, WEIGHT_FORMATS, type WeightFormat } from './weights.js';
export { lineAlignedFloat32, lineAlignedUint16 } from './aligned.js';
