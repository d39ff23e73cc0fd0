// 8-float vectors (GCC/Clang vector extension; AVX when the build enables it, else two SSE halves) and an
// unaligned load and store, for the hand-tiled decode and skinny GEMM kernels. Plain loops left GCC free to keep tile
// sums on the stack or to vectorise across k with permutes (2x slower, measured).
#pragma once
#include <cstring>

// Without AVX GCC notes that passing such vectors changes the ABI: irrelevant for these file-local helpers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace sh {

typedef float v8 __attribute__((vector_size(32)));

inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}

inline void store8(float* p, const v8& v) { std::memcpy(p, &v, sizeof v); }  // unaligned store

}  // namespace sh
