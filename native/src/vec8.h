// 8-float vectors (GCC/Clang vector extension; AVX when the build enables it, else two SSE halves) and an
// unaligned load and store, for the hand-tiled decode and skinny GEMM kernels. Plain loops left GCC free to keep tile
// sums on the stack or to vectorise across k with permutes (2x slower, measured).
#pragma once
#include <cstdint>
#include <cstring>

// Without AVX GCC notes that passing such vectors changes the ABI: irrelevant for these file-local helpers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace sh {

typedef float v8 __attribute__((vector_size(32)));

/** SH_SHUFFLE(x, y, i0, ..., i7): lanes of the 16 in x then y, as one vector (a two-vector shuffle; the lane indices
 *  are constants). */
#if defined(__clang__)
#define SH_SHUFFLE(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
typedef int32_t i32x8 __attribute__((vector_size(32)));
#define SH_SHUFFLE(x, y, ...) __builtin_shuffle(x, y, i32x8{__VA_ARGS__})
#endif

inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}

inline void store8(float* p, const v8& v) { std::memcpy(p, &v, sizeof v); }  // unaligned store

}  // namespace sh
