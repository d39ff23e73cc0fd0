// Reference activations and their backward passes: SiLU, SwiGLU (Llama MLP), GELU (exact erf and tanh).
// Backward kernels accumulate into their d-buffers.
import type { FA } from './types.js';
import { erf } from './erf.js';

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** silu(x) = x * sigmoid(x) */
export function silu(out: FA, x: FA, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] * sigmoid(x[i]);
}

/** d silu / dx = s + x s (1 - s), s = sigmoid(x) */
function siluGrad(x: number): number {
  const s = sigmoid(x);
  return s * (1 + x * (1 - s));
}

export function siluBackward(dx: FA, dout: FA, x: FA, n: number): void {
  for (let i = 0; i < n; i++) dx[i] += dout[i] * siluGrad(x[i]);
}

/** out = silu(gate) * up */
export function swiglu(out: FA, gate: FA, up: FA, n: number): void {
  for (let i = 0; i < n; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

export function swigluBackward(dgate: FA, dup: FA, dout: FA, gate: FA, up: FA, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    dgate[i] += dout[i] * up[i] * siluGrad(g);
    dup[i] += dout[i] * g * sigmoid(g);
  }
}

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TANH_C = Math.sqrt(2 / Math.PI); // gelu_new / gelu_pytorch_tanh (Hendrycks & Gimpel 2016)
const TANH_A = 0.044715;

export function geluValue(x: number, approximate: number): number {
  if (approximate === 0) return 0.5 * x * (1 + erf(x * SQRT_HALF));
  return 0.5 * x * (1 + Math.tanh(TANH_C * (x + TANH_A * x * x * x)));
}

export function geluGrad(x: number, approximate: number): number {
  if (approximate === 0) {
    // Phi(x) + x * phi(x)
    return 0.5 * (1 + erf(x * SQRT_HALF)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
  }
  const t = Math.tanh(TANH_C * (x + TANH_A * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * TANH_C * (1 + 3 * TANH_A * x * x);
}

/** approximate: 0 = exact erf GELU, 1 = tanh approximation */
export function gelu(out: FA, x: FA, n: number, approximate: number): void {
  for (let i = 0; i < n; i++) out[i] = geluValue(x[i], approximate);
}

export function geluBackward(dx: FA, dout: FA, x: FA, n: number, approximate: number): void {
  for (let i = 0; i < n; i++) dx[i] += dout[i] * geluGrad(x[i], approximate);
}
