// Test helpers for the tensor layer: seeded random tensors and float32 finite differences.
import { Tensor } from '../../src/tensor/index.js';
import { Rng } from '../../src/kernels/rng.js';

export function randT(shape: number[], seed: number, requiresGrad = false, s = 1): Tensor {
  const r = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = s * (r.next() * 2 - 1);
  return Tensor.from(d, shape, requiresGrad);
}

/** Central-difference gradient of scalar f w.r.t. every element of x (float32, so h is large). */
export function numGrad(f: () => number, x: Tensor, h = 1e-2): Float32Array {
  const g = new Float32Array(x.size);
  for (let i = 0; i < x.size; i++) {
    const v = x.data[i];
    x.data[i] = v + h;
    const fp = f();
    x.data[i] = v - h;
    const fm = f();
    x.data[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** max |a-b| / max(1, |b|max): a scale-aware error for gradient comparisons */
export function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 1;
  for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m / s;
}
