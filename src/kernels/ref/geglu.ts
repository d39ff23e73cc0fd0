// Reference GeGLU, the gated MLP activation of Gemma: out = gelu(gate) * up with the exact (erf) or the tanh
// GELU (gelu_pytorch_tanh). Backward accumulates into dgate and dup. Shapes: every buffer [n].
import type { FA } from './types.js';
import { geluGrad, geluValue } from './activations.js';

/** approximate: 0 = exact erf GELU, 1 = tanh approximation */
export function geglu(out: FA, gate: FA, up: FA, n: number, approximate: number): void {
  for (let i = 0; i < n; i++) out[i] = geluValue(gate[i], approximate) * up[i];
}

/** dgate += dout * up * gelu'(gate); dup += dout * gelu(gate) */
export function gegluBackward(dgate: FA, dup: FA, dout: FA, gate: FA, up: FA, n: number, approximate: number): void {
  for (let i = 0; i < n; i++) {
    dgate[i] += dout[i] * up[i] * geluGrad(gate[i], approximate);
    dup[i] += dout[i] * geluValue(gate[i], approximate);
  }
}
