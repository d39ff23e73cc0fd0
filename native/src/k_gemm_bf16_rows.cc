// Decode-row GEMM against bf16 weights: c[M, N] = r(a)[M, K] @ b16[N, K]^T (+ c) for a few rows (M <= 8: one
// decode step, or a handful of batched ones). The weights stream from memory once per call and dominate the
// time, so this reads each weight row once for all M rows, two bytes per weight: half the bytes of float32.
// oneDNN's bf16 GEMM streams these shapes at ~25 GB/s (2 Zen 5 cores, measured), sgemv in float32 at 25-40;
// this loop at 25-31 GB/s, i.e. about twice as many weights per second as float32.
#include <cstring>
#include <vector>

#include "kernels.h"
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

/** Weights below which a call stays on the calling thread: waking the sleeping OpenMP workers (passive wait
 *  policy, see kernels/native.ts) costs more than it saves on a layer's projection, and on a busy machine far more
 *  (SmolLM2-135M decode, 2 cores under load: 75-83 tok/s single-threaded below 4M weights, 59-71 threaded). The
 *  LM head (28M weights) still splits. */
constexpr i64 kRowsParMin = i64(1) << 22;

template <int M>
void rows_kernel(float* c, const float* ar, const uint16_t* b, i64 N, i64 K, float beta) {
#pragma omp parallel for num_threads(N * K >= kRowsParMin ? threads() : 1) schedule(static)
  for (i64 n = 0; n < N; ++n) row<M>(c, ar, b, n, N, K, beta);
}

}  // namespace

bool gemm_bf16_rows(float* c, const float* a, const uint16_t* b, i64 M, i64 N, i64 K, bool ta, bool tb, float beta) {
  if (ta || !tb || M < 1 || M > 8 || N < 1 || K < 1) return false;
  static thread_local std::vector<float> scratch;
  if (static_cast<i64>(scratch.size()) < M * K) scratch.resize(static_cast<size_t>(M * K));
  // r(a) as floats, rounded once; in each full block of 16 the even-indexed values come first, then the odd ones,
  // matching widen16's halves (the tail past the last full block keeps its order)
  float* ar = scratch.data();
  const i64 K16 = K / 16 * 16;
  for (i64 m = 0; m < M; ++m) {
    const float* src = a + m * K;
    float* dst = ar + m * K;
    for (i64 k = 0; k < K16; k += 16)
      for (int j = 0; j < 8; ++j) dst[k + j] = round_to_bf16(src[k + 2 * j]), dst[k + 8 + j] = round_to_bf16(src[k + 2 * j + 1]);
    for (i64 k = K16; k < K; ++k) dst[k] = round_to_bf16(src[k]);
  }
  switch (M) {
    case 1: rows_kernel<1>(c, ar, b, N, K, beta); break;
    case 2: rows_kernel<2>(c, ar, b, N, K, beta); break;
    case 3: rows_kernel<3>(c, ar, b, N, K, beta); break;
    case 4: rows_kernel<4>(c, ar, b, N, K, beta); break;
    case 5: rows_kernel<5>(c, ar, b, N, K, beta); break;
    case 6: rows_kernel<6>(c, ar, b, N, K, beta); break;
    case 7: rows_kernel<7>(c, ar, b, N, K, beta); break;
    default: rows_kernel<8>(c, ar, b, N, K, beta); break;
  }
  return true;
}

}  // namespace sh
