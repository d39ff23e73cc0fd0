// Decode-row GEMM against bf16 weights: c[M, N] = r(a)[M, K] @ b16[N, K]^T (+ c) for a few rows (M <= 8: one
// decode step, or a handful of batched ones). The weights stream from memory once per call and dominate the
// time, so this reads each weight row once for all M rows, two bytes per weight: half the bytes of float32.
// oneDNN's bf16 GEMM streams these shapes at ~25 GB/s (2 Zen 5 cores, measured), sgemv in float32 at 25-40;
// this loop at 25-31 GB/s, i.e. about twice as many weights per second as float32. gemm_rows_bf16 (batched decode)
// runs the same row sums for any M, in blocks of 8 rows: every element summed in one order (8 lanes over blocks of
// 16, the even- and odd-indexed products of a block added first, a fixed lane tree, then the tail), so a row's
// result does not depend on the rows beside it, nor on the thread count.
// On CPUs with AVX512-BF16 (checked at run time) both take a second path: r(a) stays as bf16 and each 32-value
// block of a row is one dot-pair instruction (vdpbf16ps: 16 lanes, each adding a pair of adjacent products), the
// block past the end zero-padded, the lanes summed in the instruction set's fixed reduction; half the instructions of
// widening the weights to float32 (decode SmolLM2-135M, 2 Zen 4 cores: 96 -> see the bench README). There more than
// one row runs in tiles of four weight rows by six rows (a batched step or a prompt chunk: ~700 GFLOP/s on 2 Zen 5
// cores at 150 rows), each element still summed as a row alone sums it. The numbers
// differ from the AVX2 path in the last bits (another summation order); each path is row-stable on its own.
// SHITATE_BF16_ROWS=widen keeps the AVX2 path on such a CPU.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define SH_DPBF16 1
#endif

#include "aligned.h"
#include "cpu_path.h"
#include "kernels.h"
#include "reduce512.h"
#include "row_blocks.h"
#include "vec8.h"

namespace sh {
namespace {

typedef uint32_t u32x8 __attribute__((vector_size(32)));

/** 16 bf16 values as two float32 vectors (exact): the even-indexed ones (low halves of 8 uint32 words, shifted
 *  up) and the odd-indexed ones (the high halves, masked). Two integer ops instead of a widening shuffle. */
inline void widen16(const uint16_t* p, v8& even, v8& odd) {
  u32x8 w;
  std::memcpy(&w, p, sizeof w);
  const u32x8 e = w << 16, o = w & 0xffff0000u;
  std::memcpy(&even, &e, sizeof even);
  std::memcpy(&odd, &o, sizeof odd);
}

inline float widen1(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float round_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) u |= 0x00400000u;  // NaN stays NaN
  else u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float hsum8(const v8& v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

/** c[m, n] (+)= dot(ar[m, :], b[n, :]) for m < M; each sum in a fixed order. One weight row at a time: each thread
 *  then reads its weights as one sequential stream, which the hardware prefetcher follows best (4 rows interleaved
 *  streamed at 16-19 GB/s per thread, one row at 25-31, measured on Zen 5). */
template <int M>
inline void row(float* c, const float* ar, const uint16_t* b, i64 n, i64 N, i64 K, float beta) {
  v8 acc[M] = {};
  const uint16_t* w = b + n * K;
  i64 k = 0;
  for (; k + 16 <= K; k += 16) {
    v8 we, wo;
    widen16(w + k, we, wo);
    for (int m = 0; m < M; ++m) {
      const v8 xe = load8(ar + m * K + k), xo = load8(ar + m * K + k + 8);  // ar's blocks are split even/odd
      acc[m] += xe * we + xo * wo;
    }
  }
  for (int m = 0; m < M; ++m) {
    float tail = 0;
    for (i64 kk = k; kk < K; ++kk) tail += ar[m * K + kk] * widen1(w[kk]);
    const float v = hsum8(acc[m]) + tail;
    float& out = c[m * N + n];
    out = beta == 0.0f ? v : v + beta * out;
  }
}

/** r(a) [M, K] as floats in scratch, rounded once; in each full block of 16 the even-indexed values come first,
 *  then the odd ones, matching widen16's halves (the tail past the last full block keeps its order). */
const float* arranged(const float* a, i64 M, i64 K) {
  static thread_local AlignedScratch<float> scratch;
  float* ar = scratch.get(M * K);
  const i64 K16 = K / 16 * 16;
  for (i64 m = 0; m < M; ++m) {
    const float* src = a + m * K;
    float* dst = ar + m * K;
    for (i64 k = 0; k < K16; k += 16)
      for (int j = 0; j < 8; ++j) dst[k + j] = round_to_bf16(src[k + 2 * j]), dst[k + 8 + j] = round_to_bf16(src[k + 2 * j + 1]);
    for (i64 k = K16; k < K; ++k) dst[k] = round_to_bf16(src[k]);
  }
  return ar;
}

/** Weight rows [lo, hi) against a block of Mb rows (r(a) arranged for widen16). */
template <int Mb>
void widen_range(float* c, const float* ar, const uint16_t* b, i64 lo, i64 hi, i64 N, i64 K, float beta) {
  for (i64 n = lo; n < hi; ++n) row<Mb>(c, ar, b, n, N, K, beta);
}

#ifdef SH_DPBF16
#define SH_DP_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/** r(a) [M, K] as bf16 bits in scratch (nearest even, NaN kept quiet), in k order: vdpbf16ps pairs adjacent values.
 *  Sixteen values per step with integer ops, the same bits as round_to_bf16. */
SH_DP_TARGET const uint16_t* rounded16(const float* a, i64 M, i64 K) {
  static thread_local AlignedScratch<uint16_t> scratch;
  const i64 n = M * K;
  uint16_t* out = scratch.get(n);
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff), quiet = _mm512_set1_epi32(0x00400000);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  i64 i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i u = _mm512_loadu_si512(a + i);
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs_mask), inf);  // both sides < 2^31: signed ok
    const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
    const __m512i v = _mm512_mask_or_epi32(r, nan, u, quiet);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16)));
  }
  for (; i < n; ++i) {
    const float r = round_to_bf16(a[i]);
    uint32_t u;
    std::memcpy(&u, &r, 4);
    out[i] = static_cast<uint16_t>(u >> 16);
  }
  return out;
}

/** c[m, n] (+)= dot(a16[m, :], b[n, :]) for m < M with dot-pair instructions: 16 lanes over blocks of 32 (the last
 *  block zero-padded by a masked load), then the 16 lanes reduced. */
template <int M>
SH_DP_TARGET inline void row_dp(float* c, const uint16_t* a16, const uint16_t* b, i64 n, i64 N, i64 K, float beta) {
  __m512 acc[M];
  #pragma GCC unroll 8
  for (int m = 0; m < M; ++m) acc[m] = _mm512_setzero_ps();
  const uint16_t* w = b + n * K;
  i64 k = 0;
  for (; k + 32 <= K; k += 32) {
    const __m512bh wv = (__m512bh)_mm512_loadu_si512(w + k);
    #pragma GCC unroll 8
    for (int m = 0; m < M; ++m) acc[m] = _mm512_dpbf16_ps(acc[m], (__m512bh)_mm512_loadu_si512(a16 + m * K + k), wv);
  }
  if (k < K) {
    const __mmask32 mask = _cvtu32_mask32((1u << (K - k)) - 1u);
    const __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(mask, w + k);
    #pragma GCC unroll 8
    for (int m = 0; m < M; ++m) acc[m] = _mm512_dpbf16_ps(acc[m], (__m512bh)_mm512_maskz_loadu_epi16(mask, a16 + m * K + k), wv);
  }
  #pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
    const float v = _mm512_reduce_add_ps(acc[m]);
    float& out = c[m * N + n];
    out = beta == 0.0f ? v : std::fma(beta, out, v);  // as tile_dp's vector fused multiply-add
  }
}

/** Weight rows n..n+3 against rows 0..R-1 of a16 (R <= 6: 24 accumulators, 4 weight blocks and one activation
 *  block in the 32 registers): every weight block loaded once for R rows, every activation block once for 4 weight
 *  rows. Each element is summed as row_dp sums it (its own accumulator, blocks in k order, the same masked last
 *  block and the same reduction), so the result is the same bit for bit. */
template <int R>
SH_DP_TARGET inline void tile_dp(float* c, const uint16_t* a16, const uint16_t* w, i64 N, i64 K, float beta) {
  __m512 acc[R][4];
  // every loop over rows and weight rows unrolled: left as loops, GCC kept the 24 accumulators on the stack around
  // the main loop (zeroed, stored and reloaded per tile: 12-18% of a batch)
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_ps();
  i64 k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh v[4];
    #pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) v[j] = (__m512bh)_mm512_loadu_si512(w + j * K + k);
    #pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512bh x = (__m512bh)_mm512_loadu_si512(a16 + r * K + k);
      #pragma GCC unroll 8
      for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], x, v[j]);
    }
  }
  if (k < K) {
    const __mmask32 mask = _cvtu32_mask32((1u << (K - k)) - 1u);
    __m512bh v[4];
    #pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) v[j] = (__m512bh)_mm512_maskz_loadu_epi16(mask, w + j * K + k);
    #pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512bh x = (__m512bh)_mm512_maskz_loadu_epi16(mask, a16 + r * K + k);
      #pragma GCC unroll 8
      for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], x, v[j]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m128 v = reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
    float* out = c + r * N;
    _mm_storeu_ps(out, beta == 0.0f ? v : _mm_fmadd_ps(_mm_set1_ps(beta), _mm_loadu_ps(out), v));
  }
}

/** Weight rows [lo, hi) against all M rows, in blocks of 16 weight rows (18 KB at K 576, kept in L1): each block
 *  runs through the M rows six at a time, four weight rows per tile, while the next block is prefetched during the
 *  first six rows (memory does not come by itself fast enough at small M). Weight rows past the last multiple of
 *  four go one at a time. Single thread, M 144 x N 1536 x K 576: 197 -> 370 GFLOP/s against two weight rows per
 *  pass over blocks of 8 rows (whose activation loads came from L2 for every pair, and whose reductions took a
 *  third of the time at K 576). More than one group of six rows takes blocks of 32 (see dp_rows). */
template <i64 kBlock>
SH_DP_TARGET void dp_many(float* c, const uint16_t* a16, const uint16_t* b, i64 M, i64 lo, i64 hi, i64 N, i64 K, float beta) {
  const i64 n4 = lo + (hi - lo) / 4 * 4;
  for (i64 nb = lo; nb < n4; nb += kBlock) {
    const i64 ne = std::min(n4, nb + kBlock);
    for_balanced_row_blocks<6>(M, [&](i64 m0, auto rows) {
      for (i64 n = nb; n < ne; n += 4) {
        if (m0 == 0 && n + kBlock + 4 <= n4) {
          const char* next = reinterpret_cast<const char*>(b + (n + kBlock) * K);
          for (i64 off = 0; off < 4 * K * 2; off += 64) _mm_prefetch(next + off, _MM_HINT_T0);
        }
        tile_dp<decltype(rows)::value>(c + m0 * N + n, a16 + m0 * K, b + n * K, N, K, beta);
      }
    });
  }
  for (i64 n = n4; n < hi; ++n)
    for_row_blocks(M, [&](i64 m0, auto rows) { row_dp<decltype(rows)::value>(c + m0 * N, a16 + m0 * K, b, n, N, K, beta); });
}

/** Weight rows [lo, hi) against a block of Mb rows with dot-pair instructions (the rows inline: same target). */
template <int Mb>
SH_DP_TARGET void dp_range(float* c, const uint16_t* a16, const uint16_t* b, i64 lo, i64 hi, i64 N, i64 K, float beta) {
  constexpr i64 kAhead = 4;  // weight rows fetched ahead: one thread streams 29 -> 41 GB/s (Zen 5, K 576)
  for (i64 n = lo; n < hi; ++n) {
    if (n + kAhead < hi) {
      const char* next = reinterpret_cast<const char*>(b + (n + kAhead) * K);
      for (i64 off = 0; off < K * 2; off += 64) _mm_prefetch(next + off, _MM_HINT_T0);
    }
    row_dp<Mb>(c, a16, b, n, N, K, beta);
  }
}

/** Whether the dot-pair path runs: the CPU has AVX512-BF16 and SHITATE_BF16_ROWS is not 'widen'. */
bool use_dp() {
  static const bool yes = fast_path("SHITATE_BF16_ROWS", "widen", [] {
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
  });
  return yes;
}

/** The dot-pair path for any M (decode rows and batched decode alike); one row streams its weight rows one at a
 *  time (a single stream, prefetched ahead, in two long runs per thread), more go in tiles (dp_many). */
void dp_rows(const RowsOut16* outs, i64 S, i64 total, const float* a, i64 M, i64 K, float beta) {
  const uint16_t* a16 = rounded16(a, M, K);
  const i64 madds = M * total * K;
  // more than one group of six rows (batched decode, prefill chunks): blocks of 32 weight rows and two chunks per
  // thread, as the float32 rows (alternating runs, 2 threads, M 32 at N 192-1536: about 8% more GFLOP/s)
  if (M > 1) {
    const bool batch = M > 6;
    const auto many = batch ? dp_many<32> : dp_many<16>;
    return split_outputs(outs, S, 1, madds, [&](const RowsOut16& o, i64 lo, i64 hi) { many(o.c, a16, o.w, M, lo, hi, o.N, K, beta); },
                         batch ? 2 : 8);
  }
  // one row: long runs of weight rows per thread (memory-bound), as rows_over_pool runs a single block
  split_outputs(outs, S, 1, madds, [&](const RowsOut16& o, i64 lo, i64 hi) { dp_range<1>(o.c, a16, o.w, lo, hi, o.N, K, beta); },
                kDecodeChunksPerThread);
}
#else
bool use_dp() { return false; }
void dp_rows(const RowsOut16*, i64, i64, const float*, i64, i64, float) {}
#endif

}  // namespace

bool gemm_bf16_rows(float* c, const float* a, const uint16_t* b, i64 M, i64 N, i64 K, bool ta, bool tb, float beta) {
  if (ta || !tb || M < 1 || M > 8 || N < 1 || K < 1) return false;
  gemm_rows_bf16(c, a, b, M, N, K, beta);  // one block of rows: the same sums as batched decode
  return true;
}

const char* bf16_rows_path() { return use_dp() ? "avx512-bf16" : "widen"; }

void gemm_rows_bf16_many(const RowsOut16* outs, i64 S, const float* a, i64 M, i64 K, float beta) {
  const i64 total = units_of(outs, S);
  if (M <= 0 || total <= 0) return;
  if (K <= 0) {
    if (beta == 0.0f) for (i64 s = 0; s < S; ++s) std::fill(outs[s].c, outs[s].c + M * outs[s].N, 0.0f);
    return;
  }
  if (use_dp()) return dp_rows(outs, S, total, a, M, K, beta);
  const float* ar = arranged(a, M, K);
  for (i64 s = 0; s < S; ++s) {
    const RowsOut16& o = outs[s];
    rows_over_pool(M, o.N, K, [&](auto rows, i64 m0, i64 lo, i64 hi) {
      widen_range<decltype(rows)::value>(o.c + m0 * o.N, ar + m0 * K, o.w, lo, hi, o.N, K, beta);
    });
  }
}

void gemm_rows_bf16(float* c, const float* a, const uint16_t* b, i64 M, i64 N, i64 K, float beta) {
  const RowsOut16 one{c, b, N};
  gemm_rows_bf16_many(&one, 1, a, M, K, beta);
}

}  // namespace sh
