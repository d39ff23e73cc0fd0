// Skinny GEMMs: N or M is a LoRA rank R (4..8; up to 16 for dB) and the other two dimensions are large, so
// the product is one pass over the big operand. OpenBLAS packs and blocks for large products and reaches only
// 14-40 GFLOP/s on these in a training step; register tiles here stream the big operand once.
// Each output element is summed over k in a fixed order, whatever the thread count or schedule.
#include "gemm_skinny.h"
#include "vec8.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace sh {

/** Small dimensions handled here. Measured in training steps (2 threads) against OpenBLAS: rank 8 wins on
 *  every path; at rank 16 only dB = dY^T u still does (1.1-1.4x; dA = du^T x 0.8-0.9x, the row dots ~1x).
 *  Below 4 most of each 4-wide register tile would be padding. */
static constexpr i64 kSmallMin = 4;
static constexpr i64 kSmallMax = 8;
static constexpr i64 kStreamCtMax = 16;  // dB = dY^T u: C^T streamed over k
/** The large dimensions must be at least kLargeMin and 8x the small one, the product kMinWork multiply-adds. */
static constexpr i64 kLargeMin = 64;
static constexpr i64 kMinWork = 1 << 18;

/** Row pairs per work item. Items are handed out dynamically: an OpenMP worker that wakes late (idle workers
 *  sleep, see native.ts) or shares its core with a spinning OpenBLAS thread does not hold up the others. Which
 *  thread computes an output never changes its value. */
static constexpr i64 kChunk = 16;

static inline void add_to8(float* p, const v8& v) {
  const v8 sum = load8(p) + v;
  std::memcpy(p, &sum, sizeof sum);
}
static inline v8 splat8(float x) { return v8{x, x, x, x, x, x, x, x}; }
/** Sum of the 8 lanes in a fixed order */
static inline float hsum8(const v8& v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

/** Per-thread scratch for the small operand's copy, kept between calls (no allocation or page faults). */
static float* scratch(i64 n) {
  static thread_local std::vector<float> buf;
  if (static_cast<i64>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

/** c = v + beta * c; beta 0 overwrites (NaN in c does not leak). */
static inline void put(float& c, float v, float beta) { c = beta == 0.0f ? v : v + beta * c; }

// ---- Row dots: out[r, j] = dot(L[r, :], S[j, :]) for r < R (large), j < P (small), rows K long.
// Tiles of 2 rows of L x 4 rows of S share their loads. S is a copy padded with zero rows to a multiple of 4.

/** dst[P rounded up to 4, K] = rows of src ([P, K], or [K, P] when trans) and zero rows */
static float* padded_rows(const float* src, i64 P, i64 K, bool trans) {
  const i64 P4 = (P + 3) / 4 * 4;
  float* dst = scratch(P4 * K);
  if (!trans) std::copy(src, src + P * K, dst);
  else
    for (i64 k = 0; k < K; ++k)
      for (i64 j = 0; j < P; ++j) dst[j * K + k] = src[k * P + j];
  std::fill(dst + P * K, dst + P4 * K, 0.0f);
  return dst;
}

/** res[r * 8 + i] = dot(x[r * K ..], s[i * K ..]) for r < rows (1 or 2), i < 4; 8 lanes each, fixed order */
static inline void dot_tile(float* res, int rows, const float* x, const float* s, i64 K) {
  const float* x1 = rows == 2 ? x + K : x;  // one row: the second repeats the first and is dropped
  v8 a0{}, a1{}, a2{}, a3{}, b0{}, b1{}, b2{}, b3{};
  i64 k = 0;
  for (; k + 8 <= K; k += 8) {
    const v8 u = load8(x + k), v = load8(x1 + k);
    const v8 s0 = load8(s + k), s1 = load8(s + K + k), s2 = load8(s + 2 * K + k), s3 = load8(s + 3 * K + k);
    a0 += u * s0, a1 += u * s1, a2 += u * s2, a3 += u * s3;
    b0 += v * s0, b1 += v * s1, b2 += v * s2, b3 += v * s3;
  }
  const v8 sums[2][4] = {{a0, a1, a2, a3}, {b0, b1, b2, b3}};
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < 4; ++i) {
      float tail = 0;
      for (i64 kk = k; kk < K; ++kk) tail += x[r * K + kk] * s[i * K + kk];
      res[r * 8 + i] = hsum8(sums[r][i]) + tail;
    }
}

/** c[r, j] (or c[j, r] when tout) = dot(l[r, :], s[j, :]) + beta * c; s is [P rounded up to 4, K] */
static void rows_dot(float* c, const float* l, const float* s, i64 R, i64 P, i64 K, bool tout, float beta) {
  const i64 pairs = (R + 1) / 2;
#pragma omp parallel for num_threads(threads()) schedule(dynamic, kChunk)
  for (i64 t = 0; t < pairs; ++t) {
    const i64 r0 = t * 2;
    const int rows = r0 + 1 < R ? 2 : 1;
    float res[2 * 8];  // [row, j] for one group of 4 j
    for (i64 j0 = 0; j0 < P; j0 += 4) {
      dot_tile(res, rows, l + r0 * K, s + j0 * K, K);
      for (i64 r = 0; r < rows; ++r)
        for (i64 j = j0; j < std::min(P, j0 + 4); ++j)
          put(tout ? c[j * R + r0 + r] : c[(r0 + r) * P + j], res[r * 8 + j - j0], beta);
    }
  }
}

// ---- Stream over k: out[p, q] = sum_k S[k, p] * L[k, q] for p < P (small), q < Q (large). Work items are
// column blocks of out whose sums stay in L1 while the rows of L stream past, swept in chunks of kChunkK rows
// by register tiles of 4 p x 16 q. S is a copy padded with zero columns to a multiple of 4.

/** Rows of L per sweep of an item's tiles: the chunk stays in L1 for all groups of 4 p. */
static constexpr i64 kChunkK = 16;

/** dst[K, P rounded up to 4] = src ([K, P], or [P, K] when trans) and zero columns */
static float* padded_cols(const float* src, i64 K, i64 P, bool trans) {
  const i64 P4 = (P + 3) / 4 * 4;
  float* dst = scratch(K * P4);
  for (i64 k = 0; k < K; ++k) {
    for (i64 p = 0; p < P; ++p) dst[k * P4 + p] = trans ? src[p * K + k] : src[k * P + p];
    for (i64 p = P; p < P4; ++p) dst[k * P4 + p] = 0.0f;
  }
  return dst;
}

/** acc[i * ld + 0..16) += sum_k s[k * lds + i] * l[k * ldl + 0..16) for i < 4, k < kn */
static inline void stream_tile(float* acc, i64 ld, const float* s, i64 lds, const float* l, i64 ldl, i64 kn) {
  v8 a0{}, a1{}, b0{}, b1{}, c0{}, c1{}, d0{}, d1{};
  for (i64 k = 0; k < kn; ++k) {
    const v8 x = load8(l + k * ldl), y = load8(l + k * ldl + 8);
    const float* sk = s + k * lds;
    const v8 s0 = splat8(sk[0]), s1 = splat8(sk[1]), s2 = splat8(sk[2]), s3 = splat8(sk[3]);
    a0 += s0 * x, a1 += s0 * y, b0 += s1 * x, b1 += s1 * y;
    c0 += s2 * x, c1 += s2 * y, d0 += s3 * x, d1 += s3 * y;
  }
  add_to8(acc, a0), add_to8(acc + 8, a1), add_to8(acc + ld, b0), add_to8(acc + ld + 8, b1);
  add_to8(acc + 2 * ld, c0), add_to8(acc + 2 * ld + 8, c1), add_to8(acc + 3 * ld, d0), add_to8(acc + 3 * ld + 8, d1);
}

/** acc[p, 0..w) (rows ld apart) += sum over k < kn of s[k, p] * l[k * ldl + 0..w) for p < P4 (a multiple of 4) */
static void stream_rows(float* acc, i64 ld, const float* s, i64 P4, const float* l, i64 ldl, i64 w, i64 kn) {
  const i64 wt = w / 16 * 16;
  for (i64 p = 0; p < P4; p += 4)
    for (i64 q = 0; q < wt; q += 16) stream_tile(acc + p * ld + q, ld, s + p, P4, l + q, ldl, kn);
  for (i64 p = 0; p < P4; ++p)  // columns right of the last full tile: the same arithmetic as a tile lane
    for (i64 q = wt; q < w; ++q) {
      float sum = 0;
      for (i64 k = 0; k < kn; ++k) sum += s[k * P4 + p] * l[k * ldl + q];
      acc[p * ld + q] += sum;
    }
}

/** c[p, q] (or c[q, p] when tout) = sum_k s[k, p] * l[k, q] + beta * c; s is [K, P4] (P rounded up to 4),
 *  l is [K, Q] */
static void stream_k(float* c, const float* s, const float* l, i64 P, i64 Q, i64 K, bool tout, float beta) {
  constexpr i64 kAcc = 4096;  // sums per item (16 KB)
  const i64 P4 = (P + 3) / 4 * 4;
  const i64 nt = threads();
  const i64 qmax = kAcc / P4 / 16 * 16;
  const i64 nblk = std::max((Q + qmax - 1) / qmax, 4 * nt);  // several items per thread
  const i64 qb = std::min(qmax, ((Q + nblk - 1) / nblk + 15) / 16 * 16);
  const i64 blocks = (Q + qb - 1) / qb;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (i64 blk = 0; blk < blocks; ++blk) {
    const i64 q0 = blk * qb;
    const i64 w = std::min(qb, Q - q0);
    alignas(64) float acc[kAcc];
    std::fill(acc, acc + P4 * qb, 0.0f);
    for (i64 k0 = 0; k0 < K; k0 += kChunkK)
      stream_rows(acc, qb, s + k0 * P4, P4, l + k0 * Q + q0, Q, w, std::min(kChunkK, K - k0));
    for (i64 p = 0; p < P; ++p)
      for (i64 q = 0; q < w; ++q) put(tout ? c[(q0 + q) * P + p] : c[p * Q + q0 + q], acc[p * qb + q], beta);
  }
}

bool gemm_skinny(float* c, const float* a, const float* b, i64 M, i64 N, i64 K, bool ta, bool tb, float beta) {
  if (M * N * K < kMinWork || K < kLargeMin || std::max(M, N) < kLargeMin) return false;
  if (N >= kSmallMin && M >= 8 * N) {
    if (!ta && N <= kSmallMax) {  // e.g. u = x A^T, du = dY B: rows of a against the rows of op(b)^T [N, K]
      rows_dot(c, a, padded_rows(b, N, K, !tb), M, N, K, false, beta);
      return true;
    }
    if (ta && N <= kStreamCtMax) {  // e.g. dB = dY^T u: a is [K, M], C^T[N, M] streams over its rows
      stream_k(c, padded_cols(b, K, N, tb), a, N, M, K, true, beta);
      return true;
    }
  }
  if (M >= kSmallMin && M <= kSmallMax && N >= 8 * M && ta) {
    if (!tb) stream_k(c, padded_cols(a, K, M, false), b, M, N, K, false, beta);  // e.g. dA = du^T x
    else rows_dot(c, b, padded_rows(a, M, K, true), N, M, K, true, beta);  // C^T[N, M]: rows of b [N, K]
    return true;
  }
  return false;
}

}  // namespace sh
