// Mixed-precision GEMM for frozen weights: c = op(a) @ op(b) + beta * c where b holds bfloat16 values and a
// (float32) is rounded to bfloat16 (nearest even) on the way in. Products of two bf16 values are exact in
// float32 and sums accumulate in float32, as PyTorch's bf16 autocast matmul does on CPU.
// With oneDNN (libdnnl-dev) this is dnnl_gemm_bf16bf16f32, about twice sgemm's rate on AVX512-BF16 or AMX
// cores (measured 380-410 vs 170-190 GFLOP/s on 2 Zen 4 cores); without it, the same numbers on sgemm.
#include <cstdint>
#include <cstring>
#include <vector>


#include "blas.h"
#include "gemm_backend.h"
#include "kernels.h"
#include "threads.h"

namespace sh {
namespace {

inline uint16_t round_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN stays NaN
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline float widen_bf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Scratch for the rounded activations, kept between calls (GEMMs run on the main thread only).
std::vector<uint16_t> g_a16;

#ifndef SHITATE_DNNL
std::vector<float> g_af, g_bf;
#endif

}  // namespace

bool gemm_bf16_accelerated() {
#ifdef SHITATE_DNNL
  return true;
#else
  return false;
#endif
}

void gemm_bf16(float* c, const float* a, const uint16_t* b, i64 M, i64 N, i64 K, bool transA, bool transB,
               float beta) {
  if (M <= 0 || N <= 0) return;
  const i64 nc = M * N, na = M * K;
  if (K == 0) {  // empty sum: c = beta * c
    if (beta == 0.0f) std::memset(c, 0, static_cast<size_t>(nc) * sizeof(float));
    else scale(c, c, beta, nc);
    return;
  }
  if (gemm_bf16_rows(c, a, b, M, N, K, transA, transB, beta)) return;  // decode rows: one pass over the weights
#ifdef SHITATE_DNNL
  if (static_cast<i64>(g_a16.size()) < na) g_a16.resize(static_cast<size_t>(na));
  uint16_t* a16 = g_a16.data();
#pragma omp parallel for num_threads(threads()) if (na >= (1 << 16)) schedule(static)
  for (i64 i = 0; i < na; ++i) a16[i] = round_bf16(a[i]);
  // beta = 0: oneDNN writes c without reading it (NaN in c does not leak; tested)
  gemm_bf16_rm(transA, transB, M, N, K, 1.0f, a16, transA ? M : K, b, transB ? K : N, beta, c, N);
#else
  const i64 nb = K * N;
  if (static_cast<i64>(g_af.size()) < na) g_af.resize(static_cast<size_t>(na));
  if (static_cast<i64>(g_bf.size()) < nb) g_bf.resize(static_cast<size_t>(nb));
  float* af = g_af.data();
  float* bf = g_bf.data();
#pragma omp parallel for num_threads(threads()) if (na >= (1 << 16)) schedule(static)
  for (i64 i = 0; i < na; ++i) af[i] = widen_bf16(round_bf16(a[i]));
#pragma omp parallel for num_threads(threads()) if (nb >= (1 << 16)) schedule(static)
  for (i64 i = 0; i < nb; ++i) bf[i] = widen_bf16(b[i]);
  gemm(c, af, bf, 1, M, N, K, transA, transB, beta, 0, 0);  // gemm's beta = 0 overwrites NaN too
#endif
}

}  // namespace sh
