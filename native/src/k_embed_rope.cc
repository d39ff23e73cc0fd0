// Token embedding (gather / scatter-add) and rotary position embedding (rotate-half, HF Llama).
#include <cstring>

#include "kernels.h"

namespace sh {

// out[n] = table[ids[n]]; table [V, C], out [N, C]
void embedding(float* out, const float* table, const int32_t* ids, i64 N, i64 C) {
  SH_PARALLEL_FOR(N * C)
  for (i64 n = 0; n < N; ++n)
    std::memcpy(out + n * C, table + static_cast<i64>(ids[n]) * C, static_cast<size_t>(C) * sizeof(float));
}

// dtable[ids[n]] += dout[n]. Repeated ids would race if rows were split across threads, so each thread owns
// a range of columns and walks all rows in order (same summation order as a serial loop).
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, i64 N, i64 C) {
#pragma omp parallel num_threads(team_size(N * C))
  {
    const i64 t = thread_id(), nt = team_threads();
    const i64 c0 = C * t / nt, c1 = C * (t + 1) / nt;
    for (i64 n = 0; n < N; ++n) {
      float* d = dtable + static_cast<i64>(ids[n]) * C;
      const float* g = dout + n * C;
      for (i64 c = c0; c < c1; ++c) d[c] += g[c];
    }
  }
}

// x, out: [N, H, D]; cos, sin: [P, D/2]. out[i] = x[i] cos - x[i+D/2] sin; out[i+D/2] = x[i+D/2] cos + x[i] sin.
// Each pair is read before it is written, so out may alias x.
void rope_token(float* out, const float* x, const float* cos, const float* sin, i64 p, i64 H, i64 D) {
  const i64 half = D / 2;
  const float* c = cos + p * half;
  const float* s = sin + p * half;
  for (i64 h = 0; h < H; ++h) {
    const float* xr = x + h * D;
    float* o = out + h * D;
    for (i64 i = 0; i < half; ++i) {
      const float x1 = xr[i], x2 = xr[i + half];
      o[i] = x1 * c[i] - x2 * s[i];
      o[i + half] = x2 * c[i] + x1 * s[i];
    }
  }
}

void rope(float* out, const float* x, const float* cos, const float* sin, const int32_t* pos, i64 N, i64 H, i64 D) {
  SH_PARALLEL_FOR(N * H * D)
  for (i64 n = 0; n < N; ++n) rope_token(out + n * H * D, x + n * H * D, cos, sin, pos[n], H, D);
}

namespace {

// Transpose of the rotation: dx[i] (+)= g[i] cos + g[i+D/2] sin; dx[i+D/2] (+)= g[i+D/2] cos - g[i] sin; added
// when Acc, else written (a fresh gradient buffer needs no zero-fill first).
template <bool Acc>
void rope_backward_as(float* dx, const float* dout, const float* cos, const float* sin, const int32_t* pos, i64 N,
                      i64 H, i64 D) {
  const i64 half = D / 2;
  SH_PARALLEL_FOR(N * H * D)
  for (i64 n = 0; n < N; ++n) {
    const float* c = cos + static_cast<i64>(pos[n]) * half;
    const float* s = sin + static_cast<i64>(pos[n]) * half;
    for (i64 h = 0; h < H; ++h) {
      const float* g = dout + (n * H + h) * D;
      float* d = dx + (n * H + h) * D;
      for (i64 i = 0; i < half; ++i) {
        const float g1 = g[i], g2 = g[i + half];
        const float a = g1 * c[i] + g2 * s[i], b = g2 * c[i] - g1 * s[i];
        d[i] = Acc ? d[i] + a : a;
        d[i + half] = Acc ? d[i + half] + b : b;
      }
    }
  }
}

}  // namespace

void rope_backward(float* dx, const float* dout, const float* cos, const float* sin, const int32_t* pos, i64 N,
                   i64 H, i64 D, bool accumulate) {
  if (accumulate) rope_backward_as<true>(dx, dout, cos, sin, pos, N, H, D);
  else rope_backward_as<false>(dx, dout, cos, sin, pos, N, H, D);
}

}  // namespace sh
