// Reference dtype conversions for safetensors: bf16 and IEEE half <-> float32, rounding to nearest even
// (subnormals, overflow to infinity, signed zeros; NaN stays a quiet NaN with its sign).
import type { FA } from './types.js';

// one float32 seen as its bits; typed-array views share the platform byte order, so this is portable
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bitsOf(x: number): number {
  f32[0] = x; // rounds a double to float32 first, as the f32 contract implies
  return u32[0];
}

/** bf16 is the top half of a float32 */
export function bf16ToF32(out: FA, src: Uint16Array, n: number): void {
  for (let i = 0; i < n; i++) {
    u32[0] = src[i] << 16;
    out[i] = f32[0];
  }
}

/** IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; exact in float32 */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24; // zero and subnormals
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export function f16ToF32(out: FA, src: Uint16Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = halfValue(src[i]);
}

/** Drop the low `shift` bits of v, rounding to nearest with ties to even. */
function roundShift(v: number, shift: number): number {
  const kept = Math.floor(v / 2 ** shift);
  const rest = v - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

function toBf16(x: number): number {
  const u = bitsOf(x);
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x0040; // NaN: keep sign, force the quiet bit
  // a carry out of the mantissa bumps the exponent, up to infinity: exactly what rounding requires
  return (u >>> 31 ? 0x8000 : 0) | roundShift(u & 0x7fffffff, 16);
}

export function f32ToBf16(out: Uint16Array, src: FA, n: number): void {
  for (let i = 0; i < n; i++) out[i] = toBf16(src[i]);
}

function toF16(x: number): number {
  const u = bitsOf(x);
  const sign = (u >>> 16) & 0x8000;
  const e = (u >>> 23) & 0xff;
  const m = u & 0x7fffff;
  if (e === 255) return m === 0 ? sign | 0x7c00 : sign | 0x7e00 | (m >>> 13); // inf, quiet NaN
  const eh = e - 127 + 15; // half's biased exponent
  if (eh >= 31) return sign | 0x7c00; // at least 2^16: overflow
  if (eh >= 1) return sign | ((eh << 10) + roundShift(m, 13)); // normal; a carry may reach inf correctly
  if (e === 0) return sign; // float32 subnormals are far below half's smallest subnormal (2^-24)
  // subnormal half: 1.m * 2^(e-127) = (m | 2^23) * 2^(e-150) holds (m | 2^23) / 2^(126-e) units of 2^-24
  const shift = 126 - e; // >= 14 here
  if (shift > 24) return sign; // below half of the smallest subnormal
  return sign | roundShift(m | 0x800000, shift); // 0x400 on a carry is the smallest normal: still correct
}

export function f32ToF16(out: Uint16Array, src: FA, n: number): void {
  for (let i = 0; i < n; i++) out[i] = toF16(src[i]);
}
