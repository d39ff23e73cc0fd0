// GeGLU, the gated MLP activation of Gemma: out = gelu(gate) * up with the exact (erf) or the tanh GELU
// (gelu_pytorch_tanh), and its backward (accumulating). Shapes: every buffer [n]. Semantics: src/kernels/types.ts.
#include <cmath>

#include "kernels.h"
#include "tanh_fast.h"

namespace sh {

namespace {
constexpr float kSqrt1_2 = 0.70710678118654752f;      // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;   // 1 / sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f;  // sqrt(2 / pi)
constexpr float kCubic = 0.044715f;
}  // namespace

void geglu(float* out, const float* gate, const float* up, i64 n, int approximate) {
  if (approximate == 0) {
    SH_PARALLEL_FOR(n)
    for (i64 i = 0; i < n; ++i) out[i] = 0.5f * gate[i] * (1.0f + std::erf(gate[i] * kSqrt1_2)) * up[i];
    return;
  }
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float v = gate[i];
    out[i] = 0.5f * v * (1.0f + tanh_fast(kSqrt2OverPi * (v + kCubic * v * v * v))) * up[i];
  }
}

// dgate += dout * up * gelu'(gate); dup += dout * gelu(gate)
void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n,
                    int approximate) {
  if (approximate == 0) {
    SH_PARALLEL_FOR(n)
    for (i64 i = 0; i < n; ++i) {
      const float v = gate[i];
      const float cdf = 0.5f * (1.0f + std::erf(v * kSqrt1_2));
      const float pdf = kInvSqrt2Pi * std::exp(-0.5f * v * v);
      dgate[i] += dout[i] * up[i] * (cdf + v * pdf);
      dup[i] += dout[i] * v * cdf;
    }
    return;
  }
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float v = gate[i];
    const float t = tanh_fast(kSqrt2OverPi * (v + kCubic * v * v * v));
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kCubic * v * v);
    dgate[i] += dout[i] * up[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
    dup[i] += dout[i] * (0.5f * v * (1.0f + t));
  }
}

}  // namespace sh
