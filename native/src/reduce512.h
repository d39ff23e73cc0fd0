// Reductions of 16-lane float32 accumulators shared by the AVX-512 row kernels (bf16 and int8 weights): several
// accumulators reduced at once, each bit for bit as _mm512_reduce_add_ps reduces it alone.
#pragma once
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

namespace sh {

/** The sums of four accumulators, each reduced in _mm512_reduce_add_ps's order (the 256-bit halves added, then the
 *  128-bit quarters, then lanes 2 apart, then the last two), so bit for bit four reduce_add calls: lanes 0, 4, 8
 *  and 12 of the tree, gathered into the four lanes of the result. Four sums for 13 instructions instead of ~32. */
__attribute__((target("avx512f"))) inline __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
  const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xee));
  __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xdd));
  u = _mm512_add_ps(u, _mm512_permute_ps(u, 0x4e));
  u = _mm512_add_ps(u, _mm512_permute_ps(u, 0xb1));
  return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), u));
}

}  // namespace sh
#endif
