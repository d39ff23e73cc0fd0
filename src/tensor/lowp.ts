// Compute precision for GEMMs against frozen weights. 'fp32' (default) is float32 throughout and matches the
// PyTorch float32 reference to ~1e-6. 'bf16' is mixed precision as bf16 autocast does it: the frozen base
// weights (linear layers, LM head) are multiplied as bfloat16 copies, activations rounded to bfloat16 on the
// way into those GEMMs, sums in float32; LoRA factors, their gradients, norms, attention, the loss and the
// optimizer stay float32. About 2x faster GEMMs where oneDNN runs them natively (AVX512-BF16 / AMX).
import type { Tensor } from './tensor.js';
import { kernels } from '../kernels/index.js';

export type ComputePrecision = 'fp32' | 'bf16';

let precision: ComputePrecision = 'fp32';
// bf16 copies of frozen weights, keyed by their storage (dropped with it)
let shadows = new WeakMap<Float32Array, Uint16Array>();

export function computePrecision(): ComputePrecision {
  return precision;
}

/** Sets the precision for every later forward/backward; returns the previous one. Switching to fp32 drops the
 *  bf16 copies. */
export function setComputePrecision(p: ComputePrecision): ComputePrecision {
  const prev = precision;
  precision = p;
  if (p === 'fp32') shadows = new WeakMap();
  return prev;
}

/** The bf16 copy of a frozen weight when computing in bf16 (made on first use), else null: trainable
 *  weights always multiply in float32. */
export function bf16Weight(w: Tensor): Uint16Array | null {
  if (precision !== 'bf16' || w.requiresGrad) return null;
  let s = shadows.get(w.data);
  if (!s) {
    s = new Uint16Array(w.size);
    kernels().f32ToBf16(s, w.data, w.size);
    shadows.set(w.data, s);
  }
  return s;
}

/** Forget the bf16 copy of a weight whose float32 values were changed in place (e.g. a fused adapter). */
export function weightChanged(w: Tensor): void {
  shadows.delete(w.data);
}
