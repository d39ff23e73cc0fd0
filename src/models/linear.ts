// A model's linear layer: frozen base weight (+ bias) and an optional adapter hook (LoRA plugs in here
// from lora/, which comes after models/ in the data flow, so models only know this interface).
import { Tensor, add, linear } from '../tensor/index.js';

export interface LinearAdapter {
  /** the adapter's contribution for input x [..., in] -> [..., out] */
  forward(x: Tensor): Tensor;
}

export interface Linear {
  /** HF parameter name without ".weight", e.g. "model.layers.0.self_attn.q_proj" */
  readonly name: string;
  weight: Tensor; // [out, in]
  bias: Tensor | null; // [out]
  adapter: LinearAdapter | null;
}

export function applyLinear(m: Linear, x: Tensor): Tensor {
  const y = linear(x, m.weight, m.bias);
  return m.adapter ? add(y, m.adapter.forward(x)) : y;
}
