// Row-stable GEMM for batched decode: c[M, N] = a[M, K] @ w[N, K]^T (+ c), where each output element is one dot
// product summed in a fixed order (8 lanes over k in steps of 8, the lanes added in a fixed tree, then the tail;
// for K <= 16 one chain in k order) that does not depend on M, on the tile it falls in, nor on the thread count.
// A row decoded alone and the same row decoded among others therefore get bit-identical outputs, which BLAS does not
// promise (sgemv for M = 1 and sgemm for M > 1 sum in different orders). Each weight row is read once per call for all M rows: a batched decode step
// streams the weights once instead of once per row.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "row_pool.h"
#include "vec8.h"

namespace sh {
namespace {


// Sum of the 8 lanes in a fixed order: ((v0 + v4) + (v1 + v5)) + ((v2 + v6) + (v3 + v7)). hsum8x8 computes that tree
// for eight vectors at once with lane shuffles (about a quarter of the instructions of eight separate sums).
#if defined(__clang__)
#define SH_SHUFFLE(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
typedef int32_t i32x8 __attribute__((vector_size(32)));
#define SH_SHUFFLE(x, y, ...) __builtin_shuffle(x, y, i32x8{__VA_ARGS__})
#endif

/** [x0 + x4, x1 + x5, x2 + x6, x3 + x7, y0 + y4, y1 + y5, y2 + y6, y3 + y7] */
inline v8 fold_halves(const v8& x, const v8& y) {
  return SH_SHUFFLE(x, y, 0, 1, 2, 3, 8, 9, 10, 11) + SH_SHUFFLE(x, y, 4, 5, 6, 7, 12, 13, 14, 15);
}

/** Adjacent lanes of x then y added: [x0 + x1, x2 + x3, x4 + x5, x6 + x7, y0 + y1, ...] */
inline v8 add_pairs(const v8& x, const v8& y) {
  return SH_SHUFFLE(x, y, 0, 2, 4, 6, 8, 10, 12, 14) + SH_SHUFFLE(x, y, 1, 3, 5, 7, 9, 11, 13, 15);
}

/** The lane sums of v[0..8) in that fixed order, as one vector. */
inline v8 hsum8x8(const v8* v) {
  const v8 q0 = add_pairs(fold_halves(v[0], v[1]), fold_halves(v[2], v[3]));  // [(v0+v4)+(v1+v5), (v2+v6)+(v3+v7)] per vector
  const v8 q1 = add_pairs(fold_halves(v[4], v[5]), fold_halves(v[6], v[7]));
  return add_pairs(q0, q1);
}

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
  constexpr int kGroups = (MR * NR + 7) / 8;
  v8 flat[kGroups * 8] = {};
  for (int m = 0; m < MR; ++m)
    for (int j = 0; j < NR; ++j) flat[m * NR + j] = acc[m][j];
  float sums[kGroups * 8];
  for (int g = 0; g < kGroups; ++g) {
    const v8 r = hsum8x8(flat + 8 * g);
    std::memcpy(sums + 8 * g, &r, sizeof r);
  }
  for (int m = 0; m < MR; ++m)
    for (int j = 0; j < NR; ++j) {
      float tail = 0;
      for (i64 kk = k; kk < K; ++kk) tail += a[m * K + kk] * w[j * K + kk];
      const float v = sums[m * NR + j] + tail;
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

/** Dot products at most this long (a LoRA rank: the delta (s u) B^T) are summed in k order, one chain per output
 *  element, eight output columns at a time; chosen by K alone, so the order still does not depend on M. */
constexpr i64 kShortK = 16;

/** Weight rows per tile when fewer than 4 rows are decoded. */
constexpr int kNarrow = 6;

/** Columns n..n+7 of a row of c (those below N) from the 8 sums in acc: written, or added when beta is 1. */
inline void store_cols(float* cr, const v8& acc, i64 n, i64 N, float beta) {
  if (n + 8 <= N) {
    store8(cr + n, beta == 0.0f ? acc : load8(cr + n) + acc);
    return;
  }
  for (i64 j = 0; n + j < N; ++j) cr[n + j] = beta == 0.0f ? acc[j] : cr[n + j] + acc[j];
}

/** Rows [lo, hi) of short_k: each element one chain over k in order (x0 w0 + x1 w1 + ...), eight columns at a time. */
template <int K>
void short_k_rows(float* c, const float* a, const float* wt, i64 lo, i64 hi, i64 N, i64 N8, float beta) {
  for (i64 m = lo; m < hi; ++m) {
    v8 x[K];
    for (int k = 0; k < K; ++k) x[k] = v8{} + a[m * K + k];
    float* cr = c + m * N;
    for (i64 n = 0; n < N8; n += 8) {
      v8 acc = {};
      for (int k = 0; k < K; ++k) acc += x[k] * load8(wt + k * N8 + n);
      store_cols(cr, acc, n, N, beta);
    }
  }
}

/** c[m, n] (+)= sum over k in order of a[m, k] * w[n, k], for K <= kShortK: w transposed into wt [K, N] so eight
 *  columns share each multiply-add. */
void short_k(float* c, const float* a, const float* w, i64 M, i64 N, i64 K, float beta) {
  static thread_local std::vector<float> buf;
  const i64 N8 = (N + 7) / 8 * 8;
  if (static_cast<i64>(buf.size()) < K * N8) buf.resize(static_cast<size_t>(K * N8));
  float* wt = buf.data();
  for (i64 n = 0; n < N; ++n)  // w read in order, one write stream per k
    for (i64 k = 0; k < K; ++k) wt[k * N8 + n] = w[n * K + k];
  for (i64 k = 0; k < K; ++k)
    for (i64 n = N; n < N8; ++n) wt[k * N8 + n] = 0.0f;
  // rows split over the pool; a row's K activations broadcast once into registers (K a compile-time constant)
  split_rows(M, M * N8 * K, [&](i64 lo, i64 hi) {
    switch (K) {
#define SH_SHORT_K(k) \
  case k: short_k_rows<k>(c, a, wt, lo, hi, N, N8, beta); break;
      SH_SHORT_K(1) SH_SHORT_K(2) SH_SHORT_K(3) SH_SHORT_K(4) SH_SHORT_K(5) SH_SHORT_K(6) SH_SHORT_K(7) SH_SHORT_K(8)
      SH_SHORT_K(9) SH_SHORT_K(10) SH_SHORT_K(11) SH_SHORT_K(12) SH_SHORT_K(13) SH_SHORT_K(14) SH_SHORT_K(15) SH_SHORT_K(16)
#undef SH_SHORT_K
      default: break;
    }
  });
}


}  // namespace

void gemm_rows(float* c, const float* a, const float* w, i64 M, i64 N, i64 K, float beta) {
  if (M <= 0 || N <= 0) return;
  if (K <= kShortK) {
    short_k(c, a, w, M, N, K, beta);
    return;
  }
  if (M < 4) {  // one to three rows: kNarrow weight rows per tile, enough independent sums to hide the FMA latency
    const i64 groups = N / kNarrow;
    split_rows(groups, M * N * K, [&](i64 lo, i64 hi) {
      for (i64 p = lo; p < hi; ++p) column<kNarrow>(c, a, w, kNarrow * p, M, N, K, beta);
    });
    for (i64 n = groups * kNarrow; n < N; ++n) column<1>(c, a, w, n, M, N, K, beta);
    return;
  }
  // tiles of 4 rows x 3 weight rows: 12 sums in registers, 7 loads per 12 multiply-adds
  const i64 triples = N / 3;
  split_rows(triples, M * N * K, [&](i64 lo, i64 hi) {
    for (i64 p = lo; p < hi; ++p) column<3>(c, a, w, 3 * p, M, N, K, beta);
  });
  for (i64 n = triples * 3; n < N; ++n) column<1>(c, a, w, n, M, N, K, beta);
}

}  // namespace sh
