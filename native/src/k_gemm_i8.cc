// GEMM against int8 weights with one float32 scale per output row (symmetric, per-channel: w[n, k] = scale[n] *
// q[n, k]): c[M, N] = a[M, K] @ w^T (+ c). Activations stay float32. Decode (M <= 8) is memory-bound: each weight
// row streams once for all M rows at one byte per weight, a quarter of float32's bytes and half of bf16's; the
// sum over k is taken on the integers' exact float values and scaled once at the end. More rows (prefill) widen
// a block of weight rows to float32 (q * scale, the same values) and multiply them on sgemm. gemm_rows_i8 (batched
// decode) runs the decode-row sums for any M: every element summed in one order (two 8-lane accumulators over
// alternate blocks of 8, added lane-wise, a fixed lane tree, then the tail), so a row's result does not depend on
// the rows beside it. On CPUs with AVX-512 (checked at run time) both run a second kernel that widens 16 int8 weights
// per instruction into two 16-lane accumulators (the last block masked), the lanes then reduced in the instruction
// set's fixed order: about 1.5x the AVX2 kernel, which is compute-bound here (widening, not memory, limits it). Each
// path is row-stable on its own; their sums differ in the last bits. SHITATE_I8_ROWS=avx2 keeps the AVX2 path.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__AVX2__) || (defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__))
#include <immintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SH_I8_512 1
#define SH_512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))
#endif

#include "aligned.h"
#include "gemm_backend.h"
#include "cpu_path.h"
#include "kernels.h"
#include "reduce512.h"
#include "row_blocks.h"
#include "vec8.h"

namespace sh {
namespace {

/** 8 int8 weights as floats (exact): sign-extend to int32, convert (GCC scalarises a generic vector conversion). */
inline v8 widen8(const int8_t* p) {
#ifdef __AVX2__
  const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  v8 r;
  std::memcpy(&r, &f, sizeof r);
  return r;
#else
  v8 r;
  for (int j = 0; j < 8; ++j) r[j] = static_cast<float>(p[j]);
  return r;
#endif
}

inline float hsum8(const v8& v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

/** c[m, n] (+)= scale[n] * dot(a[m, :], q[n, :]) for m < M: one weight row, read once, two accumulators per row. */
template <int M>
inline void row(float* c, const float* a, const int8_t* q, const float* scale, i64 n, i64 N, i64 K, float beta) {
  v8 acc0[M] = {}, acc1[M] = {};
  const int8_t* w = q + n * K;
  i64 k = 0;
  for (; k + 16 <= K; k += 16) {
    const v8 w0 = widen8(w + k), w1 = widen8(w + k + 8);
    #pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      acc0[m] += load8(a + m * K + k) * w0;
      acc1[m] += load8(a + m * K + k + 8) * w1;
    }
  }
  #pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
    float tail = 0;
    for (i64 kk = k; kk < K; ++kk) tail += a[m * K + kk] * static_cast<float>(w[kk]);
    const float v = (hsum8(acc0[m] + acc1[m]) + tail) * scale[n];
    float& out = c[m * N + n];
    out = beta == 0.0f ? v : v + out;
  }
}

#ifdef SH_I8_512
/** 16 int8 weights as float32 (exact). */
SH_512_TARGET inline __m512 widen16(const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

/** The int8 weights under `mask` (of 16) as float32, zero elsewhere. */
SH_512_TARGET inline __m512 widen16_masked(__mmask16 mask, const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, p)));
}

/** row<M> on AVX-512: 32 int8 weights per step widened into two 16-lane accumulators per row, the tail masked. */
template <int M>
SH_512_TARGET inline void row512(float* c, const float* a, i64 lda, const int8_t* q, const float* scale, i64 n, i64 N, i64 K,
                                 float beta) {
  __m512 acc0[M], acc1[M];
  #pragma GCC unroll 8
  for (int m = 0; m < M; ++m) acc0[m] = acc1[m] = _mm512_setzero_ps();
  const int8_t* w = q + n * K;
  i64 k = 0;
  for (; k + 32 <= K; k += 32) {
    const __m512 w0 = widen16(w + k), w1 = widen16(w + k + 16);
    #pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      acc0[m] = _mm512_fmadd_ps(_mm512_loadu_ps(a + m * lda + k), w0, acc0[m]);
      acc1[m] = _mm512_fmadd_ps(_mm512_loadu_ps(a + m * lda + k + 16), w1, acc1[m]);
    }
  }
  for (; k < K; k += 16) {  // the last one or two blocks of at most 16, zero-padded
    const i64 rem = std::min<i64>(16, K - k);
    const __mmask16 mask = static_cast<__mmask16>((1u << rem) - 1u);
    const __m512 wv = widen16_masked(mask, w + k);
    #pragma GCC unroll 8
    for (int m = 0; m < M; ++m) acc0[m] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + m * lda + k), wv, acc0[m]);
  }
  #pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
    // the scaling as an intrinsic: a plain product could be fused into the accumulating add (one rounding less than
    // the overwrite, so accumulating would not equal adding the overwritten result)
    const float v = _mm_cvtss_f32(_mm_mul_ss(_mm_set_ss(_mm512_reduce_add_ps(_mm512_add_ps(acc0[m], acc1[m]))), _mm_set_ss(scale[n])));
    float& out = c[m * N + n];
    out = beta == 0.0f ? v : v + out;
  }
}

/** row512<M> for weight rows n and n + 1 at once (each activation block loaded once for both); every element summed
 *  exactly as row512 sums it, so the results are the same bit for bit. */
template <int M>
SH_512_TARGET inline void row512x2(float* c, const float* a, i64 lda, const int8_t* q, const float* scale, i64 n, i64 N, i64 K,
                                   float beta) {
  __m512 acc0[M], acc1[M], acc2[M], acc3[M];
  // every loop over rows unrolled: left as loops, GCC zeroed the accumulators on the stack (rep stos) and kept them there
  // around the main loop
  #pragma GCC unroll 8
  for (int m = 0; m < M; ++m) acc0[m] = acc1[m] = acc2[m] = acc3[m] = _mm512_setzero_ps();
  const int8_t* w = q + n * K;
  const int8_t* x = w + K;
  i64 k = 0;
  for (; k + 32 <= K; k += 32) {
    const __m512 w0 = widen16(w + k), w1 = widen16(w + k + 16), x0 = widen16(x + k), x1 = widen16(x + k + 16);
    #pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      const __m512 lo = _mm512_loadu_ps(a + m * lda + k), hi = _mm512_loadu_ps(a + m * lda + k + 16);
      acc0[m] = _mm512_fmadd_ps(lo, w0, acc0[m]);
      acc1[m] = _mm512_fmadd_ps(hi, w1, acc1[m]);
      acc2[m] = _mm512_fmadd_ps(lo, x0, acc2[m]);
      acc3[m] = _mm512_fmadd_ps(hi, x1, acc3[m]);
    }
  }
  for (; k < K; k += 16) {
    const i64 rem = std::min<i64>(16, K - k);
    const __mmask16 mask = static_cast<__mmask16>((1u << rem) - 1u);
    const __m512 wv = widen16_masked(mask, w + k), xv = widen16_masked(mask, x + k);
    #pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      const __m512 av = _mm512_maskz_loadu_ps(mask, a + m * lda + k);
      acc0[m] = _mm512_fmadd_ps(av, wv, acc0[m]);
      acc2[m] = _mm512_fmadd_ps(av, xv, acc2[m]);
    }
  }
  // two rows' four sums per reduce4 (each reduced as _mm512_reduce_add_ps would), times [scale n, scale n + 1] twice
  const __m128 sc = _mm_setr_ps(scale[n], scale[n + 1], scale[n], scale[n + 1]);
  #pragma GCC unroll 8
  for (int m = 0; m < M; m += 2) {
    const bool two = m + 1 < M;
    const __m512 z = _mm512_setzero_ps();
    const __m128 v = _mm_mul_ps(reduce4(_mm512_add_ps(acc0[m], acc1[m]), _mm512_add_ps(acc2[m], acc3[m]),
                                        two ? _mm512_add_ps(acc0[m + 1], acc1[m + 1]) : z,
                                        two ? _mm512_add_ps(acc2[m + 1], acc3[m + 1]) : z), sc);
    float r[4];
    _mm_storeu_ps(r, v);
    for (int i = 0; i < (two ? 2 : 1); ++i) {
      float* out = c + (m + i) * N + n;
      out[0] = beta == 0.0f ? r[2 * i] : r[2 * i] + out[0];
      out[1] = beta == 0.0f ? r[2 * i + 1] : r[2 * i + 1] + out[1];
    }
  }
}

/** Weight rows [lo, hi) against all M rows on AVX-512, in blocks of kBlock weight rows (int8, kept in L1; the next
 *  block prefetched during the first rows), each run through the rows four at a time, two weight rows per tile (the
 *  accumulators of 2 x 4 rows fill the registers); a last odd weight row alone. More than one block of rows takes
 *  blocks of 16 weight rows, so a block of rows' activations stays in L1 for eight pairs instead of being read
 *  again from L2 for each (one thread, K 576: M 32 60 -> 78 GFLOP/s with the tiles' accumulators kept in
 *  registers); up to 4 rows go pair by pair. */
template <i64 kBlock>
SH_512_TARGET void many512(float* c, const float* a, i64 lda, const int8_t* q, const float* scale, i64 M, i64 lo, i64 hi, i64 N,
                           i64 K, float beta) {
  const i64 pairs_end = lo + (hi - lo) / 2 * 2;
  for (i64 nb = lo; nb < pairs_end; nb += kBlock) {
    const i64 ne = std::min(pairs_end, nb + kBlock);
    if (ne + kBlock <= pairs_end)
      for (i64 off = 0; off < kBlock * K; off += 64) _mm_prefetch(reinterpret_cast<const char*>(q + ne * K) + off, _MM_HINT_T0);
    for_row_blocks<4>(M, [&](i64 m0, auto rows) {
      for (i64 n = nb; n < ne; n += 2) row512x2<decltype(rows)::value>(c + m0 * N, a + m0 * lda, lda, q, scale, n, N, K, beta);
    });
  }
  if (pairs_end < hi) for_row_blocks(M, [&](i64 m0, auto rows) { row512<decltype(rows)::value>(c + m0 * N, a + m0 * lda, lda, q, scale, pairs_end, N, K, beta); });
}

/** Weight rows [lo, hi) against a block of Mb rows on AVX-512 (the rows inline: same target). */
template <int Mb>
SH_512_TARGET void range512(float* c, const float* a, i64 lda, const int8_t* q, const float* scale, i64 lo, i64 hi, i64 N, i64 K,
                            float beta) {
  for (i64 n = lo; n < hi; ++n) row512<Mb>(c, a, lda, q, scale, n, N, K, beta);
}

/** Whether the AVX-512 rows run: the CPU has AVX-512 F/BW/VL and SHITATE_I8_ROWS is not 'avx2'. */
bool use_512() {
  static const bool yes = fast_path("SHITATE_I8_ROWS", "avx2", [] {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  });
  return yes;
}
#else
bool use_512() { return false; }
template <int Mb>
void range512(float*, const float*, i64, const int8_t*, const float*, i64, i64, i64, i64, float) {}
template <i64 kBlock>
void many512(float*, const float*, i64, const int8_t*, const float*, i64, i64, i64, i64, i64, float) {}
#endif

/** Weight rows [lo, hi) against a block of Mb rows (AVX2). */
template <int Mb>
void avx2_range(float* c, const float* a, const int8_t* q, const float* scale, i64 lo, i64 hi, i64 N, i64 K, float beta) {
  for (i64 n = lo; n < hi; ++n) row<Mb>(c, a, q, scale, n, N, K, beta);
}

/** Weights below which quantizing or widening stays on the calling thread (waking the OpenMP workers costs more). */
constexpr i64 kRowsParMin = i64(1) << 22;

/** Weight rows widened per sgemm call in prefill: a block of at most ~4 MB of float32. */
i64 block_rows(i64 K) { return std::max<i64>(16, (i64(1) << 20) / std::max<i64>(1, K)); }

}  // namespace

void quantize_rows_i8(int8_t* q, float* scale, const float* w, i64 rows, i64 cols) {
#pragma omp parallel for num_threads(rows * cols >= kRowsParMin ? threads() : 1) schedule(static)
  for (i64 r = 0; r < rows; ++r) {
    const float* src = w + r * cols;
    int8_t* dst = q + r * cols;
    float amax = 0;
    for (i64 k = 0; k < cols; ++k) amax = std::max(amax, std::fabs(src[k]));
    // in double, then rounded once, as the reference does (kernels/ref/gemm.ts)
    const float s = static_cast<float>(static_cast<double>(amax) / 127.0);
    scale[r] = s;
    if (s == 0.0f) {
      std::fill(dst, dst + cols, int8_t{0});
      continue;
    }
    for (i64 k = 0; k < cols; ++k) {
      const double v = static_cast<double>(src[k]) / static_cast<double>(s);
      const double m = std::min(127.0, std::floor(std::fabs(v) + 0.5));  // half away from zero
      dst[k] = static_cast<int8_t>(v < 0 ? -m : m);
    }
  }
}

const char* i8_rows_path() { return use_512() ? "avx512" : "avx2"; }

void gemm_rows_i8_many(const RowsOutI8* outs, i64 S, const float* a, i64 M, i64 K, float beta) {
  const i64 total = units_of(outs, S);
  if (M <= 0 || total <= 0) return;
  const bool wide = use_512();
  if (!wide) {  // AVX2: one output at a time
    for (i64 s = 0; s < S; ++s) {
      const RowsOutI8& o = outs[s];
      rows_over_pool(M, o.N, K, [&](auto rows, i64 m0, i64 lo, i64 hi) {
        avx2_range<decltype(rows)::value>(o.c + m0 * o.N, a + m0 * K, o.q, o.scale, lo, hi, o.N, K, beta);
      });
    }
    return;
  }
  const i64 madds = M * total * K;
  // every row on a cache line: each activation is loaded once per pair of weight rows, and loads that straddle two
  // lines made the tiles ~1.7x slower (one thread, M 32 x 1536 x 576: 81 -> 139 GFLOP/s; one row 64 -> 85)
  i64 lda = K;
  const float* al = line_rows(a, M, K, &lda);
  if (M > 1) {  // more than four rows in blocks of 16 weight rows, up to four pair by pair
    const auto many = M > 4 ? many512<16> : many512<2>;
    return split_outputs(outs, S, 1, madds, [&](const RowsOutI8& o, i64 lo, i64 hi) { many(o.c, al, lda, o.q, o.scale, M, lo, hi, o.N, K, beta); });
  }
  // one row: long runs of weight rows per thread, as rows_over_pool runs a single block
  split_outputs(outs, S, 1, madds, [&](const RowsOutI8& o, i64 lo, i64 hi) { range512<1>(o.c, al, lda, o.q, o.scale, lo, hi, o.N, K, beta); },
                kDecodeChunksPerThread);
}

void gemm_rows_i8(float* c, const float* a, const int8_t* q, const float* scale, i64 M, i64 N, i64 K, float beta) {
  const RowsOutI8 one{c, q, scale, N};
  gemm_rows_i8_many(&one, 1, a, M, K, beta);
}

void gemm_i8(float* c, const float* a, const int8_t* q, const float* scale, i64 M, i64 N, i64 K, float beta) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (beta == 0.0f) std::fill(c, c + M * N, 0.0f);
    return;
  }
  if (M <= 8) return gemm_rows_i8(c, a, q, scale, M, N, K, beta);  // decode rows: one block, the batched sums
  static thread_local std::vector<float> wide;
  const i64 NB = std::min(N, block_rows(K));
  if (static_cast<i64>(wide.size()) < NB * K) wide.resize(static_cast<size_t>(NB * K));
  for (i64 n0 = 0; n0 < N; n0 += NB) {
    const i64 nb = std::min(NB, N - n0);
    float* w = wide.data();
#pragma omp parallel for num_threads(nb * K >= kRowsParMin ? threads() : 1) schedule(static)
    for (i64 r = 0; r < nb; ++r) {
      const int8_t* src = q + (n0 + r) * K;
      const float s = scale[n0 + r];
      float* dst = w + r * K;
      for (i64 k = 0; k < K; ++k) dst[k] = static_cast<float>(src[k]) * s;
    }
    // c[:, n0:n0+nb] (+)= a @ w_block^T
    sgemm_rm(false, true, M, nb, K, 1.0f, a, K, w, K, beta, c + n0, N);
  }
}

}  // namespace sh
