// The batched decode step's per-token ops over all its tokens at once (models/decode-rows.ts): the SwiGLU product,
// the residual add with the norm after it, and RoPE. A step holds tens to a few hundred tokens; split over the row
// pool (whose helpers are awake between the step's GEMMs), not the OpenMP team, which sleeps between regions and
// costs more to wake than these take. Each token is computed by the same single-token call whatever the batch and
// whoever runs it, so no token's result depends on the tokens beside it or on the thread count.
#include "fastmath.h"
#include "kernels.h"
#include "row_pool.h"

namespace sh {
namespace {

/** Work estimate for the pool's threshold: these ops cost several multiply-adds' worth per element. */
constexpr i64 kOpsPerElement = 4;

}  // namespace

void swiglu_rows(float* out, const float* gate, const float* up, i64 M, i64 F) {
  split_rows(M, M * F * kOpsPerElement, [&](i64 lo, i64 hi) {
    for (i64 m = lo; m < hi; ++m) {  // row by row, so each row's elements take the same path whoever runs them
      float* o = out + m * F;
      const float* g = gate + m * F;
      const float* u = up + m * F;
      for (i64 i = 0; i < F; ++i) o[i] = swiglu1(g[i], u[i]);
    }
  });
}

void add_rmsnorm_rows(float* sum, float* out, float* rstd, const float* x, const float* y, float mult, const float* w,
                      i64 N, i64 C, double eps) {
  split_rows(N, N * C * kOpsPerElement, [&](i64 lo, i64 hi) {
    for (i64 n = lo; n < hi; ++n) {
      add_scaled_row(sum + n * C, x + n * C, y + n * C, mult, C);
      rmsnorm_row(out + n * C, rstd + n, sum + n * C, w, C, eps);  // as add_rmsnorm computes the row
    }
  });
}

void rope_rows(float* out, const float* x, const float* cos, const float* sin, const int32_t* pos, i64 N, i64 H, i64 D) {
  split_rows(N, N * H * D * kOpsPerElement, [&](i64 lo, i64 hi) {
    for (i64 n = lo; n < hi; ++n) rope_token(out + n * H * D, x + n * H * D, cos, sin, pos[n], H, D);
  });
}

}  // namespace sh
