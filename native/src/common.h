// Shared helpers for the native kernels: thread count, OpenMP loop macro, vectorisable dot/axpy.
// Legend: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, N rows, V vocab.
#pragma once
#include <cstddef>
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace sh {

using i64 = int64_t;

/** Threads the kernels use (SHITATE_THREADS, default all cores); set by setThreads. */
int threads();
void set_threads(int n);

/** Below this much work (elements touched) a loop stays on one thread: waking a team costs ~µs. */
constexpr i64 kParMin = 1 << 15;

/** RAII: OpenBLAS single-threaded while our own OpenMP team calls sgemm from several threads at once. */
struct BlasSingleThread {
  BlasSingleThread();
  ~BlasSingleThread();
};

/** Dot product with 16 independent partial sums: GCC vectorises it without -ffast-math (two FMA chains),
 *  and the summation order is fixed, so the same inputs always give the same bits (forward and backward
 *  agree). */
inline float dot(const float* a, const float* b, i64 n) {
  float acc[16] = {};
  i64 i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += a[i + l] * b[i + l];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  float t[4];
  for (int l = 0; l < 4; ++l) t[l] = (acc[l] + acc[l + 4]) + (acc[l + 8] + acc[l + 12]);
  return ((t[0] + t[1]) + (t[2] + t[3])) + tail;
}

/** OpenMP thread number inside a parallel region (0 without OpenMP). */
inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/** Number of threads in the current parallel region (1 without OpenMP). */
inline int team_threads() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

/** Threads a parallel region over `work` elements will request. */
inline int team_size(i64 work) { return work >= kParMin ? threads() : 1; }

/** y += alpha * x */
inline void axpy(float* __restrict y, const float* __restrict x, float alpha, i64 n) {
  for (i64 i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace sh

#define SH_PRAGMA(x) _Pragma(#x)
/** Parallel-for over independent iterations, threaded only when `work` (elements touched) is large. */
#define SH_PARALLEL_FOR(work) \
  SH_PRAGMA(omp parallel for num_threads(sh::threads()) if ((work) >= sh::kParMin) schedule(static))
