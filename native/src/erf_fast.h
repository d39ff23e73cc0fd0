// Vectorisable 1 + erf(z) for the exact (erf) GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). glibc's erff does not
// vectorise. |z| < 1: z * T(z^2), Cephes' erff polynomial (relative error 1.2e-9 in double); otherwise through
// erfc(|z|) = t exp(-z^2 + P(t)), t = 1 / (1 + |z|/2), the Chebyshev fit of Numerical Recipes' erfcc (relative
// error < 1.1e-7), so 1 + erf(z) = erfc(|z|) keeps its relative accuracy in the far negative tail. Branch-free.
#pragma once
#include "fastmath.h"

namespace sh {

/** 1 + erf(z), within a few float32 ulp (relative) over the whole line. */
inline float one_plus_erf(float z) {
  const float a = z < 0.0f ? -z : z;
  const float s = z * z;
  float p = 7.853861353153693e-5f;
  p = p * s - 8.010193625184903e-4f;
  p = p * s + 5.188327685732524e-3f;
  p = p * s - 2.685381193529856e-2f;
  p = p * s + 1.128358514861418e-1f;
  p = p * s - 3.761262582423300e-1f;
  p = p * s + 1.128379165726710e+0f;
  const float near = 1.0f + z * p;
  const float t = 1.0f / (1.0f + 0.5f * a);
  float c = 0.17087277f;
  c = c * t - 0.82215223f;
  c = c * t + 1.48851587f;
  c = c * t - 1.13520398f;
  c = c * t + 0.27886807f;
  c = c * t - 0.18628806f;
  c = c * t + 0.09678418f;
  c = c * t + 0.37409196f;
  c = c * t + 1.00002368f;
  c = c * t - 1.26551223f;
  const float erfc = t * exp_fast(c - s);  // erfc(|z|)
  const float far = z < 0.0f ? erfc : 2.0f - erfc;
  const float r = a < 1.0f ? near : far;
  return z != z ? z : r;
}

}  // namespace sh
