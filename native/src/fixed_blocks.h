// Rows in fixed blocks for sums over rows kept per block: the blocks depend on the row count alone, so partial sums
// added in block order are the same bits on any thread count (a per-thread partial would follow the threads).
#pragma once
#include <algorithm>

#include "kernels.h"

namespace sh {

/** Rows [0, N) in blocks of at least min_rows, at most max_blocks of them. */
struct FixedBlocks {
  i64 N, per, count;
  FixedBlocks(i64 rows, i64 min_rows, i64 max_blocks)
      : N(rows), per(std::max<i64>(min_rows, (rows + max_blocks - 1) / max_blocks)), count((rows + per - 1) / per) {}

  /** fn(blk, n) for every row n in its block blk: the blocks in parallel (team sized by `work`), a block's rows in
   *  order. */
  template <typename Fn>
  void each_row(i64 work, Fn fn) const {
#pragma omp parallel for num_threads(team_size(work)) schedule(static)
    for (i64 blk = 0; blk < count; ++blk)
      for (i64 n = blk * per; n < std::min(N, (blk + 1) * per); ++n) fn(blk, n);
  }
};

}  // namespace sh
