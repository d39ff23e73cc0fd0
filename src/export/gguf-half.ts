// IEEE half precision one value at a time, for the f16 scales inside quantized blocks: ggml's
// GGML_FP32_TO_FP16 (nearest, ties to even) and GGML_FP16_TO_FP32 (exact).
import { f32ToF16 } from '../kernels/ref/convert.js';

const half = new Uint16Array(1);
const one = new Float32Array(1);

/** float32 -> IEEE half bits (ggml's GGML_FP32_TO_FP16: nearest, ties to even). */
export function fp16Bits(x: number): number {
  one[0] = x;
  f32ToF16(half, one, 1);
  return half[0];
}

/** IEEE half bits -> its exact value. */
export function fp16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

