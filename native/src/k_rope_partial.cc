// Partial rotary embedding (Phi-3's partial_rotary_factor): rotate-half over the first R of each head's D dims,
// the other D - R dims copied; and its backward (accumulating). Semantics: src/kernels/types.ts ropePartial.
// x, out, dout, dx: [N, H, D]; cos, sin: [P, R/2] indexed by pos[n].
#include <cstring>

#include "kernels.h"

namespace sh {

void rope_partial(float* out, const float* x, const float* cos, const float* sin, const int32_t* pos, i64 N, i64 H,
                  i64 D, i64 R) {
  const i64 half = R / 2;
  SH_PARALLEL_FOR(N * H * D)
  for (i64 n = 0; n < N; ++n) {
    const float* c = cos + static_cast<i64>(pos[n]) * half;
    const float* s = sin + static_cast<i64>(pos[n]) * half;
    for (i64 h = 0; h < H; ++h) {
      const float* xr = x + (n * H + h) * D;
      float* o = out + (n * H + h) * D;
      for (i64 i = 0; i < half; ++i) {
        const float x1 = xr[i], x2 = xr[i + half];  // both read before either is written: out may alias x
        o[i] = x1 * c[i] - x2 * s[i];
        o[i + half] = x2 * c[i] + x1 * s[i];
      }
      if (o != xr && D > R) std::memcpy(o + R, xr + R, static_cast<size_t>(D - R) * sizeof(float));
    }
  }
}

void rope_partial_backward(float* dx, const float* dout, const float* cos, const float* sin, const int32_t* pos,
                           i64 N, i64 H, i64 D, i64 R) {
  const i64 half = R / 2;
  SH_PARALLEL_FOR(N * H * D)
  for (i64 n = 0; n < N; ++n) {
    const float* c = cos + static_cast<i64>(pos[n]) * half;
    const float* s = sin + static_cast<i64>(pos[n]) * half;
    for (i64 h = 0; h < H; ++h) {
      const float* g = dout + (n * H + h) * D;
      float* d = dx + (n * H + h) * D;
      for (i64 i = 0; i < half; ++i) {
        const float g1 = g[i], g2 = g[i + half];
        d[i] += g1 * c[i] + g2 * s[i];
        d[i + half] += g2 * c[i] - g1 * s[i];
      }
      for (i64 j = R; j < D; ++j) d[j] += g[j];
    }
  }
}

}  // namespace sh
