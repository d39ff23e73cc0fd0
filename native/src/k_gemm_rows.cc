// Row-stable GEMM for batched decode: c[M, N] = a[M, K] @ w[N, K]^T (+ c), where each output element is one dot
// product summed in a fixed order (8 lanes over k in steps of 8, the lanes added in a fixed tree, then the tail)
// that does not depend on M, on the tile it falls in, nor on the thread count. A row decoded alone and the same row
// decoded among others therefore get bit-identical outputs, which BLAS does not promise (sgemv for M = 1 and sgemm
// for M > 1 sum in different orders). Each weight row is read once per call for all M rows: a batched decode step
// streams the weights once instead of once per row.
#include <algorithm>
#include <cstring>

#include "kernels.h"

namespace sh {
namespace {

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float v8 __attribute__((vector_size(32)));

inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}

/** Sum of the 8 lanes in a fixed order */
inline float hsum8(const v8& v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

/** c[m, n + j] (+)= dot(a[m, :], w[n + j, :]) for m < MR, j < NR: a register tile of MR x NR sums that share their
 *  loads. Every sum is the same function of its two rows whatever MR and NR are. */
template <int MR, int NR>
inline void tile(float* c, i64 ldc, const float* a, const float* w, i64 K, float beta) {
  v8 acc[MR][NR] = {};
  i64 k = 0;
  for (; k + 8 <= K; k += 8) {
    v8 wv[NR];
    for (int j = 0; j < NR; ++j) wv[j] = load8(w + j * K + k);
    for (int m = 0; m < MR; ++m) {
      const v8 x = load8(a + m * K + k);
      for (int j = 0; j < NR; ++j) acc[m][j] += x * wv[j];
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int j = 0; j < NR; ++j) {
      float tail = 0;
      for (i64 kk = k; kk < K; ++kk) tail += a[m * K + kk] * w[j * K + kk];
      const float v = hsum8(acc[m][j]) + tail;
      float& out = c[m * ldc + j];
      out = beta == 0.0f ? v : out + v;
    }
}

/** All M rows against weight rows n, n + 1 (NR of them): tiles of 4 rows, then the 1-3 left over. */
template <int NR>
inline void column(float* c, const float* a, const float* w, i64 n, i64 M, i64 N, i64 K, float beta) {
  i64 m = 0;
  for (; m + 4 <= M; m += 4) tile<4, NR>(c + m * N + n, N, a + m * K, w + n * K, K, beta);
  switch (M - m) {
    case 3: tile<3, NR>(c + m * N + n, N, a + m * K, w + n * K, K, beta); break;
    case 2: tile<2, NR>(c + m * N + n, N, a + m * K, w + n * K, K, beta); break;
    case 1: tile<1, NR>(c + m * N + n, N, a + m * K, w + n * K, K, beta); break;
    default: break;
  }
}

/** Multiply-adds below which a call stays on the calling thread: waking the sleeping OpenMP workers costs more
 *  than it saves on a small projection (as for the bf16 decode rows, k_gemm_bf16_rows.cc). */
constexpr i64 kRowsParMin = i64(1) << 21;

}  // namespace

void gemm_rows(float* c, const float* a, const float* w, i64 M, i64 N, i64 K, float beta) {
  if (M <= 0 || N <= 0) return;
  const i64 pairs = N / 2;
  const int nt = M * N * K >= kRowsParMin ? threads() : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (i64 p = 0; p < pairs; ++p) column<2>(c, a, w, 2 * p, M, N, K, beta);
  if (N % 2) column<1>(c, a, w, N - 1, M, N, K, beta);
}

}  // namespace sh
