// A small pool for the decode-row kernels (one decode step: ~200 short GEMMs back to back, 20-60 us each). An
// OpenMP team sleeps between regions (passive wait policy, which training needs), and waking it costs about as
// much as such a GEMM; these helpers instead spin for a short while after each job (SHITATE_ROW_SPIN_US) before they
// sleep, so the next projection of the same step finds them awake. Work is handed out in chunks from one atomic
// counter: a helper that wakes late finds the chunks taken and the caller has done them itself, so a sleeping
// helper never holds a call up. Each chunk is computed by exactly one thread with the same code, so results do
// not depend on how the chunks were shared.
#pragma once
#include <cstdint>

#include "common.h"

namespace sh {

/** Calls fn(ctx, lo, hi) over [0, n) in chunks of `chunk` (the last one shorter), on the calling thread and up to
 *  threads() - 1 helpers; returns when every chunk is done. A call made while another thread's call runs (a second
 *  Node worker) runs all its chunks on its own thread. */
void rows_parallel(int64_t n, int64_t chunk, void (*fn)(void* ctx, int64_t lo, int64_t hi), void* ctx);

/** rows_parallel over a lambda or other callable. */
template <typename F>
void rows_parallel_for(int64_t n, int64_t chunk, F&& f) {
  rows_parallel(n, chunk, [](void* c, int64_t lo, int64_t hi) { (*static_cast<F*>(c))(lo, hi); }, &f);
}

/** Multiply-adds from which a decode-row GEMM splits its weight rows over the pool (below, one thread is faster). */
constexpr int64_t kRowPoolMin = int64_t(1) << 16;

/** Open OnThisThread scopes on this thread (see below). */
inline thread_local int on_this_thread = 0;

/** While one lives, split_rows on this thread runs its work here instead of over the pool: for a caller that makes
 *  several calls each too small to share (the LoRA deltas of a step: rank-8 products whose few weight rows the
 *  threads would split between them, writing the same cache lines of the output). */
struct OnThisThread {
  /** Takes effect only when `on` (a caller that decides by the size of its work). */
  explicit OnThisThread(bool on = true) : on_(on) { on_this_thread += on_ ? 1 : 0; }
  ~OnThisThread() { on_this_thread -= on_ ? 1 : 0; }
  OnThisThread(const OnThisThread&) = delete;
  OnThisThread& operator=(const OnThisThread&) = delete;

 private:
  bool on_;
};

/** f(lo, hi) over weight rows [0, n): split over the pool in about `per_thread` chunks per thread (8 by default:
 *  a late helper holds up at most a small chunk) when the call's multiply-adds reach kRowPoolMin, else (or inside an
 *  OnThisThread scope) on the calling thread. */
template <typename F>
void split_rows(int64_t n, int64_t madds, F&& f, int64_t per_thread = 8) {
  if (madds < kRowPoolMin || on_this_thread > 0) return f(int64_t(0), n);
  const int64_t parts = per_thread * static_cast<int64_t>(threads());
  rows_parallel_for(n, (n + parts - 1) / parts, static_cast<F&&>(f));
}

}  // namespace sh
