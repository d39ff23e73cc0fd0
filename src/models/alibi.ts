// ALiBi, the position scheme of BLOOM and of Falcon models with alibi: true. Instead of rotating q and k, every
// score gets slope[h] * (key position - query position), a per-head linear penalty on distance (the key-only bias
// transformers adds differs from it by a constant per query, which softmax ignores). Slopes as transformers'
// build_alibi_tensor computes them in float32, head counts that are not a power of two included.
import { kernels } from '../kernels/index.js';

/** [H] float32 slopes: base^1 .. base^n for the largest power of two n <= H (base = 2^(-8/n)), then the odd
 *  powers base2^1, base2^3, ... of the base for 2n heads, for the remaining H - n heads. */
export function alibiSlopes(H: number): Float32Array {
  const f = Math.fround;
  const n = 2 ** Math.floor(Math.log2(H));
  const base = f(2 ** -(2 ** -(Math.log2(n) - 3)));
  const out = new Float32Array(H);
  for (let i = 0; i < n; i++) out[i] = f(Math.pow(base, i + 1));
  const base2 = f(2 ** -(2 ** -(Math.log2(2 * n) - 3)));
  for (let i = 0; i < Math.min(n, H - n); i++) out[n + i] = f(Math.pow(base2, 2 * i + 1));
  return out;
}

/** Values rounded to bfloat16 (nearest even), widened back to float32. */
export function roundBf16(x: Float32Array): Float32Array {
  const bits = new Uint16Array(x.length);
  const k = kernels();
  k.f32ToBf16(bits, x, x.length);
  const out = new Float32Array(x.length);
  k.bf16ToF32(out, bits, x.length);
  return out;
}

/** Slopes in the attention kernel's terms (it adds slope * (j - pos) to the already scaled score).
 *  BLOOM adds the bias to scale * q.k, so its slopes go in unchanged. Falcon rounds its slopes to bfloat16 first
 *  (build_alibi_tensor's `slopes.bfloat16()`) and applies the bias twice: FalconAttention computes
 *  (q.k + bias) * scale, and the causal mask that FalconModel builds for it carries bias / sqrt(head_dim) on every
 *  visible entry, so the scores transformers softmaxes hold 2 * scale * bias. */
export function kernelSlopes(H: number, family: 'bloom' | 'falcon', scale: number): Float32Array {
  const s = alibiSlopes(H);
  return family === 'bloom' ? s : roundBf16(s).map((x) => 2 * x * scale);
}
