// GEMM on top of cblas_sgemm: batching, broadcast folding, and own threading for decode-sized M.
#include <algorithm>
#include <climits>
#include <cstring>

#include "blas.h"
#include "gemm_backend.h"
#include "gemm_skinny.h"
#include "kernels.h"

namespace sh {

#if defined(SHITATE_OPENBLAS) && defined(_OPENMP)
// OpenBLAS threading can be switched off around our own parallel regions (openblas_set_num_threads).
static constexpr bool kOwnThreading = true;
#else
static constexpr bool kOwnThreading = false;
#endif

// Row-major sgemm with leading dimensions implied by the trans flags; ldb/ldc passed for column blocks. Runs on
// the library gemm_backend.h chose for this CPU.
static inline void sgemm(float* c, i64 ldc, const float* a, const float* b, i64 ldb, i64 M, i64 N, i64 K,
                         bool ta, bool tb, float beta) {
  sgemm_rm(ta, tb, M, N, K, 1.0f, a, ta ? M : K, b, ldb, beta, c, ldc);
}

// Decode shapes (2 <= M <= 8): OpenBLAS's threading splits poorly there, so each thread runs a
// single-threaded sgemm on its own block of N columns (measured in bench/gemm.ts: 1.3-1.6x over OpenBLAS's
// own threading with weights streamed from memory). Blocks are multiples of 16 columns.
static void sgemm_split_n(float* c, const float* a, const float* b, i64 M, i64 N, i64 K, bool ta, bool tb,
                          float beta) {
  const int nt = threads();
  const i64 per = ((N + nt - 1) / nt + 15) / 16 * 16;
  const i64 ldb = tb ? K : N;
  BlasSingleThread single;
  GemmSignalsHeld held;  // for every GEMM the team calls
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; ++t) {
    const i64 n0 = t * per;
    if (n0 >= N) continue;
    const i64 nn = std::min(per, N - n0);
    const float* bb = tb ? b + n0 * K : b + n0;  // op(b) columns n0.. are rows of W[N,K] or columns of [K,N]
    sgemm(c + n0, N, a, bb, ldb, M, nn, K, ta, tb, beta);
  }
}

// One output row (decode with a single token): a matrix-vector product. OpenBLAS's sgemm is several times
// slower than its sgemv here (it packs the whole weight for one row); sgemv streams the weight once.
// a is K contiguous floats whether or not it is "transposed" (M = 1).
static void gemv_row(float* c, const float* a, const float* b, i64 N, i64 K, bool tb, float beta) {
  // beta = 0 must overwrite even NaN; some BLAS versions scale y by 0 (NaN * 0 = NaN) instead
  if (beta == 0.0f) std::memset(c, 0, static_cast<size_t>(N) * sizeof(float));
  if (tb)  // c[N] = W[N, K] @ a
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(N), static_cast<int>(K), 1.0f, b, static_cast<int>(K),
                a, 1, beta, c, 1);
  else  // c[N] = B[K, N]^T @ a
    cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(N), 1.0f, b, static_cast<int>(N), a,
                1, beta, c, 1);
}

static void gemm_one(float* c, const float* a, const float* b, i64 M, i64 N, i64 K, bool ta, bool tb, float beta) {
  if (M == 1) {
    gemv_row(c, a, b, N, K, tb, beta);
    return;
  }
  // N (or M, transposed a) a LoRA rank, the other dimensions large: one pass over the big operand in register
  // tiles beats sgemm's packing (k_gemm_skinny.cc); before the decode split, which dA = du^T x would reach.
  if (gemm_skinny(c, a, b, M, N, K, ta, tb, beta)) return;
  if (kOwnThreading && threads() > 1 && M <= 8 && N >= 64 * threads() && M * N * K >= (1 << 16)) {
    sgemm_split_n(c, a, b, M, N, K, ta, tb, beta);
    return;
  }
  // a long sum against a small C (a weight's gradient over many tokens, the LM head's backward along the
  // vocabulary): fixed chunks of K, so that the library's own split of K does not make the sums follow the threads
  if (const i64 kb = long_k_block(M, N, K)) {
    sgemm_rm_ksplit(ta, tb, M, N, K, 1.0f, a, ta ? M : K, b, tb ? K : N, beta, c, N, kb);
    return;
  }
  sgemm(c, N, a, b, tb ? K : N, M, N, K, ta, tb, beta);
}

void gemm(float* c, const float* a, const float* b, i64 batch, i64 M, i64 N, i64 K, bool transA, bool transB,
          float beta, i64 strideA, i64 strideB) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  if (K == 0) {  // empty sum: c = beta * c (BLAS would reject lda = 0)
    const i64 n = batch * M * N;
    if (beta == 0.0f) std::memset(c, 0, static_cast<size_t>(n) * sizeof(float));
    else scale(c, c, beta, n);
    return;
  }
  // One weight shared by a contiguous, untransposed batch of activations: one tall sgemm [batch*M, K] @ op(b).
  if (batch > 1 && strideB == 0 && !transA && strideA == M * K && batch * M <= INT_MAX) {
    gemm_one(c, a, b, batch * M, N, K, transA, transB, beta);
    return;
  }
  const i64 work = M * N * K;
  // Many small independent products (attention-sized): one item per thread beats threading inside each.
  if (kOwnThreading && threads() > 1 && batch >= 2 && work <= (1 << 21)) {
    BlasSingleThread single;
    GemmSignalsHeld held;  // for every GEMM the team calls
#pragma omp parallel for num_threads(threads()) if (batch * work >= kParMin) schedule(dynamic, 1)
    for (i64 i = 0; i < batch; ++i) {
      float* ci = c + i * M * N;
      const float* ai = a + i * strideA;
      const float* bi = b + i * strideB;
      if (M == 1) gemv_row(ci, ai, bi, N, K, transB, beta);
      else sgemm(ci, N, ai, bi, transB ? K : N, M, N, K, transA, transB, beta);
    }
    return;
  }
  for (i64 i = 0; i < batch; ++i)
    gemm_one(c + i * M * N, a + i * strideA, b + i * strideB, M, N, K, transA, transB, beta);
}

void raw_sgemm(float* c, const float* a, const float* b, i64 M, i64 N, i64 K, bool transA, bool transB) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, a, static_cast<int>(transA ? M : K),
              b, static_cast<int>(transB ? K : N), 0.0f, c, static_cast<int>(N));
}

}  // namespace sh
