// bf16 mixed-precision training kernels (lowp.h): the epilogue and backward operand of linear layers with a LoRA
// branch in the same GEMM, SwiGLU on bf16, norms writing bf16 GEMM operands, the residual add fused into the norm.
// Rows run in parallel in static blocks, and every sum has a fixed order, so results repeat exactly.
#include <algorithm>
#include <vector>

#include "fastmath.h"
#include "gemm_backend.h"
#include "lowp.h"

namespace sh {

void gemm_bf16_ld(float* c, const uint16_t* a16, const uint16_t* b16, i64 M, i64 N, i64 K, bool ta, bool tb,
                  float beta, i64 lda, i64 ldb, i64 ldc) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    for (i64 m = 0; m < M; ++m)
      for (i64 n = 0; n < N; ++n) c[m * ldc + n] = beta == 0.0f ? 0.0f : beta * c[m * ldc + n];
    return;
  }
  gemm_bf16_rm(ta, tb, M, N, K, 1.0f, a16, lda, b16, ldb, beta, c, ldc);
}

namespace {

/** r(B) transposed to [R, O] as floats holding bf16 values: row r is the LoRA B column r, contiguous in o. */
std::vector<float> rounded_bt(const float* B, i64 O, i64 R) {
  std::vector<float> bt(static_cast<size_t>(R * O));
  for (i64 o = 0; o < O; ++o)
    for (i64 r = 0; r < R; ++r) bt[static_cast<size_t>(r * O + o)] = bf16_snap(B[o * R + r]);
  return bt;
}

}  // namespace

void bf16_linear_out(uint16_t* y16, uint16_t* u16, const float* yext, const float* bias, const float* B, float s,
                     i64 N, i64 O, i64 R) {
  const i64 ld = O + R;
  const std::vector<float> bt = R > 0 ? rounded_bt(B, O, R) : std::vector<float>();
#pragma omp parallel num_threads(team_size(N * ld))
  {
    std::vector<float> acc(static_cast<size_t>(R > 0 ? O : 0));
    std::vector<float> ur(static_cast<size_t>(R));
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; ++n) {
      const float* row = yext + n * ld;
      uint16_t* y = y16 + n * O;
      if (R == 0) {
        if (bias != nullptr)
          for (i64 o = 0; o < O; ++o) y[o] = bf16_round(row[o] + bias[o]);
        else
          for (i64 o = 0; o < O; ++o) y[o] = bf16_round(row[o]);
        continue;
      }
      for (i64 r = 0; r < R; ++r) {
        const uint16_t h = bf16_round(row[O + r]);
        u16[n * R + r] = h;
        ur[static_cast<size_t>(r)] = bf16_widen(h);
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (i64 r = 0; r < R; ++r) axpy(acc.data(), bt.data() + r * O, ur[static_cast<size_t>(r)], O);
      float* a = acc.data();
      for (i64 o = 0; o < O; ++o) a[o] = bf16_snap(bf16_snap(a[o]) * s);  // the scaled LoRA term
      if (bias != nullptr)
        for (i64 o = 0; o < O; ++o) y[o] = bf16_round(bf16_snap(row[o] + bias[o]) + a[o]);
      else
        for (i64 o = 0; o < O; ++o) y[o] = bf16_round(bf16_snap(row[o]) + a[o]);
    }
  }
}

void bf16_linear_grad(uint16_t* g16, float* dB, const float* dy, const uint16_t* u16, const float* B, float s, i64 N,
                      i64 O, i64 R) {
  const i64 ld = O + R;
  if (R == 0) {
    SH_PARALLEL_FOR(N * O)
    for (i64 n = 0; n < N; ++n)
      for (i64 o = 0; o < O; ++o) g16[n * ld + o] = bf16_round(dy[n * O + o]);
    return;
  }
  const std::vector<float> bt = rounded_bt(B, O, R);
  const int nt = team_size(N * ld);
  // per-thread partial dB, [R, O] each (o contiguous so the row update vectorises)
  std::vector<float> part(dB != nullptr ? static_cast<size_t>(nt * R * O) : 0, 0.0f);
#pragma omp parallel num_threads(nt)
  {
    std::vector<float> dv(static_cast<size_t>(O));
    float* mine = dB != nullptr ? part.data() + static_cast<i64>(thread_id()) * R * O : nullptr;
    // static blocks of rows, one per thread: which thread owns a row depends only on N and the team size
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; ++n) {
      uint16_t* g = g16 + n * ld;
      const float* dr = dy + n * O;
      float* d = dv.data();
      for (i64 o = 0; o < O; ++o) g[o] = bf16_round(dr[o]);
      for (i64 o = 0; o < O; ++o) d[o] = bf16_snap(bf16_snap(dr[o]) * s);
      for (i64 r = 0; r < R; ++r) {
        g[O + r] = bf16_round(dot(dv.data(), bt.data() + r * O, O));
        if (mine != nullptr) axpy(mine + r * O, dv.data(), bf16_widen(u16[n * R + r]), O);
      }
    }
  }
  if (dB == nullptr) return;
  for (i64 r = 0; r < R; ++r)
    for (i64 o = 0; o < O; ++o) {
      float sum = 0.0f;
      for (int t = 0; t < nt; ++t) sum += part[static_cast<size_t>((t * R + r) * O + o)];
      dB[o * R + r] += bf16_snap(sum);
    }
}

void bf16_accumulate(float* dst, const float* src, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) dst[i] += bf16_snap(src[i]);
}

void swiglu_bf16(uint16_t* m16, const uint16_t* g16, const uint16_t* u16, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float g = bf16_widen(g16[i]);
    const float act = bf16_snap(g * sigmoid_fast(g));
    m16[i] = bf16_round(act * bf16_widen(u16[i]));
  }
}

void swiglu_bf16_backward(float* dg, float* du, const float* dm, const uint16_t* g16, const uint16_t* u16, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float g = bf16_widen(g16[i]);
    const float sg = sigmoid_fast(g);
    const float d = dm[i];
    dg[i] += d * bf16_widen(u16[i]) * (sg * (1.0f + g * (1.0f - sg)));
    du[i] += d * bf16_snap(g * sg);
  }
}

void rmsnorm_bf16(uint16_t* out16, float* rstd, const float* x, const float* w, i64 N, i64 C, double eps) {
#pragma omp parallel num_threads(team_size(N * C))
  {
    std::vector<float> row(static_cast<size_t>(C));
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; ++n) {
      rmsnorm(row.data(), rstd + n, x + n * C, w, 1, C, eps);  // one row: the kernel stays on this thread
      for (i64 i = 0; i < C; ++i) out16[n * C + i] = bf16_round(row[static_cast<size_t>(i)]);
    }
  }
}

void add_rmsnorm(float* sum, float* out, uint16_t* out16, float* rstd, const float* x, const float* y,
                 const uint16_t* y16, float mult, const float* w, i64 N, i64 C, double eps) {
#pragma omp parallel num_threads(team_size(N * C))
  {
    std::vector<float> row(static_cast<size_t>(out == nullptr ? C : 0));
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; ++n) {
      float* sr = sum + n * C;
      const float* xr = x + n * C;
      if (y != nullptr) {
        const float* yr = y + n * C;
        if (mult == 1.0f)
          for (i64 i = 0; i < C; ++i) sr[i] = xr[i] + yr[i];
        else
          for (i64 i = 0; i < C; ++i) sr[i] = xr[i] + yr[i] * mult;
      } else {
        const uint16_t* yr = y16 + n * C;
        if (mult == 1.0f)
          for (i64 i = 0; i < C; ++i) sr[i] = xr[i] + bf16_widen(yr[i]);
        else
          for (i64 i = 0; i < C; ++i) sr[i] = xr[i] + bf16_widen(yr[i]) * mult;
      }
      if (out != nullptr) {
        rmsnorm(out + n * C, rstd + n, sr, w, 1, C, eps);
      } else {
        rmsnorm(row.data(), rstd + n, sr, w, 1, C, eps);
        for (i64 i = 0; i < C; ++i) out16[n * C + i] = bf16_round(row[static_cast<size_t>(i)]);
      }
    }
  }
}

}  // namespace sh
