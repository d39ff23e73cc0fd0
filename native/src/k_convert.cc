// dtype conversions for safetensors: bf16/f16 <-> f32, round to nearest even, subnormals, inf and NaN kept.
#include <cstring>

#include "kernels.h"

namespace sh {
namespace {

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bits_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE half -> float: every half value (subnormals included) is exact in float.
inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t m = h & 0x3ffu;
  if (e == 0) {  // zero or subnormal: m * 2^-24, exact
    const float mag = static_cast<float>(m) * 5.9604644775390625e-8f;
    return bits_f32(f32_bits(mag) | sign);
  }
  if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));  // inf, NaN (payload kept)
  return bits_f32(sign | ((e + 112u) << 23) | (m << 13));         // rebias 15 -> 127
}

// float -> IEEE half, round to nearest even; overflow to inf; NaN stays NaN (quiet bit set).
inline uint16_t float_to_half(float f) {
  const uint32_t u = f32_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t x = u & 0x7fffffffu;
  if (x >= 0x7f800000u) return static_cast<uint16_t>(sign | (x > 0x7f800000u ? 0x7e00u | ((x >> 13) & 0x3ffu) : 0x7c00u));
  if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (x < 0x38800000u) {                                                // below 2^-14: half subnormal or zero
    if (x < 0x33000000u) return static_cast<uint16_t>(sign);            // <= 2^-25 rounds (to even) to zero
    const uint32_t e = x >> 23;
    const uint32_t m = (x & 0x7fffffu) | 0x800000u;  // value = m * 2^(e - 150)
    const uint32_t shift = 126u - e;                 // result units of 2^-24: m >> (126 - e), 14..24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);  // r may carry into the smallest normal, which is right
  }
  uint32_t r = (x - 0x38000000u) >> 13;  // rebias 127 -> 15, keep 10 mantissa bits
  const uint32_t rem = x & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;  // a carry may round up to inf: correct
  return static_cast<uint16_t>(sign | r);
}

inline uint16_t float_to_bf16(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN stays NaN
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace

void bf16_to_f32(float* out, const uint16_t* src, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) out[i] = bits_f32(static_cast<uint32_t>(src[i]) << 16);
}

void f16_to_f32(float* out, const uint16_t* src, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) out[i] = half_to_float(src[i]);
}

void f32_to_bf16(uint16_t* out, const float* src, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) out[i] = float_to_bf16(src[i]);
}

void f32_to_f16(uint16_t* out, const float* src, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) out[i] = float_to_half(src[i]);
}

}  // namespace sh
