// Scaled dot-product attention, flash-style (forward saves lse [B, H, Tq], backward recomputes p = exp(score -
// lse)); GQA, causal offset Tk - Tq, sliding window, segment ids, ALiBi, tanh score soft-cap. This file: the
// per-query path (decode) and the dispatch; the blocked sgemm path is k_attention_blocked.cc. Rules: attention.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#endif

#include "attention.h"
#include "fastmath.h"
#include "cpu_path.h"
#include "kernels.h"
#include "lowp.h"
#include "row_pool.h"
#include "vec8.h"

namespace sh {

using namespace attn;

/** Elements (queries x keys x D) below which the per-query forward stays on the calling thread: waking the sleeping
 *  OpenMP workers costs more than a decode step's attention takes until the context is long (9 heads, D 64, 2 Zen 4
 *  cores: 20 us alone vs 58 us on two threads at 200 keys, 119 vs 112 at 1,000). */
constexpr i64 kRowsParMin = i64(1) << 21;

// The per-query path reads cached keys and values as float32 or as bf16 (a KV cache held in bf16: half the bytes a
// decode step streams). A bf16 value widens exactly to float32, so both element types run the same arithmetic: the
// bf16 path gives the bits of the float32 path over the widened cache.

/** One cached value as float32. */
inline float wide1(float x) { return x; }
inline float wide1(uint16_t h) { return bf16_widen(h); }

/** Eight cached values as float32. */
inline v8 ld8(const float* p) { return load8(p); }
inline v8 ld8(const uint16_t* p) {
  typedef uint16_t u16x8 __attribute__((vector_size(16)));
  typedef uint32_t u32x8 __attribute__((vector_size(32)));
  u16x8 h;
  std::memcpy(&h, p, sizeof h);
  const u32x8 w = __builtin_convertvector(h, u32x8) << 16;
  v8 f;
  std::memcpy(&f, &w, sizeof f);
  return f;
}

/** The tail of a dot product past its blocks of 16, in k order. One out-of-line body, so the 8- and 16-lane paths add
 *  their tails with the same instructions (compiled into functions of different targets, they need not be). */
__attribute__((noinline)) static float dot_tail(const float* q, const float* k, i64 from, i64 n) {
  float tail = 0;
  for (i64 t = from; t < n; ++t) tail += q[t] * k[t];
  return tail;
}

/** dot_tail of bf16 keys: widened, then the float32 body (whose products the compiler may or may not fuse into the
 *  sums depending on the loop it builds: calling the same body keeps the same bits). A tail is shorter than 16. */
static float dot_tail(const float* q, const uint16_t* k, i64 from, i64 n) {
  float w[16];
  for (i64 t = from; t < n; ++t) w[t - from] = wide1(k[t]);
  return dot_tail(q + from, w, 0, n - from);
}

/** The outputs [d0, D) of weighted_values one at a time (past its blocks of 32): one body for both paths. */
template <typename E>
__attribute__((noinline)) static void weighted_tail(float* o, const float* sc, const E* base, i64 lo, i64 hi, float inv,
                                                    i64 stride, i64 d0, i64 D) {
  for (i64 d = d0; d < D; ++d) {
    float a = 0.0f;
    for (i64 j = lo; j < hi; ++j)
      if (sc[j] != 0.0f) a += (sc[j] * inv) * wide1(base[j * stride + d]);
    o[d] = a;
  }
}

/** dot(q, k_j) for the four rows k_j = k0 + j * stride, each bit for bit as dot() sums it (16 lanes over blocks of
 *  16; lanes l, l + 4, l + 8, l + 12 as (l + (l + 4)) + ((l + 8) + (l + 12)); then (0 + 1) + (2 + 3); then the
 *  tail), the four reductions done together by two-vector shuffles: 2.3x faster than four dot() calls at D 64. */
template <typename E>
static inline void dots4(const float* q, const E* k0, i64 stride, i64 n, float out[4]) {
  v8 A[4], B[4];
  for (int j = 0; j < 4; ++j) A[j] = B[j] = v8{};
  i64 i = 0;
  for (; i + 16 <= n; i += 16) {
    const v8 qa = load8(q + i), qb = load8(q + i + 8);
    for (int j = 0; j < 4; ++j) {
      A[j] += qa * ld8(k0 + j * stride + i);
      B[j] += qb * ld8(k0 + j * stride + i + 8);
    }
  }
  // T[p] = (lane l + lane l + 4) of A + the same of B, for l < 4: keys 2p in the low half, 2p + 1 in the high
#define SH_HALVES(x, y) (SH_SHUFFLE(x, y, 0, 1, 2, 3, 8, 9, 10, 11) + SH_SHUFFLE(x, y, 4, 5, 6, 7, 12, 13, 14, 15))
#define SH_EVEN_ODD(x, y) (SH_SHUFFLE(x, y, 0, 2, 8, 10, 4, 6, 12, 14) + SH_SHUFFLE(x, y, 1, 3, 9, 11, 5, 7, 13, 15))
  v8 T[2];
  for (int p = 0; p < 2; ++p) T[p] = SH_HALVES(A[2 * p], A[2 * p + 1]) + SH_HALVES(B[2 * p], B[2 * p + 1]);
  const v8 pairs = SH_EVEN_ODD(T[0], T[1]);  // t0 + t1, t2 + t3
  const v8 r = SH_EVEN_ODD(pairs, pairs);    // keys 0, 2 | 1, 3
#undef SH_EVEN_ODD
#undef SH_HALVES
  const int lane[4] = {0, 4, 1, 5};
  for (int j = 0; j < 4; ++j) out[j] = r[lane[j]] + (i < n ? dot_tail(q, k0 + j * stride, i, n) : 0.0f);
}

/** dots4 over `groups` groups of four keys from k0 (key i at k0 + i * stride): out[i] = dot(q, key i). */
template <typename E>
static void dots_8(const float* q, const E* k0, i64 stride, i64 n, i64 groups, float* out) {
  for (i64 g = 0; g < groups; ++g) dots4(q, k0 + 4 * g * stride, stride, n, out + 4 * g);
}

/** o[d] = sum over keys j in [lo, hi) with sc[j] != 0, in j order, of (sc[j] * inv) * v[j, kvh, d]: each output
 *  one multiply-add chain from zero (what axpy into a zeroed row computes, the same bits), with the chains of 32
 *  outputs held in registers across the keys instead of a store and reload per key. */
template <typename E>
static void weighted_values(float* o, const float* sc, const E* v, i64 lo, i64 hi, float inv, i64 kvh, const AttnShape& s) {
  const i64 D = s.D, stride = s.Hkv * D;
  const E* base = v + kvh * D;
  i64 d = 0;
  for (; d + 32 <= D; d += 32) {
    v8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (i64 j = lo; j < hi; ++j) {
      if (sc[j] == 0.0f) continue;
      const v8 p = v8{} + sc[j] * inv;
      const E* x = base + j * stride + d;
      a0 += p * ld8(x);
      a1 += p * ld8(x + 8);
      a2 += p * ld8(x + 16);
      a3 += p * ld8(x + 24);
    }
    store8(o + d, a0), store8(o + d + 8, a1), store8(o + d + 16, a2), store8(o + d + 24, a3);
  }
  weighted_tail(o, sc, base, lo, hi, inv, stride, d, D);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SH_ATTN_512 1
#define SH_A512 __attribute__((target("avx2,fma,avx512f")))

/** Sixteen cached values as float32. */
SH_A512 inline __m512 ld16(const float* p) { return _mm512_loadu_ps(p); }
SH_A512 inline __m512 ld16(const uint16_t* p) { return widen_bf16x16(p); }

/** dots4 on 16-lane registers: a 16-lane accumulator over blocks of 16 holds dots4's A and B side by side, and the
 *  four keys' sums are reduced in dots4's tree (the 128-bit quarters 0 + 1 and 2 + 3 are its l + (l + 4) of A and of
 *  B, then A + B, then (0 + 1) + (2 + 3)), so the results are the same bits with half the multiply-adds. */
template <typename E>
SH_A512 static inline void dots4_512(const float* q, const E* k0, i64 stride, i64 n, float out[4]) {
  __m512 acc[4];
  #pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) acc[j] = _mm512_setzero_ps();
  i64 i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 qv = _mm512_loadu_ps(q + i);
    #pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[j] = _mm512_fmadd_ps(qv, ld16(k0 + j * stride + i), acc[j]);
  }
  // per key [A quarter 0 + 1, B quarter 2 + 3]: keys 0, 1 in s01, keys 2, 3 in s23
  const __m512 s01 = _mm512_add_ps(_mm512_shuffle_f32x4(acc[0], acc[1], 0x88), _mm512_shuffle_f32x4(acc[0], acc[1], 0xdd));
  const __m512 s23 = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2], acc[3], 0x88), _mm512_shuffle_f32x4(acc[2], acc[3], 0xdd));
  // quarter j: key j's t_l = A-fold + B-fold, then (t0 + t1) + (t2 + t3) in its lane 0
  __m512 t = _mm512_add_ps(_mm512_shuffle_f32x4(s01, s23, 0x88), _mm512_shuffle_f32x4(s01, s23, 0xdd));
  t = _mm512_add_ps(t, _mm512_permute_ps(t, 0xb1));
  t = _mm512_add_ps(t, _mm512_permute_ps(t, 0x4e));
  alignas(64) float r[16];
  _mm512_store_ps(r, t);
  for (int j = 0; j < 4; ++j) out[j] = r[4 * j] + (i < n ? dot_tail(q, k0 + j * stride, i, n) : 0.0f);
}

/** dots_8 on 16-lane registers (dots4_512 per group of four keys): the same bits. */
template <typename E>
SH_A512 static void dots_16(const float* q, const E* k0, i64 stride, i64 n, i64 groups, float* out) {
  for (i64 g = 0; g < groups; ++g) dots4_512(q, k0 + 4 * g * stride, stride, n, out + 4 * g);
}

/** Outputs [d, d + 16 NV) of weighted_values_512: NV 16-lane chains over the visible keys, in key order. */
template <int NV, typename E>
SH_A512 static inline void value_block(float* o, const float* sc, const E* base, i64 lo, i64 hi, float inv, i64 stride,
                                       i64 d) {
  __m512 a[NV];
  #pragma GCC unroll 4
  for (int u = 0; u < NV; ++u) a[u] = _mm512_setzero_ps();
  for (i64 j = lo; j < hi; ++j) {
    if (sc[j] == 0.0f) continue;
    const __m512 p = _mm512_set1_ps(sc[j] * inv);
    const E* x = base + j * stride + d;
    #pragma GCC unroll 4
    for (int u = 0; u < NV; ++u) a[u] = _mm512_fmadd_ps(p, ld16(x + 16 * u), a[u]);
  }
  #pragma GCC unroll 4
  for (int u = 0; u < NV; ++u) _mm512_storeu_ps(o + d + 16 * u, a[u]);
}

/** weighted_values on 16-lane registers: the same chain per output (a fused multiply-add per visible key, in key
 *  order), 64 outputs per pass over the keys instead of 32; the outputs past the last block of 32 as there. */
template <typename E>
SH_A512 static void weighted_values_512(float* o, const float* sc, const E* v, i64 lo, i64 hi, float inv, i64 kvh,
                                        const AttnShape& s) {
  const i64 D = s.D, stride = s.Hkv * D, D32 = D / 32 * 32;
  const E* base = v + kvh * D;
  i64 d = 0;
  for (; d + 64 <= D32; d += 64) value_block<4>(o, sc, base, lo, hi, inv, stride, d);
  for (; d < D32; d += 32) value_block<2>(o, sc, base, lo, hi, inv, stride, d);
  weighted_tail(o, sc, base, lo, hi, inv, stride, d, D);
}

/** Whether the per-query path runs on 16-lane registers: the CPU has AVX-512F and SHITATE_ATTN_ROWS is not 'avx2'.
 *  Both paths give the same bits. */
static bool attn_512() {
  static const bool yes = fast_path("SHITATE_ATTN_ROWS", "avx2", [] { return __builtin_cpu_supports("avx512f") != 0; });
  return yes;
}
#else
static bool attn_512() { return false; }
#endif

/** The SIMD parts of the per-query path: four keys' dot products at a time, and the weighted sum of the values. */
template <typename E>
struct QueryPath {
  void (*dots)(const float* q, const E* k0, i64 stride, i64 n, i64 groups, float* out);
  void (*values)(float* o, const float* sc, const E* v, i64 lo, i64 hi, float inv, i64 kvh, const AttnShape& s);
};

/** The per-query path for this CPU: 16 lanes on AVX-512 (half the multiply-adds, 64 outputs per pass over the
 *  values), else 8; the same bits either way (SHITATE_ATTN_ROWS=avx2 keeps the 8-lane one). */
template <typename E>
static QueryPath<E> query_path() {
#ifdef SH_ATTN_512
  if (attn_512()) return {dots_16<E>, weighted_values_512<E>};
#endif
  return {dots_8<E>, weighted_values<E>};
}

/** The score of a key past the last group of four (as score() computes it); a bf16 key is widened into `wide` (D
 *  floats) first. */
inline float tail_score(const float* qr, const float* kr, const AttnShape& s, float slope, i64 j, i64 pos, float*) {
  return score(qr, kr, s, slope, j, pos);
}
inline float tail_score(const float* qr, const uint16_t* kr, const AttnShape& s, float slope, i64 j, i64 pos, float* wide) {
  for (i64 d = 0; d < s.D; ++d) wide[d] = wide1(kr[d]);
  return score(qr, wide, s, slope, j, pos);
}

/** x[i] *= scale over n scores, returning their largest (-inf for none; a NaN is never the largest): the scores and
 *  maximum of the score loop when no key is masked, ALiBi-biased or capped, eight lanes at a time instead of one
 *  compare-and-select chain through every key. The same bits: each score is the same product, and the largest of a
 *  set does not depend on the order it is found in (but for the sign of a zero, which exp(x - m) does not see). */
static float scale_max(float* x, i64 n, float scale) {
  const v8 sv = v8{} + scale;
  v8 mv = v8{} + kNegInf;
  i64 i = 0;
  for (; i + 8 <= n; i += 8) {
    const v8 y = load8(x + i) * sv;
    store8(x + i, y);
    mv = y > mv ? y : mv;
  }
  float m = kNegInf;
  for (int l = 0; l < 8; ++l) m = mv[l] > m ? mv[l] : m;
  for (; i < n; ++i) {
    x[i] *= scale;
    m = x[i] > m ? x[i] : m;
  }
  return m;
}

/** One query row against its keys: out (D values) and its lse, the shared body of the per-query path and of the
 *  batched decode rows. k and v are the batch row's [Tk, Hkv, D] keys and values, kv head `kvh`; sc holds Tk
 *  scores and then D floats (scratch). */
template <typename E>
static void one_query(const QueryPath<E>& path, float* o, float* lse, const float* qr, const E* k, const E* v, i64 kvh,
                      const int32_t* segb, float slope, i64 pos, const AttnShape& s, float* sc) {
  const auto key = [&](const E* base, i64 j) { return base + (j * s.Hkv + kvh) * s.D; };
  i64 lo, hi;
  key_range(s, pos, &lo, &hi);
  float m = kNegInf;
  bool any = false;
  // the keys in groups of four: their dot products first (each as dot() sums it), then their scores
  const i64 j4 = lo + (hi - lo) / 4 * 4;
  path.dots(qr, key(k, lo), s.Hkv * s.D, s.D, (j4 - lo) / 4, sc + lo);
  if (segb == nullptr && slope == 0.0f && s.softcap <= 0.0f) {
    // every key of [lo, hi) is visible (key_range applied the causal and window rules) and a score is d * scale
    m = scale_max(sc + lo, j4 - lo, s.scale);
    any = j4 > lo;
  } else {
    for (i64 j = lo; j < j4; ++j) {
      if (!visible(s, segb, pos, j)) {
        sc[j] = kNegInf;
        continue;
      }
      const float x = score_of_dot(sc[j], s, slope, j, pos);
      sc[j] = x;
      m = x > m ? x : m;
      any = true;
    }
  }
  for (i64 j = j4; j < hi; ++j) {
    if (!visible(s, segb, pos, j)) {
      sc[j] = kNegInf;
      continue;
    }
    const float x = tail_score(qr, key(k, j), s, slope, j, pos, sc + s.Tk);
    sc[j] = x;
    m = x > m ? x : m;
    any = true;
  }
  if (!any) {
    std::memset(o, 0, static_cast<size_t>(s.D) * sizeof(float));
    *lse = kNegInf;
    return;
  }
  for (i64 j = lo; j < hi; ++j) sc[j] = exp_fast(sc[j] - m);
  const double sum = sum_d(sc + lo, hi - lo);
  const float inv = static_cast<float>(1.0 / sum);
  path.values(o, sc, v, lo, hi, inv, kvh, s);
  *lse = static_cast<float>(m + std::log(sum));
}

// Per-query path (decode, tiny shapes): one query row at a time, dot products over D.
template <typename E>
static void attention_rows(float* out, float* lse, const float* q, const E* k, const E* v,
                           const float* alibi, const int32_t* seg, const AttnShape& s) {
  const Ptrs P{s, s.H / s.Hkv};
  const i64 total = s.B * s.H * s.Tq;
#pragma omp parallel num_threads(total * s.Tk * s.D >= kRowsParMin ? threads() : 1)
  {
    std::vector<float> sc(static_cast<size_t>(std::max<i64>(s.Tk, 1) + s.D));  // scores, then a widened key
    const QueryPath<E> path = query_path<E>();
#pragma omp for schedule(dynamic, 4)
    for (i64 idx = 0; idx < total; ++idx) {  // idx = (b * H + h) * Tq + t, the lse index
      const i64 b = idx / (s.H * s.Tq), h = (idx / s.Tq) % s.H, t = idx % s.Tq;
      const int32_t* segb = seg != nullptr ? seg + b * s.Tk : nullptr;
      one_query(path, P.q(out, b, t, h), lse + idx, P.q(q, b, t, h), k + b * s.Tk * s.Hkv * s.D, v + b * s.Tk * s.Hkv * s.D,
                h / P.group, segb, alibi != nullptr ? alibi[h] : 0.0f, s.Tk - s.Tq + t, s, sc.data());
    }
  }
}

const char* attn_rows_path() { return attn_512() ? "avx512" : "avx2"; }

template <typename E>
static void decode_rows(float* out, const float* q, const E* const* ks, const E* const* vs, const i64* lens, const i64* tq,
                        i64 B, const AttnShape& shape) {
  // row b's queries are items [first[b], first[b + 1]) in (query, head) order, its queries at rows qrow[b]... of q
  std::vector<i64> first(static_cast<size_t>(B + 1)), qrow(static_cast<size_t>(B));
  i64 work = 0, longest = 1;
  for (i64 b = 0; b < B; ++b) {
    first[b + 1] = first[b] + tq[b] * shape.H;
    qrow[b] = b == 0 ? 0 : qrow[b - 1] + tq[b - 1];
    work += tq[b] * lens[b];
    longest = std::max(longest, lens[b]);
  }
  // each (query, head) is computed whole by one thread, as attention_rows computes it for that row alone
  const QueryPath<E> path = query_path<E>();
  split_rows(first[B], work * shape.H * shape.D, [&](i64 lo, i64 hi) {
    static thread_local std::vector<float> sc;  // scores, then a widened key
    if (static_cast<i64>(sc.size()) < longest + shape.D) sc.resize(static_cast<size_t>(longest + shape.D));
    i64 b = std::upper_bound(first.begin(), first.end(), lo) - first.begin() - 1;
    for (i64 idx = lo; idx < hi; ++idx) {
      while (idx >= first[b + 1]) ++b;
      const i64 t = (idx - first[b]) / shape.H, h = (idx - first[b]) % shape.H;
      AttnShape s = shape;
      s.B = 1, s.Tq = tq[b], s.Tk = lens[b], s.causal = 1;
      const i64 row = (qrow[b] + t) * s.H + h;
      float lse;
      one_query(path, out + row * s.D, &lse, q + row * s.D, ks[b], vs[b], h / (s.H / s.Hkv), nullptr, 0.0f,
                s.Tk - s.Tq + t, s, sc.data());
    }
  });
}

void attention_decode_rows(float* out, const float* q, const float* const* ks, const float* const* vs,
                           const i64* lens, const i64* tq, i64 B, const AttnShape& shape) {
  decode_rows(out, q, ks, vs, lens, tq, B, shape);
}

void attention_decode_rows_bf16(float* out, const float* q, const uint16_t* const* ks, const uint16_t* const* vs,
                                const i64* lens, const i64* tq, i64 B, const AttnShape& shape) {
  decode_rows(out, q, ks, vs, lens, tq, B, shape);
}

// Two race-free passes. A, over queries: Di = dout . out, dq += scale * sum_j ds_j k_j.
// B, over keys (each owns its dk, dv rows across the kv group): dv += p dout, dk += scale * ds q,
// where p = exp(score - lse) and ds = p * (dout . v_j - Di) * cap'(score) (1 without a soft-cap).
static void attention_rows_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                    const float* k, const float* v, const float* out, const float* lse,
                                    const float* alibi, const int32_t* seg, const AttnShape& s) {
  const Ptrs P{s, s.H / s.Hkv};
  const i64 total = s.B * s.H * s.Tq;
  std::vector<float> Di(static_cast<size_t>(total));
#pragma omp parallel num_threads(team_size(total * s.Tk * s.D))
  {
    std::vector<float> acc(static_cast<size_t>(s.D)), acc2(static_cast<size_t>(s.D));
#pragma omp for schedule(dynamic, 4)
    for (i64 idx = 0; idx < total; ++idx) {
      const i64 b = idx / (s.H * s.Tq), h = (idx / s.Tq) % s.H, t = idx % s.Tq;
      const float l = lse[idx];
      Di[idx] = 0.0f;
      if (l == kNegInf) continue;  // saw no key: no gradient
      const i64 pos = s.Tk - s.Tq + t;
      const int32_t* segb = seg != nullptr ? seg + b * s.Tk : nullptr;
      const float slope = alibi != nullptr ? alibi[h] : 0.0f;
      const float* qr = P.q(q, b, t, h);
      const float* g = P.q(dout, b, t, h);
      const float di = dot(g, P.q(out, b, t, h), s.D);
      Di[idx] = di;
      i64 lo, hi;
      key_range(s, pos, &lo, &hi);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (i64 j = lo; j < hi; ++j) {
        if (!visible(s, segb, pos, j)) continue;
        const float* kr = P.kv(k, b, j, h);
        const float c = capped_dot(qr, kr, s);
        const float p = exp_fast(with_alibi(c, slope, j, pos) - l);
        const float ds = p * (dot(g, P.kv(v, b, j, h), s.D) - di) * cap_grad(c, s);
        axpy(acc.data(), kr, ds, s.D);
      }
      axpy(P.q(dq, b, t, h), acc.data(), s.scale, s.D);
    }
    // implicit barrier: Di is complete
    const i64 keys = s.B * s.Hkv * s.Tk;
    const i64 off = s.Tk - s.Tq;
#pragma omp for schedule(dynamic, 4)
    for (i64 idx = 0; idx < keys; ++idx) {  // idx = (b * Hkv + kvh) * Tk + j
      const i64 b = idx / (s.Hkv * s.Tk), kvh = (idx / s.Tk) % s.Hkv, j = idx % s.Tk;
      const int32_t* segb = seg != nullptr ? seg + b * s.Tk : nullptr;
      const i64 h0 = kvh * P.group;
      const float* kr = P.kv(k, b, j, h0);
      const float* vr = P.kv(v, b, j, h0);
      // queries t whose position off + t passes the causal and window rules for key j
      const i64 t0 = s.causal == 1 ? std::max<i64>(0, j - off) : 0;
      const i64 t1 = s.window > 0 ? std::min<i64>(s.Tq, j + s.window - off) : s.Tq;
      std::fill(acc.begin(), acc.end(), 0.0f);   // dk
      std::fill(acc2.begin(), acc2.end(), 0.0f); // dv
      for (i64 h = h0; h < h0 + P.group; ++h) {
        const float slope = alibi != nullptr ? alibi[h] : 0.0f;
        for (i64 t = t0; t < t1; ++t) {
          const i64 li = (b * s.H + h) * s.Tq + t;
          const i64 pos = off + t;
          if (lse[li] == kNegInf || !visible(s, segb, pos, j)) continue;
          const float* qr = P.q(q, b, t, h);
          const float* g = P.q(dout, b, t, h);
          const float c = capped_dot(qr, kr, s);
          const float p = exp_fast(with_alibi(c, slope, j, pos) - lse[li]);
          axpy(acc2.data(), g, p, s.D);
          const float ds = p * (dot(g, vr, s.D) - Di[li]) * cap_grad(c, s);
          axpy(acc.data(), qr, ds, s.D);
        }
      }
      axpy(P.kv(dk, b, j, h0), acc.data(), s.scale, s.D);
      axpy(P.kv(dv, b, j, h0), acc2.data(), 1.0f, s.D);
    }
  }
}

// Blocked sgemm path once there are enough queries to fill a block; rows path for decode and odd shapes.
static bool use_blocked(const AttnShape& s) { return s.Tq >= attn::kMinBlockedQueries && s.D > 0 && s.Tk > 0; }

void attention(float* out, float* lse, const float* q, const float* k, const float* v, const float* alibi,
               const int32_t* seg, const AttnShape& s) {
  if (use_blocked(s)) attention_blocked(out, lse, q, k, v, alibi, seg, s);
  else attention_rows(out, lse, q, k, v, alibi, seg, s);
}

void attention_bf16_kv(float* out, float* lse, const float* q, const uint16_t* k, const uint16_t* v, const float* alibi,
                       const int32_t* seg, const AttnShape& s) {
  if (use_blocked(s)) attention_blocked_bf16_kv(out, lse, q, k, v, alibi, seg, s);
  else attention_rows(out, lse, q, k, v, alibi, seg, s);
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const float* alibi, const int32_t* seg,
                        const AttnShape& s) {
  if (use_blocked(s)) attention_blocked_backward(dq, dk, dv, dout, q, k, v, out, lse, alibi, seg, s);
  else attention_rows_backward(dq, dk, dv, dout, q, k, v, out, lse, alibi, seg, s);
}

}  // namespace sh
