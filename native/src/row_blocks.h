// The decode-row kernels keep one template instance per row count (1-8) so a tile's sums stay in registers; this
// walks M rows in blocks of up to 8 and calls f(m0, rows) with rows a compile-time std::integral_constant, so every
// element is summed by the same instance whatever the batch around it.
#pragma once
#include <algorithm>
#include <type_traits>

#include "common.h"
#include "row_pool.h"

namespace sh {

/** f(m0, rows) with rows = n (1 <= n <= Max <= 8) as a std::integral_constant: one instance per row count, so a
 *  tile's sums stay in registers. */
template <int Max = 8, typename F>
inline void with_rows(i64 m0, i64 n, F&& f) {
  static_assert(Max >= 1 && Max <= 8, "blocks of 1 to 8 rows");
  switch (n) {
#define SH_ROW_BLOCK(k) \
  case k:               \
    if constexpr (k <= Max) f(m0, std::integral_constant<int, k>{}); \
    break;
    SH_ROW_BLOCK(1) SH_ROW_BLOCK(2) SH_ROW_BLOCK(3) SH_ROW_BLOCK(4) SH_ROW_BLOCK(5) SH_ROW_BLOCK(6) SH_ROW_BLOCK(7)
    SH_ROW_BLOCK(8)
#undef SH_ROW_BLOCK
    default: break;
  }
}

/** f(m0, rows) over M rows in blocks of up to Max (1-8) rows, rows a std::integral_constant; only instances up to
 *  Max are made (a kernel whose accumulators fill the registers at 4 rows asks for blocks of 4). */
template <int Max = 8, typename F>
inline void for_row_blocks(i64 M, F&& f) {
  for (i64 m0 = 0; m0 < M; m0 += Max) with_rows<Max>(m0, std::min<i64>(Max, M - m0), f);
}

/** for_row_blocks, except that a last block of one or two rows is evened out with the block before it (Max 6, 32
 *  rows: 6+6+6+6+4+4 instead of 6+6+6+6+6+2): a tile of one or two rows loads all its weight blocks for few products.
 *  Which block computes a row does not change its sums. */
template <int Max, typename F>
inline void for_balanced_row_blocks(i64 M, F&& f) {
  const i64 rem = M % Max;
  const i64 whole = M >= Max && (rem == 1 || rem == 2) ? M / Max - 1 : M / Max;
  for (i64 b = 0; b < whole; ++b) with_rows<Max>(Max * b, Max, f);
  const i64 m0 = Max * whole, left = M - m0;
  if (left > Max) {
    with_rows<Max>(m0, left - left / 2, f);
    with_rows<Max>(m0 + left - left / 2, left / 2, f);
  } else if (left > 0) {
    with_rows<Max>(m0, left, f);
  }
}

/** Whole groups of `unit` weight rows in the S outputs of a row kernel called for several weight matrices (Out: an
 *  output record with N, its weight rows); an output's rows past its last whole group are left out. */
template <typename Out>
inline i64 units_of(const Out* outs, i64 S, i64 unit = 1) {
  i64 n = 0;
  for (i64 s = 0; s < S; ++s) n += outs[s].N / unit;
  return n;
}

/** split_rows over the groups of `unit` weight rows of all S outputs, numbered across the outputs in order: one split
 *  of the pool covers them all, and f(out, lo, hi) runs for the part of each chunk that falls in each output, in
 *  that output's own numbering. Which thread computes a group changes no sum. */
template <typename Out, typename F>
void split_outputs(const Out* outs, i64 S, i64 unit, i64 madds, F&& f, i64 per_thread = 8) {
  split_rows(units_of(outs, S, unit), madds, [&](i64 lo, i64 hi) {
    i64 base = 0;
    for (i64 s = 0; s < S && base < hi; ++s) {
      const i64 n = outs[s].N / unit, from = std::max(lo, base), to = std::min(hi, base + n);
      if (from < to) f(outs[s], from - base, to - base);
      base += n;
    }
  }, per_thread);
}

/** Chunks per thread of a decode-row GEMM of at most 8 rows (split_rows). */
constexpr i64 kDecodeChunksPerThread = 2;

/** A decode-row kernel over weight rows [0, N) against M rows, split over the row pool. range(rows, m0, lo, hi)
 *  computes weight rows [lo, hi) for the block of `rows` rows that starts at row m0. Up to 8 rows are one block whose
 *  instance is picked once, outside the loop over weight rows; more go in blocks of 8 per weight row, so each weight
 *  row is read once for all of them (it stays in L1 across its blocks). Either way an element is summed by the
 *  instance of its block, so no result depends on M or on the thread count. */
template <typename Range>
void rows_over_pool(i64 M, i64 N, i64 K, Range&& range) {
  if (M <= 8) {
    // two chunks per thread: memory-bound, each thread streams long runs of weight rows (one decode stream, bf16,
    // SmolLM2-135M shape, 2 cores: 6.6-7.8 -> 5.6-6.4 ms per step against eight chunks per thread)
    for_row_blocks(M, [&](i64, auto rows) {
      split_rows(N, M * N * K, [&](i64 lo, i64 hi) { range(rows, i64(0), lo, hi); }, kDecodeChunksPerThread);
    });
    return;
  }
  split_rows(N, M * N * K, [&](i64 lo, i64 hi) {
    for (i64 n = lo; n < hi; ++n) for_row_blocks(M, [&](i64 m0, auto rows) { range(rows, m0, n, n + 1); });
  });
}

}  // namespace sh
