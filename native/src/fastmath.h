// Vectorisable math for the hot loops: exp (softmax, SiLU, attention, cross-entropy) and row reductions.
// glibc's expf is correctly rounded but cannot be vectorised without -ffast-math; exp_fast stays within
// ~2 ulp, propagates NaN, saturates to +inf above 88.72 and returns 0 below -86.6 (where exp < 2.6e-38).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common.h"

namespace sh {

inline float exp_fast(float x) {
  const float kHi = 88.7228394f, kLo = -86.6f;
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // Cody-Waite split of ln 2
  const float kRound = 12582912.0f;                             // 1.5 * 2^23: adding it rounds to integer
  float xc = x < kLo ? kLo : (x > kHi ? kHi : x);
  float n = (xc * kLog2e + kRound) - kRound;  // nearest integer, in [-125, 128]
  float r = (xc - n * kLn2Hi) - n * kLn2Lo;   // |r| <= ln2 / 2
  // Cephes expf minimax polynomial for exp(r) on [-ln2/2, ln2/2]
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * (r * r) + r + 1.0f;
  // 2^(n-1) * 2 keeps n = 128 (x near the overflow edge) representable.
  int32_t bits = (static_cast<int32_t>(n) + 126) << 23;
  float pow2;
  std::memcpy(&pow2, &bits, sizeof pow2);
  float res = y * pow2 * 2.0f;
  res = x < kLo ? 0.0f : res;
  res = x > kHi ? __builtin_inff() : res;
  return x != x ? x : res;
}

/** logistic sigmoid 1 / (1 + e^-x) */
inline float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }

/** silu(g) * u, the SwiGLU product of one element (swiglu and the decode step's swiglu_rows). */
inline float swiglu1(float g, float u) { return g * sigmoid_fast(g) * u; }

/** max of x[0..C), 8 lanes so it vectorises; NaN entries are skipped */
inline float row_max(const float* x, i64 C) {
  float lane[8];
  for (int l = 0; l < 8; ++l) lane[l] = -__builtin_inff();
  i64 i = 0;
  for (; i + 8 <= C; i += 8)
    for (int l = 0; l < 8; ++l) lane[l] = x[i + l] > lane[l] ? x[i + l] : lane[l];
  float m = -__builtin_inff();
  for (; i < C; ++i) m = x[i] > m ? x[i] : m;
  for (int l = 0; l < 8; ++l) m = lane[l] > m ? lane[l] : m;
  return m;
}

// Double-precision row reductions with 16 lanes: four independent vector add chains, so the adds do not
// wait on each other's latency; the lane order is fixed, so results do not depend on threads.
inline double lanes_total(const double* lane) {
  double t[4];
  for (int l = 0; l < 4; ++l) t[l] = (lane[l] + lane[l + 4]) + (lane[l + 8] + lane[l + 12]);
  return (t[0] + t[1]) + (t[2] + t[3]);
}

inline double dot_d(const float* a, const float* b, i64 C) {
  double lane[16] = {};
  i64 i = 0;
  for (; i + 16 <= C; i += 16)
    for (int l = 0; l < 16; ++l) lane[l] += static_cast<double>(a[i + l]) * b[i + l];
  double s = 0;
  for (; i < C; ++i) s += static_cast<double>(a[i]) * b[i];
  return s + lanes_total(lane);
}

/** One row of rmsnorm: rstd = 1 / sqrt(mean(x^2) + eps) (the mean in double), o = (x * rstd) * w. The body of every
 *  float32 rmsnorm (rmsnorm, the residual-fused norms), so they agree bit for bit. */
inline void rmsnorm_row(float* o, float* rstd, const float* xr, const float* w, i64 C, double eps) {
  const float r = static_cast<float>(1.0 / std::sqrt(dot_d(xr, xr, C) / static_cast<double>(C) + eps));
  *rstd = r;
  for (i64 i = 0; i < C; ++i) o[i] = (xr[i] * r) * w[i];
}

/** s = x + mult * y over one row of C (mult 1: a plain add). */
inline void add_scaled_row(float* s, const float* x, const float* y, float mult, i64 C) {
  if (mult == 1.0f)
    for (i64 i = 0; i < C; ++i) s[i] = x[i] + y[i];
  else
    for (i64 i = 0; i < C; ++i) s[i] = x[i] + y[i] * mult;
}

inline double sum_d(const float* a, i64 C) {
  double lane[16] = {};
  i64 i = 0;
  for (; i + 16 <= C; i += 16)
    for (int l = 0; l < 16; ++l) lane[l] += a[i + l];
  double s = 0;
  for (; i < C; ++i) s += a[i];
  return s + lanes_total(lane);
}

/** sum of exp(x[i] - m) in double */
inline double sum_exp_d(const float* x, float m, i64 C) {
  double lane[16] = {};
  i64 i = 0;
  for (; i + 16 <= C; i += 16)
    for (int l = 0; l < 16; ++l) lane[l] += exp_fast(x[i + l] - m);
  double s = 0;
  for (; i < C; ++i) s += exp_fast(x[i] - m);
  return s + lanes_total(lane);
}

}  // namespace sh
