// Selection over one row of logits for the sampler (src/generate/sampler.ts): the top-k survivors and the greedy
// argmax. A row of a large vocabulary (49,152 for SmolLM2, 151,936 for Qwen) is read once; almost every value is
// turned away by one compare against the smallest kept value, sixteen at a time, so a call costs a few
// microseconds where the TypeScript loops took 70-200 (per row and token: a served step samples every row).
// The results are exactly the TypeScript reference's (src/kernels/ref/select.ts), ties and NaN included.
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#endif

#include "kernels.h"

namespace sh {
namespace {

/** The k-th largest value of x[0, n), duplicates counted, as kthLargestHeap computes it: a min-heap of the k largest
 *  seen so far; the first k values enter whatever they are, later ones only when larger than the heap's smallest
 *  (so a NaN never does). */
float kth_largest(const float* x, i64 n, i64 k) {
  std::vector<float> h(static_cast<size_t>(k));
  i64 i = 0;
  for (; i < n && i < k; ++i) {  // sift up
    const float v = x[i];
    i64 j = i;
    while (j > 0 && h[(j - 1) >> 1] > v) {
      h[j] = h[(j - 1) >> 1];
      j = (j - 1) >> 1;
    }
    h[j] = v;
  }
  for (; i < n; ++i) {
#if defined(__AVX2__)
    // turn away eight at a time what cannot enter (v > h[0] false for all: smaller, equal or NaN)
    while (i + 8 <= n) {
      const __m256 hv = _mm256_set1_ps(h[0]);
      if (_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), hv, _CMP_GT_OQ)) != 0) break;
      i += 8;
    }
    if (i >= n) break;
#endif
    const float v = x[i];
    if (!(v > h[0])) continue;
    i64 j = 0;  // replace the smallest and sift down
    for (;;) {
      const i64 l = 2 * j + 1;
      if (l >= k) break;
      const i64 c = l + 1 < k && h[l + 1] < h[l] ? l + 1 : l;
      if (h[c] >= v) break;
      h[j] = h[c];
      j = c;
    }
    h[j] = v;
  }
  return h[0];
}

}  // namespace

i64 top_k_ids(int32_t* ids, i64 cap, float* kth, const float* x, i64 n, i64 k) {
  const float t = kth_largest(x, n, k);
  *kth = t;
  i64 count = 0;
  i64 i = 0;
#if defined(__AVX2__)
  const __m256 tv = _mm256_set1_ps(t);
  for (; i + 8 <= n; i += 8) {  // survivors: !(x < t), i.e. x >= t or NaN (unordered compares true)
    int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), tv, _CMP_NLT_UQ));
    while (m != 0) {
      const int l = __builtin_ctz(m);
      if (count < cap) ids[count] = static_cast<int32_t>(i + l);
      ++count;
      m &= m - 1;
    }
  }
#endif
  for (; i < n; ++i)
    if (!(x[i] < t)) {
      if (count < cap) ids[count] = static_cast<int32_t>(i);
      ++count;
    }
  return count;
}

i64 argmax_f32(const float* x, i64 n) {
  // the first index whose value is larger than every one before it ends up the answer: x[0] when it is NaN
  // (nothing compares larger), else the first index holding the largest non-NaN value
  if (n <= 0 || x[0] != x[0]) return 0;
  float best = x[0];
  i64 i = 1;
#if defined(__AVX2__)
  __m256 mv = _mm256_set1_ps(best);
  for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(_mm256_loadu_ps(x + i), mv);  // a NaN in x leaves mv's lane as it was
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, mv);
  for (int l = 0; l < 8; ++l) best = lanes[l] > best ? lanes[l] : best;
#endif
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  for (i64 j = 0; j < n; ++j)
    if (x[j] == best) return j;
  return 0;
}

}  // namespace sh
