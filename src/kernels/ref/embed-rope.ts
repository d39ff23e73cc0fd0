// Reference token embedding (gather / scatter-add) and rotary position embedding (rotate-half, HF Llama).
import type { FA } from './types.js';

/** out[n] = table[ids[n]]; table [V, C], out [N, C] */
export function embedding(out: FA, table: FA, ids: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const t = ids[n] * C;
    for (let c = 0; c < C; c++) out[n * C + c] = table[t + c];
  }
}

/** dtable[ids[n]] += dout[n]; repeated ids sum */
export function embeddingBackward(dtable: FA, dout: FA, ids: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const t = ids[n] * C;
    for (let c = 0; c < C; c++) dtable[t + c] += dout[n * C + c];
  }
}

/** x, out [N, H, D]; cos, sin [P, D/2]; row n sits at position pos[n]. Pairs (i, i + D/2) rotate by theta:
 *  out[i] = x[i] cos - x[i+D/2] sin, out[i+D/2] = x[i+D/2] cos + x[i] sin. out may alias x. */
export function rope(out: FA, x: FA, cos: FA, sin: FA, pos: Int32Array, N: number, H: number, D: number): void {
  const half = D >> 1;
  for (let n = 0; n < N; n++) {
    const t = pos[n] * half;
    for (let h = 0; h < H; h++) {
      const o = (n * H + h) * D;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i];
        const s = sin[t + i];
        const x1 = x[o + i]; // read both before writing: out may alias x
        const x2 = x[o + i + half];
        out[o + i] = x1 * c - x2 * s;
        out[o + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

/** dx (+)= R(-theta) dout, the transpose of the rotation above: added when accumulate, else written */
export function ropeBackward(dx: FA, dout: FA, cos: FA, sin: FA, pos: Int32Array, N: number, H: number,
  D: number, accumulate: boolean): void {
  const half = D >> 1;
  for (let n = 0; n < N; n++) {
    const t = pos[n] * half;
    for (let h = 0; h < H; h++) {
      const o = (n * H + h) * D;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i];
        const s = sin[t + i];
        const g1 = dout[o + i];
        const g2 = dout[o + i + half];
        const a = g1 * c + g2 * s;
        const b = g2 * c - g1 * s;
        dx[o + i] = accumulate ? dx[o + i] + a : a;
        dx[o + i + half] = accumulate ? dx[o + i + half] + b : b;
      }
    }
  }
}
