// Reference partial rotary embedding (Phi-3 partial_rotary_factor, e.g. Phi-4-mini's 0.75): rotate-half over the
// first R of each head's D dims, the remaining D - R dims pass through unchanged. Backward accumulates.
// x, out, dout, dx [N, H, D]; cos, sin [P, R/2] indexed by pos[n].
import type { FA } from './types.js';

/** For i < R/2: out[i] = x[i] cos - x[i+R/2] sin, out[i+R/2] = x[i+R/2] cos + x[i] sin; out[d] = x[d] for d >= R.
 *  out may alias x. */
export function ropePartial(out: FA, x: FA, cos: FA, sin: FA, pos: Int32Array, N: number, H: number, D: number,
  R: number): void {
  const half = R >> 1;
  for (let n = 0; n < N; n++) {
    const t = pos[n] * half;
    for (let h = 0; h < H; h++) {
      const o = (n * H + h) * D;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i];
        const s = sin[t + i];
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        out[o + i] = x1 * c - x2 * s;
        out[o + i + half] = x2 * c + x1 * s;
      }
      for (let d = R; d < D; d++) out[o + d] = x[o + d];
    }
  }
}

/** dx += the transpose of the rotation on the first R dims, dx += dout on the rest. */
export function ropePartialBackward(dx: FA, dout: FA, cos: FA, sin: FA, pos: Int32Array, N: number, H: number,
  D: number, R: number): void {
  const half = R >> 1;
  for (let n = 0; n < N; n++) {
    const t = pos[n] * half;
    for (let h = 0; h < H; h++) {
      const o = (n * H + h) * D;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i];
        const s = sin[t + i];
        const g1 = dout[o + i];
        const g2 = dout[o + i + half];
        dx[o + i] += g1 * c + g2 * s;
        dx[o + i + half] += g2 * c - g1 * s;
      }
      for (let d = R; d < D; d++) dx[o + d] += dout[o + d];
    }
  }
}
