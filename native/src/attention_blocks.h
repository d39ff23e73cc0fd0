// Block helpers shared by the blocked attention paths (float32 sgemm in k_attention_blocked.cc, bf16 GEMMs in
// k_attention_bf16.cc): which keys a block of queries may see, the per-row mask, and row addressing.
#pragma once
#include <algorithm>

#include "attention.h"
#include "fastmath.h"

namespace sh {
namespace attn {

/** Keys [lo, hi) any query t0 <= t < t1 may see (both ends of key_range grow with the position). */
inline void block_key_range(const AttnShape& s, i64 t0, i64 t1, i64* lo, i64* hi) {
  const i64 off = s.Tk - s.Tq;
  i64 lo0, hi0, lo1, hi1;
  key_range(s, off + t0, &lo0, &hi0);
  key_range(s, off + t1 - 1, &lo1, &hi1);
  *lo = lo0;
  *hi = hi1 > lo0 ? hi1 : lo0;
}

/** Scores row for the query at position P over keys lo + [0, nk): keys [*a, *e) pass the causal and window
 *  rules (the rest are left for the caller to zero); within them segment mismatches become -inf, ALiBi added. */
inline void mask_row(float* row, i64 nk, i64 lo, i64 P, const AttnShape& s, const int32_t* segb, float slope,
                     i64* a, i64* e) {
  key_range(s, P, a, e);
  *a = std::min(std::max<i64>(*a - lo, 0), nk);
  *e = std::min(std::max(*e - lo, *a), nk);
  if (segb != nullptr)
    for (i64 j = *a; j < *e; ++j)
      if (segb[lo + j] != segb[P]) row[j] = kNegInf;
  if (slope != 0.0f) {
    // int32 distances convert to float in vector registers (int64 ones do not before AVX-512); same values
    const int32_t d0 = static_cast<int32_t>(lo - P), j0 = static_cast<int32_t>(*a), j1 = static_cast<int32_t>(*e);
    for (int32_t j = j0; j < j1; ++j) row[j] += slope * static_cast<float>(d0 + j);
  }
}

/** row[j] = exp(row[j] - m) on [a, e), 0 elsewhere in [0, nk). */
inline void exp_span(float* row, i64 nk, i64 a, i64 e, float m) {
  std::fill(row, row + a, 0.0f);
  for (i64 j = a; j < e; ++j) row[j] = exp_fast(row[j] - m);
  std::fill(row + e, row + nk, 0.0f);
}

struct Layout {
  const AttnShape& s;
  i64 group, ldq, ldk, off;
  explicit Layout(const AttnShape& sh) : s(sh), group(sh.H / sh.Hkv), ldq(sh.H * sh.D), ldk(sh.Hkv * sh.D),
                                         off(sh.Tk - sh.Tq) {}
  template <typename F>
  F* q(F* base, i64 b, i64 t, i64 h) const { return base + ((b * s.Tq + t) * s.H + h) * s.D; }
  template <typename F>
  F* kv(F* base, i64 b, i64 j, i64 kvh) const { return base + ((b * s.Tk + j) * s.Hkv + kvh) * s.D; }
};

/** Packed rows [*r0, *r1) that may see a key in [j0, j1): position >= j0 (causal), < j1 - 1 + window. */
inline void block_rows(const Layout& L, i64 j0, i64 j1, i64* r0, i64* r1) {
  const AttnShape& s = L.s;
  const i64 ta = s.causal == 1 ? std::max<i64>(0, j0 - L.off) : 0;
  const i64 tb = s.window > 0 ? std::min<i64>(s.Tq, j1 - 1 + s.window - L.off) : s.Tq;
  *r0 = ta * L.group;
  *r1 = std::max(tb, ta) * L.group;
}

}  // namespace attn
}  // namespace sh
