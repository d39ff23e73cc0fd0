// Helpers shared by the attention kernels (per-query path and blocked sgemm path): visibility rule, key ranges,
// row addressing. q, out: [B, Tq, H, D]; k, v: [B, Tk, Hkv, D]; lse: [B, H, Tq]. A query that sees no key
// outputs 0 and has lse = -inf.
#pragma once
#include <algorithm>

#include "kernels.h"
#include "tanh_fast.h"

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

/** A scaled score after the optional tanh soft-cap (identity when s.softcap is 0). */
inline float cap_score(float x, const AttnShape& s) {
  return s.softcap > 0.0f ? s.softcap * tanh_fast(x * (1.0f / s.softcap)) : x;
}

/** x[i] = cap_score(x[i]) over a block of scores, and g[i] = its derivative when g is given (softcap > 0). */
inline void cap_block(float* __restrict x, float* __restrict g, i64 n, const AttnShape& s) {
  const float cap = s.softcap, inv = 1.0f / s.softcap;
  for (i64 i = 0; i < n; ++i) x[i] = cap * tanh_fast(x[i] * inv);
  if (g != nullptr)
    for (i64 i = 0; i < n; ++i) {
      const float u = x[i] * inv;
      g[i] = 1.0f - u * u;
    }
}

/** d cap_score / dx, from the capped score c: 1 - (c / softcap)^2 (1 without a cap). */
inline float cap_grad(float c, const AttnShape& s) {
  if (s.softcap <= 0.0f) return 1.0f;
  const float u = c * (1.0f / s.softcap);
  return 1.0f - u * u;
}

/** The capped score of query row qr against key row kr, before ALiBi. */
inline float capped_dot(const float* qr, const float* kr, const AttnShape& s) { return cap_score(dot(qr, kr, s.D) * s.scale, s); }

/** Adds the ALiBi bias of key j for the query at position P. */
inline float with_alibi(float c, float slope, i64 j, i64 P) { return slope != 0.0f ? c + slope * static_cast<float>(j - P) : c; }

/** The score of key j from its dot product with the query (scaled, capped, ALiBi). */
inline float score_of_dot(float d, const AttnShape& s, float slope, i64 j, i64 P) {
  return with_alibi(cap_score(d * s.scale, s), slope, j, P);
}

/** The same expression in forward and both backward passes, so recomputed scores match bit for bit. */
inline float score(const float* qr, const float* kr, const AttnShape& s, float slope, i64 j, i64 P) {
  return score_of_dot(dot(qr, kr, s.D), s, slope, j, P);
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
/** attention_blocked over k and v held as bf16 (a KV cache held in bf16), each key block widened as it is read. */
void attention_blocked_bf16_kv(float* out, float* lse, const float* q, const uint16_t* k, const uint16_t* v,
                               const float* alibi, const int32_t* seg, const AttnShape& s);
void attention_blocked_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                const float* v, const float* out, const float* lse, const float* alibi,
                                const int32_t* seg, const AttnShape& s);

}  // namespace sh
