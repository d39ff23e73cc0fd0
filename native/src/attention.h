// Helpers shared by the attention kernels (per-query path and blocked sgemm path): visibility rule, key ranges,
// row addressing. q, out: [B, Tq, H, D]; k, v: [B, Tk, Hkv, D]; lse: [B, H, Tq]. A query that sees no key
// outputs 0 and has lse = -inf.
#pragma once
#include <algorithm>

#include "kernels.h"

namespace sh {
namespace attn {

constexpr float kNegInf = -__builtin_inff();

/** Key j is visible to the query at absolute position P (segb: this batch row's segment ids, or null). */
inline bool visible(const AttnShape& s, const int32_t* segb, i64 P, i64 j) {
  if (s.causal == 1 && j > P) return false;
  if (s.window > 0 && P - j >= s.window) return false;
  return segb == nullptr || segb[j] == segb[P];
}

/** Keys [lo, hi) that the causal and window rules leave for the query at position P. */
inline void key_range(const AttnShape& s, i64 P, i64* lo, i64* hi) {
  *hi = s.causal == 1 ? std::min(P + 1, s.Tk) : s.Tk;
  *lo = s.window > 0 ? std::max<i64>(0, P - s.window + 1) : 0;
  if (*hi < *lo) *hi = *lo;
}

/** The same expression in forward and both backward passes, so recomputed scores match bit for bit. */
inline float score(const float* qr, const float* kr, const AttnShape& s, float slope, i64 j, i64 P) {
  const float d = dot(qr, kr, s.D) * s.scale;
  return slope != 0.0f ? d + slope * static_cast<float>(j - P) : d;
}

struct Ptrs {
  const AttnShape& s;
  i64 group;
  // row of query t, head h in a [B, Tq, H, D] tensor
  template <typename F>
  F* q(F* base, i64 b, i64 t, i64 h) const { return base + ((b * s.Tq + t) * s.H + h) * s.D; }
  // row of key j for (query) head h in a [B, Tk, Hkv, D] tensor
  template <typename F>
  F* kv(F* base, i64 b, i64 j, i64 h) const { return base + ((b * s.Tk + j) * s.Hkv + h / group) * s.D; }
};

/** Queries per block in the sgemm path; below this many queries the per-query path is used. */
constexpr i64 kMinBlockedQueries = 16;

}  // namespace attn

void attention_blocked(float* out, float* lse, const float* q, const float* k, const float* v, const float* alibi,
                       const int32_t* seg, const AttnShape& s);
void attention_blocked_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                const float* v, const float* out, const float* lse, const float* alibi,
                                const int32_t* seg, const AttnShape& s);

}  // namespace sh
