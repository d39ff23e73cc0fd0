// Vectorisable tanh for the soft-capping and GeGLU kernels. Cephes' tanhf: an odd minimax polynomial below
// |x| = 0.625, 1 - 2 / (exp(2|x|) + 1) above (no cancellation there); within ~2 ulp of std::tanh, branch-free so
// GCC vectorises the loops that call it (glibc's tanhf does not vectorise).
#pragma once
#include "fastmath.h"

namespace sh {

inline float tanh_fast(float x) {
  const float a = x < 0.0f ? -x : x;
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float big = 1.0f - 2.0f / (exp_fast(2.0f * a) + 1.0f);  // exp_fast saturates to inf: big -> 1
  const float r = a < 0.625f ? small : (x < 0.0f ? -big : big);
  return x != x ? x : r;
}

}  // namespace sh
