// A model's linear layer: frozen base weight (+ bias) and an optional adapter hook (LoRA plugs in here
// from lora/, which comes after models/ in the data flow, so models only know this interface).
import { type Tensor, linear } from '../tensor/index.js';

/** A low-rank update's factors: delta = scale * (x A^T) B^T, A [R, in], B [out, R]. */
export interface LowRankFactors {
  A: Tensor;
  B: Tensor;
  scale: number;
}

export interface LinearAdapter {
  /** the adapted layer's full output for input x [..., in] -> [..., out] (base included) */
  apply(x: Tensor, base: Linear): Tensor;
  /** its factors when it is a plain low-rank update at inference (batched decode applies them per adapter group);
   *  null or absent: only apply() knows the output */
  lowRank?(): LowRankFactors | null;
}

export interface Linear {
  /** HF parameter name without ".weight", e.g. "model.layers.0.self_attn.q_proj" */
  readonly name: string;
  weight: Tensor; // [out, in]
  bias: Tensor | null; // [out]
  adapter: LinearAdapter | null;
}

export function applyLinear(m: Linear, x: Tensor): Tensor {
  return m.adapter ? m.adapter.apply(x, m) : linear(x, m.weight, m.bias);
}
