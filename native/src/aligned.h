// Cache-line-aligned scratch. A 64-byte vector load that straddles two cache lines costs about two loads, and the
// arrays handed over from JavaScript are only 16-byte aligned (malloc; large ones are mmap'ed at a page + 16), so a
// kernel that loads the same activations many times from L1 (the batched int8 rows: 4-8 loads per weight element
// it widens) runs at about 60% of its aligned speed on them. Such kernels copy their rows into this first.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.h"

namespace sh {

constexpr i64 kLine = 64;

inline bool line_aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % kLine == 0; }

/** A growing buffer of T that starts on a cache line (freed with its owner; meant as a thread_local). */
template <typename T>
class AlignedScratch {
 public:
  AlignedScratch() = default;
  AlignedScratch(const AlignedScratch&) = delete;
  AlignedScratch& operator=(const AlignedScratch&) = delete;
  ~AlignedScratch() { std::free(p_); }

  /** At least n elements (the old contents are not kept when it grows). */
  T* get(i64 n) {
    if (n > cap_) {
      const size_t bytes = (static_cast<size_t>(n) * sizeof(T) + kLine - 1) / kLine * kLine;
      void* p = std::aligned_alloc(kLine, bytes);
      if (!p) {  // as std::vector does when it cannot grow (the addon is built without exceptions)
        std::fputs("shitate: out of memory for a kernel's scratch buffer\n", stderr);
        std::abort();
      }
      std::free(p_);
      p_ = static_cast<T*>(p);
      cap_ = n;
    }
    return p_;
  }

 private:
  T* p_ = nullptr;
  i64 cap_ = 0;
};

/** Rows a[M, K] where every row starts on a cache line: a itself when it does (and K fills whole lines), else a copy
 *  in this thread's scratch with rows of *lda >= K floats. */
inline const float* line_rows(const float* a, i64 M, i64 K, i64* lda) {
  constexpr i64 per_line = kLine / static_cast<i64>(sizeof(float));
  if (line_aligned(a) && K % per_line == 0) {
    *lda = K;
    return a;
  }
  static thread_local AlignedScratch<float> scratch;
  const i64 ld = (K + per_line - 1) / per_line * per_line;
  float* out = scratch.get(M * ld);
  for (i64 m = 0; m < M; ++m) std::memcpy(out + m * ld, a + m * K, static_cast<size_t>(K) * sizeof(float));
  *lda = ld;
  return out;
}

}  // namespace sh
