// Row-stable GEMM for batched decode: c[M, N] = a[M, K] @ w[N, K]^T (+ c), where each output element is one dot
// product summed in a fixed order (8 lanes over k in steps of 8, the lanes added in a fixed tree, then the tail;
// for K <= 16 one chain in k order) that does not depend on M, on the tile it falls in, nor on the thread count.
// A row decoded alone and the same row decoded among others therefore get bit-identical outputs, which BLAS does not
// promise (sgemv for M = 1 and sgemm for M > 1 sum in different orders). Each weight row is read once per call for all M rows: a batched decode step
// streams the weights once instead of once per row.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "aligned.h"
#include "cpu_path.h"
#include "kernels.h"
#include "row_blocks.h"
#include "row_pool.h"
#include "vec8.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#endif

namespace sh {
namespace {


// Sum of the 8 lanes in a fixed order: ((v0 + v4) + (v1 + v5)) + ((v2 + v6) + (v3 + v7)). hsum8x8 computes that tree
// for eight vectors at once with lane shuffles (about a quarter of the instructions of eight separate sums).

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

/** The sum of a[k] * w[k] over k in [from, K), in k order: the tail of a dot product past its last block of 8. One
 *  out-of-line body, so the 8-lane and the 16-lane tiles add their tails with the same instructions (inlined into
 *  kernels of different targets, the compiler did not always). */
__attribute__((noinline)) float tail_dot(const float* a, const float* w, i64 from, i64 K) {
  float tail = 0;
  for (i64 k = from; k < K; ++k) tail += a[k] * w[k];
  return tail;
}

/** The end of an MR x NR tile: each of its 8-lane sums flat[m * NR + j] (zero past MR * NR, to a whole group of 8)
 *  reduced by hsum8x8, plus the dot product's tail past the blocks of 8 ([k0, K)), written to c, or added when beta
 *  is 1, for the first `rows` rows. */
template <int MR, int NR>
inline void store_tile(float* c, i64 ldc, const v8* flat, i64 rows, const float* a, const float* w, i64 k0, i64 K, float beta) {
  constexpr int kGroups = (MR * NR + 7) / 8;
  float sums[kGroups * 8];
  for (int g = 0; g < kGroups; ++g) {
    const v8 r = hsum8x8(flat + 8 * g);
    std::memcpy(sums + 8 * g, &r, sizeof r);
  }
  for (i64 m = 0; m < rows; ++m)
    for (int j = 0; j < NR; ++j) {
      const float v = sums[m * NR + j] + (k0 < K ? tail_dot(a + m * K, w + j * K, k0, K) : 0.0f);
      float& out = c[m * ldc + j];
      out = beta == 0.0f ? v : out + v;
    }
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
  v8 flat[(MR * NR + 7) / 8 * 8] = {};
  for (int m = 0; m < MR; ++m)
    for (int j = 0; j < NR; ++j) flat[m * NR + j] = acc[m][j];
  store_tile<MR, NR>(c, ldc, flat, MR, a, w, k, K, beta);
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

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__FMA__)
#define SH_F32_512 1
#define SH_512F __attribute__((target("avx2,fma,avx512f")))

/** The rows in pairs for the AVX-512 tiles: pair p, block of 8 values kb as 16 floats (row 2p's 8, then row
 *  2p + 1's; zeros for the missing row of an odd M), so one load feeds both halves of a 16-lane vector. */
SH_512F const float* paired(const float* a, i64 M, i64 K) {
  static thread_local AlignedScratch<float> scratch;
  const i64 pairs = (M + 1) / 2, K8 = K / 8;
  float* out = scratch.get(pairs * K8 * 16);
  for (i64 p = 0; p < pairs; ++p)
    for (i64 kb = 0; kb < K8; ++kb) {
      float* dst = out + (p * K8 + kb) * 16;
      std::memcpy(dst, a + 2 * p * K + kb * 8, 8 * sizeof(float));
      if (2 * p + 1 < M) std::memcpy(dst + 8, a + (2 * p + 1) * K + kb * 8, 8 * sizeof(float));
      else std::memset(dst + 8, 0, 8 * sizeof(float));
    }
  return out;
}

/** Rows 2p..2p+2PR (PR pairs, `rows` of them real) against weight rows n..n+NR: each 16-lane accumulator holds
 *  two of tile()'s 8-lane sums (the pair's two rows against one weight row; the weight block broadcast to both
 *  halves), so every lane adds the same products in the same order as tile() (fused multiply-adds over the blocks
 *  of 8, then hsum8x8's tree, then the tail): the same bits as the 8-lane kernel, twice the products per
 *  instruction. */
template <int PR, int NR>
SH_512F inline void tile512(float* c, i64 ldc, const float* pa, i64 rows, const float* a, const float* w, i64 K, float beta,
                            const float* next, i64 pf_lo, i64 pf_hi) {
  __m512 acc[PR][NR];
  // every loop over pairs and weight rows unrolled: left as loops, GCC kept the accumulators on the stack
  #pragma GCC unroll 8
  for (int p = 0; p < PR; ++p)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[p][j] = _mm512_setzero_ps();
  const i64 K8 = K / 8;
  for (i64 kb = 0; kb < K8; ++kb) {
    if (kb >= pf_lo && kb < pf_hi && (kb & 1) == 0)  // this pass's share of the next block's rows, a line per 16 values
      #pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) _mm_prefetch(reinterpret_cast<const char*>(next + j * K + kb * 8), _MM_HINT_T0);
    __m512 x[PR];
    #pragma GCC unroll 8
    for (int p = 0; p < PR; ++p) x[p] = _mm512_loadu_ps(pa + (p * K8 + kb) * 16);
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const __m512 wv = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(w + j * K + kb * 8))));
      #pragma GCC unroll 8
      for (int p = 0; p < PR; ++p) acc[p][j] = _mm512_fmadd_ps(x[p], wv, acc[p][j]);
    }
  }
  v8 flat[(2 * PR * NR + 7) / 8 * 8] = {};
  #pragma GCC unroll 8
  for (int p = 0; p < PR; ++p)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const __m256 lo = _mm512_castps512_ps256(acc[p][j]);
      const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[p][j]), 1));
      std::memcpy(&flat[(2 * p) * NR + j], &lo, sizeof lo);
      std::memcpy(&flat[(2 * p + 1) * NR + j], &hi, sizeof hi);
    }
  store_tile<2 * PR, NR>(c, ldc, flat, rows, a, w, K8 * 8, K, beta);
}

/** Weight rows [lo, hi) against all M rows (paired in pa): blocks of kBlock weight rows, each run through the row
 *  pairs four at a time (8 rows) in tiles of 6 weight rows; 24 accumulators, 10 loads per 24 fused multiply-adds of
 *  16 lanes. The passes over a block prefetch the next block, each a share of it (weights streamed from memory:
 *  M 64 x 1536 x 576 311 -> 329 GFLOP/s; a batched step of 32 rows 7% faster). Each block re-reads all the rows'
 *  pairs from L2, so more than one group of rows takes blocks of 48 (one core, weights from memory: M 64 195 -> 212
 *  GFLOP/s, M 32 160 -> 192, M 16 121 -> 145) and a single group 12 (M 8: 92 against 82 with 48). The block size
 *  changes which tile a sum falls in, never how it is summed. */
template <i64 kBlock>
SH_512F void rows512(float* c, const float* pa, const float* a, const float* w, i64 M, i64 lo, i64 hi, i64 N, i64 K, float beta) {
  constexpr i64 kNR = 6, kPR = 4;
  const i64 pairs = (M + 1) / 2, K8 = K / 8, groups = (pairs + kPR - 1) / kPR;
  for (i64 nb = lo; nb < hi; nb += kBlock) {
    const i64 ne = std::min(hi, nb + kBlock);
    for (i64 p0 = 0; p0 < pairs; p0 += kPR) {
      const i64 np = std::min<i64>(kPR, pairs - p0), rows = std::min<i64>(2 * np, M - 2 * p0);
      const float* pp = pa + p0 * K8 * 16;
      float* cr = c + 2 * p0 * N;
      const float* ar = a + 2 * p0 * K;
      for (i64 n = nb; n < ne; n += kNR) {
        const i64 nr = std::min<i64>(kNR, ne - n);
        // the passes over a block bring the next block's rows into the cache while they compute, each its share
        const bool ahead = n + kBlock + nr <= hi;
        const float* pf = ahead ? w + (n + kBlock) * K : w;
        const i64 pf_lo = ahead ? (p0 / kPR) * K8 / groups : 0, pf_hi = ahead ? (p0 / kPR + 1) * K8 / groups : 0;
        // pairs 1..4 x weight rows 1..6: each combination its own instance (a tile's sums stay in registers)
        switch (np * 8 + nr) {
#define SH_T512(P, R) \
  case P * 8 + R: tile512<P, R>(cr + n, N, pp, rows, ar, w + n * K, K, beta, pf, pf_lo, pf_hi); break;
#define SH_T512_ROW(P) SH_T512(P, 1) SH_T512(P, 2) SH_T512(P, 3) SH_T512(P, 4) SH_T512(P, 5) SH_T512(P, 6)
          SH_T512_ROW(1) SH_T512_ROW(2) SH_T512_ROW(3) SH_T512_ROW(4)
#undef SH_T512_ROW
#undef SH_T512
          default: break;
        }
      }
    }
  }
}

/** Whether the 16-lane tiles run: the CPU has AVX-512F and SHITATE_F32_ROWS is not 'avx2'. */
bool use_512() {
  static const bool yes = fast_path("SHITATE_F32_ROWS", "avx2", [] { return __builtin_cpu_supports("avx512f") != 0; });
  return yes;
}
#else
bool use_512() { return false; }
#endif

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

/** out[k] = column k of the 8 x 8 block r (r[j] = row j): three rounds of two-vector shuffles (unpack, 64-bit
 *  shuffle, 128-bit halves), each one instruction on AVX. */
inline void transpose8(const v8 r[8], v8 out[8]) {
  v8 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = SH_SHUFFLE(r[2 * i], r[2 * i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[2 * i + 1] = SH_SHUFFLE(r[2 * i], r[2 * i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 2; ++i) {  // rows 4i..4i+3: u[4i + c] holds column c of them (and column c + 4 above)
    u[4 * i] = SH_SHUFFLE(t[4 * i], t[4 * i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    u[4 * i + 1] = SH_SHUFFLE(t[4 * i], t[4 * i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    u[4 * i + 2] = SH_SHUFFLE(t[4 * i + 1], t[4 * i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    u[4 * i + 3] = SH_SHUFFLE(t[4 * i + 1], t[4 * i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int c = 0; c < 4; ++c) {
    out[c] = SH_SHUFFLE(u[c], u[4 + c], 0, 1, 2, 3, 8, 9, 10, 11);
    out[c + 4] = SH_SHUFFLE(u[c], u[4 + c], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

/** Columns [n, n + 8) of short_k for rows [m0, m1): w's rows n..n+7 (K values each) transposed into registers once,
 *  zero past N (whole 8 x 8 blocks by shuffles when K is a multiple of 8), then each row's sums: one chain per
 *  element over k in order (x0 w0 + x1 w1 + ...). */
template <int K>
void short_k_cols(float* c, const float* a, const float* w, i64 m0, i64 m1, i64 N, i64 n, float beta) {
  v8 wt[K];
  if (K % 8 == 0 && n + 8 <= N) {
    for (int k0 = 0; k0 < K; k0 += 8) {
      v8 r[8];
      for (int j = 0; j < 8; ++j) r[j] = load8(w + (n + j) * K + k0);
      transpose8(r, wt + k0);
    }
  } else {
    for (int k = 0; k < K; ++k)
      for (int j = 0; j < 8; ++j) wt[k][j] = n + j < N ? w[(n + j) * K + k] : 0.0f;
  }
  for (i64 m = m0; m < m1; ++m) {
    v8 acc = {};
    for (int k = 0; k < K; ++k) {
      const v8 x = v8{} + a[m * K + k];
      acc += x * wt[k];
    }
    store_cols(c + m * N, acc, n, N, beta);
  }
}

#ifdef SH_F32_512
/** short_k_cols for the 32 columns [n, n + 32) (those below N) on AVX-512: the same chains (x0 w0 + x1 w1 + ..., fused
 *  multiply-adds from zero, then written or added to c), two 16-lane sums per row instead of one 8-lane sum per
 *  8 columns, so each row's K broadcasts feed four times the columns. The weights are transposed once for the rows
 *  into a 32-wide block (transpose8 on whole 8 x 8 blocks), kept in registers. */
template <int K>
SH_512F void short_k_cols512(float* c, const float* a, const float* w, i64 m0, i64 m1, i64 N, i64 n, float beta) {
  alignas(64) float wt[K][32];
  const i64 cols = std::min<i64>(32, N - n);
  if (K % 8 == 0 && cols == 32) {
    for (int g = 0; g < 4; ++g)
      for (int k0 = 0; k0 < K; k0 += 8) {
        v8 r[8], t[8];
        for (int j = 0; j < 8; ++j) r[j] = load8(w + (n + 8 * g + j) * K + k0);
        transpose8(r, t);
        for (int k = 0; k < 8; ++k) store8(&wt[k0 + k][8 * g], t[k]);
      }
  } else {
    for (int k = 0; k < K; ++k)
      for (int j = 0; j < 32; ++j) wt[k][j] = j < cols ? w[(n + j) * K + k] : 0.0f;
  }
  __m512 lo[K], hi[K];
  #pragma GCC unroll 16
  for (int k = 0; k < K; ++k) {
    lo[k] = _mm512_load_ps(&wt[k][0]);
    hi[k] = _mm512_load_ps(&wt[k][16]);
  }
  const __mmask16 mlo = cols >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols) - 1);
  const __mmask16 mhi = cols >= 32 ? __mmask16(0xffff) : cols > 16 ? __mmask16((1u << (cols - 16)) - 1) : __mmask16(0);
  for (i64 m = m0; m < m1; ++m) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    #pragma GCC unroll 16
    for (int k = 0; k < K; ++k) {
      const __m512 x = _mm512_set1_ps(a[m * K + k]);
      acc0 = _mm512_fmadd_ps(x, lo[k], acc0);
      acc1 = _mm512_fmadd_ps(x, hi[k], acc1);
    }
    float* cr = c + m * N + n;
    if (beta != 0.0f) {
      acc0 = _mm512_add_ps(_mm512_maskz_loadu_ps(mlo, cr), acc0);
      acc1 = _mm512_add_ps(_mm512_maskz_loadu_ps(mhi, cr + 16), acc1);
    }
    _mm512_mask_storeu_ps(cr, mlo, acc0);
    _mm512_mask_storeu_ps(cr + 16, mhi, acc1);
  }
}
#endif

/** f(std::integral_constant<int, k>{}) for k = K, a LoRA rank of 1 to kShortK (other K: nothing). */
template <typename F>
void with_short_k(i64 K, F&& f) {
  switch (K) {
#define SH_SHORT_K(k) \
  case k: f(std::integral_constant<int, k>{}); break;
    SH_SHORT_K(1) SH_SHORT_K(2) SH_SHORT_K(3) SH_SHORT_K(4) SH_SHORT_K(5) SH_SHORT_K(6) SH_SHORT_K(7) SH_SHORT_K(8)
    SH_SHORT_K(9) SH_SHORT_K(10) SH_SHORT_K(11) SH_SHORT_K(12) SH_SHORT_K(13) SH_SHORT_K(14) SH_SHORT_K(15) SH_SHORT_K(16)
#undef SH_SHORT_K
    default: break;
  }
}

/** c[m, n] (+)= sum over k in order of a[m, k] * w[n, k], for K <= kShortK (the LoRA delta (s u) B^T against the
 *  [N, K] factor as stored): tiles of up to 16 rows x 64 columns split over the pool; in a tile each block of eight
 *  columns (32 on AVX-512) has its weights transposed in registers once for its rows, and the rows' outputs stay
 *  within a few KB. No transposed copy of w per call: M 11 x N 1536 x K 8 6.7 -> 3-4 us, M 1 4.0 -> 1.8; the 32-column
 *  blocks M 151 x 1536 x 8 on one thread 83 -> 31 us (the same bits: each element the same chain of fused
 *  multiply-adds). */
void short_k(float* c, const float* a, const float* w, i64 M, i64 N, i64 K, float beta) {
  constexpr i64 kTileRows = 16, kTileBlocks = 8;
  const i64 blocks = (N + 7) / 8, col_tiles = (blocks + kTileBlocks - 1) / kTileBlocks;
  const i64 row_tiles = (M + kTileRows - 1) / kTileRows;
  [[maybe_unused]] const bool wide = use_512();
  split_rows(row_tiles * col_tiles, M * blocks * 8 * K, [&](i64 lo, i64 hi) {
    with_short_k(K, [&](auto k) {
      constexpr int kK = decltype(k)::value;
      for (i64 t = lo; t < hi; ++t) {
        const i64 m0 = t / col_tiles * kTileRows, m1 = std::min(M, m0 + kTileRows);
        const i64 b0 = t % col_tiles * kTileBlocks, b1 = std::min(blocks, b0 + kTileBlocks);
#ifdef SH_F32_512
        if (wide) {
          for (i64 p = b0; p < b1; p += 4) short_k_cols512<kK>(c, a, w, m0, m1, N, 8 * p, beta);
          continue;
        }
#endif
        for (i64 p = b0; p < b1; ++p) short_k_cols<kK>(c, a, w, m0, m1, N, 8 * p, beta);
      }
    });
  });
}

}  // namespace

const char* f32_rows_path() { return use_512() ? "avx512" : "avx2"; }

void gemm_rows_many(const RowsOut* outs, i64 S, const float* a, i64 M, i64 K, float beta) {
  const i64 total = units_of(outs, S);
  if (M <= 0 || total <= 0) return;
  if (K <= kShortK) {
    for (i64 s = 0; s < S; ++s) if (outs[s].N > 0) short_k(outs[s].c, a, outs[s].w, M, outs[s].N, K, beta);
    return;
  }
  const i64 madds = M * total * K;
  if (M < 4) {  // one to three rows: kNarrow weight rows per tile, enough independent sums to hide the FMA latency
    split_outputs(outs, S, kNarrow, madds, [&](const RowsOut& o, i64 glo, i64 ghi) {
      for (i64 p = glo; p < ghi; ++p) column<kNarrow>(o.c, a, o.w, kNarrow * p, M, o.N, K, beta);
    });
    for (i64 s = 0; s < S; ++s)
      for (i64 n = outs[s].N / kNarrow * kNarrow; n < outs[s].N; ++n) column<1>(outs[s].c, a, outs[s].w, n, M, outs[s].N, K, beta);
    return;
  }
#ifdef SH_F32_512
  if (use_512()) {
    const float* pa = paired(a, M, K);
    // more than one group of 8 rows (prefill chunks, big batches): long blocks, and two chunks per thread, whose
    // first block is read without a prefetch (M 64 x 192 x 576 on 2 threads 173 -> 292 GFLOP/s, 1536 rows 306 -> 340)
    const bool batch = M > 8;
    const auto rows = batch ? rows512<48> : rows512<12>;
    split_outputs(outs, S, 1, madds, [&](const RowsOut& o, i64 lo, i64 hi) { rows(o.c, pa, a, o.w, M, lo, hi, o.N, K, beta); },
                  batch ? 2 : 8);
    return;
  }
#endif
  // tiles of 4 rows x 3 weight rows: 12 sums in registers, 7 loads per 12 multiply-adds
  split_outputs(outs, S, 3, madds, [&](const RowsOut& o, i64 tlo, i64 thi) {
    for (i64 p = tlo; p < thi; ++p) column<3>(o.c, a, o.w, 3 * p, M, o.N, K, beta);
  });
  for (i64 s = 0; s < S; ++s)
    for (i64 n = outs[s].N / 3 * 3; n < outs[s].N; ++n) column<1>(outs[s].c, a, outs[s].w, n, M, outs[s].N, K, beta);
}

void gemm_rows(float* c, const float* a, const float* w, i64 M, i64 N, i64 K, float beta) {
  const RowsOut one{c, w, N};
  gemm_rows_many(&one, 1, a, M, K, beta);
}

/** Multiply-adds of a lora_rows call below which it stays on the calling thread (~20 us of work). */
constexpr i64 kLoraPoolMin = i64(1) << 20;

/** Rows per block of the first product u = x A^T when lora_rows runs over the pool. */
constexpr i64 kLoraBlockRows = 16;

void lora_rows(float* y, const float* x, const float* const* as, const float* const* bs, const float* scales,
               const int32_t* starts, const int32_t* ends, const int32_t* ranks, i64 G, i64 I, i64 O) {
  static thread_local std::vector<float> scratch;
  static thread_local std::vector<i64> offsets;
  // a decode step's deltas run on this thread: their rank-8 products are too small to share (the threads split a
  // handful of weight rows and write the same cache lines of u; 2 groups of 10 rows, 576 -> 1536: 33 -> 15 us a
  // call); a prefill chunk's go over the pool
  i64 madds = 0, blocks = 0, total = 0;
  offsets.assign(static_cast<size_t>(G) + 1, 0);
  for (i64 g = 0; g < G; ++g) {
    const i64 rows = std::max<i64>(0, ends[g] - starts[g]);
    madds += rows * ranks[g] * (I + O);
    blocks += (rows + kLoraBlockRows - 1) / kLoraBlockRows;
    total += rows * ranks[g];
    offsets[static_cast<size_t>(g) + 1] = total;  // where group g + 1's u starts
  }
  if (madds == 0) return;
  const bool here = madds < kLoraPoolMin;
  const OnThisThread on_caller(here);
  if (static_cast<i64>(scratch.size()) < total) scratch.resize(static_cast<size_t>(total));
  float* u = scratch.data();
  const i64* off = offsets.data();  // the lambdas below may run on other threads, whose thread_locals are others
  // u = s (x A^T) for every group, in blocks of rows: the threads share the rows (each block its own lines of u), not
  // A's R rows, which had them write the same lines of u (M 151 x 8 x 576 on two threads: 61 us, on one 12). Row
  // results do not depend on the block a row falls in (gemm_rows is row-stable).
  const auto first = [&](i64 lo, i64 hi) {
    const OnThisThread inner;
    i64 b = 0;
    for (i64 g = 0; g < G && b < hi; ++g) {
      const i64 rows = std::max<i64>(0, ends[g] - starts[g]), R = ranks[g];
      for (i64 r0 = 0; r0 < rows; r0 += kLoraBlockRows, ++b) {
        if (b < lo || b >= hi) continue;
        const i64 n = std::min(kLoraBlockRows, rows - r0);
        float* ub = u + off[g] + r0 * R;
        gemm_rows(ub, x + (starts[g] + r0) * I, as[g], n, R, I, 0.0f);
        const float sg = scales[g];
        for (i64 i = 0; i < n * R; ++i) ub[i] *= sg;  // scale()'s product, without entering a parallel region
      }
    }
  };
  if (here || blocks == 1) first(0, blocks);
  else rows_parallel_for(blocks, 1, [&](i64 lo, i64 hi) { first(lo, hi); });
  // y += (s u) B^T per group: short_k's tiles of rows x columns over the pool
  for (i64 g = 0; g < G; ++g) {
    const i64 rows = ends[g] - starts[g];
    if (rows > 0) gemm_rows(y + starts[g] * O, u + off[g], bs[g], rows, O, ranks[g], 1.0f);
  }
}

}  // namespace sh
