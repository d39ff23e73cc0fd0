// IEEE half precision one value at a time, for the f16 scales inside quantized blocks: ggml's
// GGML_FP32_TO_FP16 (nearest, ties to even) and GGML_FP16_TO_FP32 (exact).
import { f16ToF32, f32ToF16 } from '../kernels/ref/convert.js';

const half = new Uint16Array(1);
const one = new Float32Array(1);

/** float32 -> IEEE half bits (ggml's GGML_FP32_TO_FP16: nearest, ties to even). */
export function fp16Bits(x: number): number {
  one[0] = x;
  f32ToF16(half, one, 1);
  return half[0];
}

const bits = new Uint16Array(1);
const value = new Float32Array(1);

/** IEEE half bits -> its exact value (every half is a float32). */
export function fp16Value(h: number): number {
  bits[0] = h;
  f16ToF32(value, bits, 1);
  return value[0];
}
