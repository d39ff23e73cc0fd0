// Attention on bf16 GEMMs (lowp.h): the blocked algorithm of k_attention_blocked.cc with q, k, v rounded to bf16
// and the two products of each block on oneDNN's bf16 GEMM (about 3-4x sgemm per core on AVX512-BF16 / AMX),
// as PyTorch's CPU flash attention does in bf16: scores and softmax in float32, the unnormalised probabilities
// rounded to bf16 for the value product, dS rounded to bf16 for the gradient products, float32 sums. Every query
// count takes this path (no per-query variant), so bf16 results do not depend on the sequence length.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "attention_blocks.h"
#include "gemm_backend.h"
#include "lowp.h"

namespace sh {

using namespace attn;

namespace {

// Measured at B 4, T 256, H 9/3, D 64, causal (one backward call on one / two threads, ms): keys by 32 8.3-8.7 /
// 4.5-5.0, by 64 6.6-7.1 / 3.5-3.7, by 128 6.4-6.6 / 3.7-3.9; the backward makes five oneDNN calls per (chunk, key
// block), each with a fixed cost of ~3 us, and 64 keys halve their number for little more masked work on the diagonal.
constexpr i64 kQB = 32;   // queries per block (forward)
constexpr i64 kKB = 64;   // keys per block (backward)
constexpr i64 kRB = 256;  // packed query rows per chunk (backward)

// C = alpha * op(A) @ op(B) + beta * C on bf16 operands, on the calling thread inside the parallel regions
inline void mm16(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const uint16_t* A, i64 lda, const uint16_t* B,
                 i64 ldb, float beta, float* C, i64 ldc) {
  gemm_bf16_rm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void round_into(uint16_t* dst, const float* src, i64 n) {
  for (i64 i = 0; i < n; ++i) dst[i] = bf16_round(src[i]);
}

// Inputs given as bf16 bits already (the bf16 entry points): copied, not rounded; read back as floats exactly.
inline void round_into(uint16_t* dst, const uint16_t* src, i64 n) { std::memcpy(dst, src, static_cast<size_t>(n) * 2); }
inline float value_of(float x) { return x; }
inline float value_of(uint16_t h) { return bf16_widen(h); }

/** k and v [B, Tk, Hkv, D] rounded to bf16, in scratch kept between calls (only the main thread calls). */
void round_kv(std::vector<uint16_t>& k16, std::vector<uint16_t>& v16, const float* k, const float* v, i64 n) {
  if (static_cast<i64>(k16.size()) < n) {
    k16.resize(static_cast<size_t>(n));
    v16.resize(static_cast<size_t>(n));
  }
  uint16_t* kd = k16.data();
  uint16_t* vd = v16.data();
  SH_PARALLEL_FOR(2 * n)
  for (i64 i = 0; i < n; ++i) {
    kd[i] = bf16_round(k[i]);
    vd[i] = bf16_round(v[i]);
  }
}

std::vector<uint16_t> g_k16, g_v16;

}  // namespace

namespace {

/** Per-thread buffers of the forward: a block's rounded queries, scores, probabilities, output and 1 / sums. */
struct FwdBufs {
  std::vector<uint16_t> Q, P;
  std::vector<float> O, S, inv;
  FwdBufs(i64 m, i64 D, i64 Tk)
      : Q(static_cast<size_t>(m * D)), P(static_cast<size_t>(m * Tk)), O(Q.size()), S(P.size()), inv(static_cast<size_t>(m)) {}
};

/** One forward task (batch row b, kv head kvh, queries [t0, t1)), always inlined into the 8- and the 16-lane
 *  builds below: each lane runs the same operations either way (the same bits). */
template <typename QT>
__attribute__((always_inline)) inline void fwd_task(FwdBufs& F, float* out, uint16_t* out16, float* lse, const QT* q,
                                                    const uint16_t* k16, const uint16_t* v16, const float* alibi,
                                                    const int32_t* seg, const Layout& L, i64 b, i64 kvh, i64 t0) {
  const AttnShape& s = L.s;
  const i64 G = L.group, D = s.D;
  const i64 t1 = std::min(t0 + kQB, s.Tq), m = (t1 - t0) * G;
  i64 lo, hi;
  block_key_range(s, t0, t1, &lo, &hi);
  const i64 nk = hi - lo;
  for (i64 r = 0; r < m; ++r) round_into(F.Q.data() + r * D, L.q(q, b, t0 + r / G, kvh * G + r % G), D);
  if (nk > 0) mm16(false, true, m, nk, D, s.scale, F.Q.data(), D, L.kv(k16, b, lo, kvh), L.ldk, 0.0f, F.S.data(), nk);
  if (s.softcap > 0.0f) cap_block(F.S.data(), nullptr, m * nk, s);
  const int32_t* segb = seg != nullptr ? seg + b * s.Tk : nullptr;
  for (i64 r = 0; r < m; ++r) {
    const i64 t = t0 + r / G, h = kvh * G + r % G;
    float* row = F.S.data() + r * nk;
    i64 a, e;
    mask_row(row, nk, lo, L.off + t, s, segb, alibi != nullptr ? alibi[h] : 0.0f, &a, &e);
    const float mx = row_max(row + a, e - a);
    if (mx == kNegInf) {
      std::fill(row, row + nk, 0.0f);
      lse[(b * s.H + h) * s.Tq + t] = kNegInf;
      F.inv[static_cast<size_t>(r)] = 0.0f;
    } else {
      exp_span(row, nk, a, e, mx);
      const double sum = sum_d(row + a, e - a);
      F.inv[static_cast<size_t>(r)] = static_cast<float>(1.0 / sum);
      lse[(b * s.H + h) * s.Tq + t] = static_cast<float>(mx + std::log(sum));
    }
    round_into(F.P.data() + r * nk, row, nk);
  }
  // O [m, D] = r(exp(S - max)) @ V[lo:hi], normalised and rounded on the way out
  if (nk > 0) mm16(false, false, m, D, nk, 1.0f, F.P.data(), nk, L.kv(v16, b, lo, kvh), L.ldk, 0.0f, F.O.data(), D);
  else std::fill(F.O.begin(), F.O.end(), 0.0f);
  for (i64 r = 0; r < m; ++r) {
    const i64 t = t0 + r / G, h = kvh * G + r % G;
    const float* src = F.O.data() + r * D;
    uint16_t* d16 = L.q(out16, b, t, h);
    const float iv = F.inv[static_cast<size_t>(r)];
    for (i64 d = 0; d < D; ++d) d16[d] = bf16_round(src[d] * iv);
    if (out != nullptr) {
      float* dst = L.q(out, b, t, h);
      for (i64 d = 0; d < D; ++d) dst[d] = bf16_widen(d16[d]);
    }
  }
}

template <typename QT>
using FwdTask = void (*)(FwdBufs&, float*, uint16_t*, float*, const QT*, const uint16_t*, const uint16_t*, const float*,
                         const int32_t*, const Layout&, i64, i64, i64);

template <typename QT>
void fwd_task8(FwdBufs& F, float* out, uint16_t* out16, float* lse, const QT* q, const uint16_t* k16,
               const uint16_t* v16, const float* alibi, const int32_t* seg, const Layout& L, i64 b, i64 kvh, i64 t0) {
  fwd_task(F, out, out16, lse, q, k16, v16, alibi, seg, L, b, kvh, t0);
}

#ifdef SH_LOWP_512
template <typename QT>
SH_512_WIDE void fwd_task16(FwdBufs& F, float* out, uint16_t* out16, float* lse, const QT* q, const uint16_t* k16,
                             const uint16_t* v16, const float* alibi, const int32_t* seg, const Layout& L, i64 b, i64 kvh,
                             i64 t0) {
  fwd_task(F, out, out16, lse, q, k16, v16, alibi, seg, L, b, kvh, t0);
}
#endif

/** The forward over all tasks, q as floats (rounded per block) or bf16 bits; k16, v16 bf16. */
template <typename QT>
void forward(float* out, uint16_t* out16, float* lse, const QT* q, const uint16_t* k16, const uint16_t* v16,
             const float* alibi, const int32_t* seg, const AttnShape& s) {
  const Layout L(s);
  const i64 qblocks = (s.Tq + kQB - 1) / kQB;
  const i64 tasks = s.B * s.Hkv * qblocks;
  FwdTask<QT> task = fwd_task8<QT>;
#ifdef SH_LOWP_512
  if (lowp_512()) task = fwd_task16<QT>;
#endif
  GemmSignalsHeld held;  // for every block GEMM the team calls
#pragma omp parallel num_threads(team_size(s.B * s.H * s.Tq * s.Tk * s.D))
  {
    FwdBufs F(kQB * L.group, s.D, s.Tk);
#pragma omp for schedule(dynamic, 1)
    for (i64 t = 0; t < tasks; ++t)
      task(F, out, out16, lse, q, k16, v16, alibi, seg, L, t / (s.Hkv * qblocks), (t / qblocks) % s.Hkv, (t % qblocks) * kQB);
  }
}

}  // namespace

void attention_bf16(float* out, uint16_t* out16, float* lse, const float* q, const float* k, const float* v,
                    const float* alibi, const int32_t* seg, const AttnShape& s) {
  round_kv(g_k16, g_v16, k, v, s.B * s.Tk * s.Hkv * s.D);
  forward(out, out16, lse, q, g_k16.data(), g_v16.data(), alibi, seg, s);
}

void attention_bf16_bits(uint16_t* out16, float* lse, const uint16_t* q16, const uint16_t* k16, const uint16_t* v16,
                         const float* alibi, const int32_t* seg, const AttnShape& s) {
  forward<uint16_t>(nullptr, out16, lse, q16, k16, v16, alibi, seg, s);
}

namespace {

// Packed query rows of one kv group (r = t * group + g), as in k_attention_blocked.cc, in bf16.
struct Chunk16 {
  i64 b = 0, kvh = 0, r0 = 0, r1 = 0;
  std::vector<uint16_t> q, dout;   // [kRB, D]
  std::vector<float> dq;           // [kRB, D]
  std::vector<float> lse, di;      // [kRB]
  std::vector<float> p, ds, capg;  // [kRB, kKB]
  std::vector<uint16_t> p16, ds16; // [kRB, kKB]
  explicit Chunk16(i64 D)
      : q(static_cast<size_t>(kRB * D)), dout(q.size()), dq(q.size()), lse(static_cast<size_t>(kRB)), di(lse.size()),
        p(static_cast<size_t>(kRB * kKB)), ds(p.size()), capg(p.size()), p16(p.size()), ds16(p.size()) {}
};

/** dout . out over one row of D, in 16 lanes (element d in lane d % 16, fused multiply-adds in d order), the lanes
 *  added in a fixed tree, then the tail: the same bits in the 8- and the 16-lane builds. One serial chain of D
 *  multiply-adds had taken a twelfth of the backward. */
template <typename QT>
__attribute__((always_inline)) inline float dot_di(const uint16_t* g, const QT* o, i64 D) {
  float lane[16] = {};
  i64 d = 0;
  for (; d + 16 <= D; d += 16)
    for (int l = 0; l < 16; ++l) lane[l] = std::fma(bf16_widen(g[d + l]), value_of(o[d + l]), lane[l]);
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
  float tail = 0.0f;
  for (; d < D; ++d) tail = std::fma(bf16_widen(g[d]), value_of(o[d]), tail);
  return lane[0] + tail;
}

template <typename QT>
__attribute__((always_inline)) inline void pack16(Chunk16& C, const Layout& L, const float* dout, const QT* q,
                                                  const QT* out, const float* lse, i64 b, i64 kvh, i64 r0, i64 r1) {
  const AttnShape& s = L.s;
  C.b = b;
  C.kvh = kvh;
  C.r0 = r0;
  C.r1 = r1;
  for (i64 r = r0; r < r1; ++r) {
    const i64 t = r / L.group, h = kvh * L.group + r % L.group, i = r - r0;
    const float l = lse[(b * s.H + h) * s.Tq + t];
    round_into(C.q.data() + i * s.D, L.q(q, b, t, h), s.D);
    round_into(C.dout.data() + i * s.D, L.q(dout, b, t, h), s.D);
    std::fill(C.dq.data() + i * s.D, C.dq.data() + (i + 1) * s.D, 0.0f);
    C.lse[i] = l;
    C.di[i] = l != kNegInf ? dot_di(C.dout.data() + i * s.D, L.q(out, b, t, h), s.D) : 0.0f;
  }
}

enum Grads { kGradQ = 1, kGradKV = 2 };

__attribute__((always_inline)) inline void key_block16(Chunk16& C, float* dk, float* dv, const uint16_t* k16,
                                                       const uint16_t* v16, const float* alibi,
                 const int32_t* seg, const Layout& L, i64 kb, int grads) {
  const AttnShape& s = L.s;
  const i64 D = s.D, j0 = kb * kKB, nk = std::min(kKB, s.Tk - j0);
  i64 lo, hi;
  block_rows(L, j0, j0 + nk, &lo, &hi);
  lo = std::max(lo, C.r0) - C.r0;
  hi = std::min(hi, C.r1) - C.r0;
  if (hi <= lo) return;
  const i64 m = hi - lo;
  const uint16_t* K = L.kv(k16, C.b, j0, C.kvh);
  const uint16_t* Q = C.q.data() + lo * D;
  const uint16_t* dO = C.dout.data() + lo * D;
  const int32_t* segb = seg != nullptr ? seg + C.b * s.Tk : nullptr;
  float* P = C.p.data();
  float* dS = C.ds.data();
  mm16(false, true, m, nk, D, s.scale, Q, D, K, L.ldk, 0.0f, P, nk);  // S [m, nk]
  const bool capped = s.softcap > 0.0f;
  if (capped) cap_block(P, C.capg.data(), m * nk, s);
  for (i64 i = 0; i < m; ++i) {
    const i64 r = C.r0 + lo + i, h = C.kvh * L.group + r % L.group;
    const float l = C.lse[lo + i];
    i64 a = 0, e = 0;
    if (l != kNegInf)
      mask_row(P + i * nk, nk, j0, L.off + r / L.group, s, segb, alibi != nullptr ? alibi[h] : 0.0f, &a, &e);
    exp_span(P + i * nk, nk, a, e, l);
  }
  if (grads & kGradKV) {
    round_into(C.p16.data(), P, m * nk);
    mm16(true, false, nk, D, m, 1.0f, C.p16.data(), nk, dO, D, 1.0f, L.kv(dv, C.b, j0, C.kvh), L.ldk);
  }
  mm16(false, true, m, nk, D, 1.0f, dO, D, L.kv(v16, C.b, j0, C.kvh), L.ldk, 0.0f, dS, nk);  // dout V^T
  for (i64 i = 0; i < m; ++i) {
    float* g = dS + i * nk;
    const float* p = P + i * nk;
    const float di = C.di[lo + i];
    for (i64 j = 0; j < nk; ++j) g[j] = s.scale * (p[j] * (g[j] - di));
    if (capped)
      for (i64 j = 0; j < nk; ++j) g[j] *= C.capg[i * nk + j];
  }
  round_into(C.ds16.data(), dS, m * nk);
  if (grads & kGradQ) mm16(false, false, m, D, nk, 1.0f, C.ds16.data(), nk, K, L.ldk, 1.0f, C.dq.data() + lo * D, D);
  if (grads & kGradKV) mm16(true, false, nk, D, m, 1.0f, C.ds16.data(), nk, Q, D, 1.0f, L.kv(dk, C.b, j0, C.kvh), L.ldk);
}

/** The chunk's dq rows into dq: added when acc, else copied (each row of dq belongs to one chunk). */
void unpack_dq16(float* dq, const Chunk16& C, const Layout& L, bool acc) {
  for (i64 r = C.r0; r < C.r1; ++r) {
    float* d = L.q(dq, C.b, r / L.group, C.kvh * L.group + r % L.group);
    const float* src = C.dq.data() + (r - C.r0) * L.s.D;
    if (acc) axpy(d, src, 1.0f, L.s.D);
    else std::memcpy(d, src, static_cast<size_t>(L.s.D) * sizeof(float));
  }
}

/** Zeroes rows [j0, j1) of kv head kvh of batch row b in dk and dv, before a task adds into them (write mode). */
void zero_kv_rows(float* dk, float* dv, const Layout& L, i64 b, i64 kvh, i64 j0, i64 j1) {
  for (i64 j = j0; j < j1; ++j) {
    std::memset(L.kv(dk, b, j, kvh), 0, static_cast<size_t>(L.s.D) * sizeof(float));
    std::memset(L.kv(dv, b, j, kvh), 0, static_cast<size_t>(L.s.D) * sizeof(float));
  }
}

// pack16 and key_block16 built twice, as the forward's task: 8 lanes, and 16 where lowp_512() (the same bits)
template <typename QT>
struct BackFns {
  void (*pack)(Chunk16&, const Layout&, const float*, const QT*, const QT*, const float*, i64, i64, i64, i64);
  void (*block)(Chunk16&, float*, float*, const uint16_t*, const uint16_t*, const float*, const int32_t*, const Layout&,
                i64, int);
};

template <typename QT>
void pack8(Chunk16& C, const Layout& L, const float* dout, const QT* q, const QT* out, const float* lse, i64 b, i64 kvh,
           i64 r0, i64 r1) {
  pack16(C, L, dout, q, out, lse, b, kvh, r0, r1);
}
void block8(Chunk16& C, float* dk, float* dv, const uint16_t* k16, const uint16_t* v16, const float* alibi,
            const int32_t* seg, const Layout& L, i64 kb, int grads) {
  key_block16(C, dk, dv, k16, v16, alibi, seg, L, kb, grads);
}
#ifdef SH_LOWP_512
template <typename QT>
SH_512_WIDE void pack_wide(Chunk16& C, const Layout& L, const float* dout, const QT* q, const QT* out, const float* lse,
                            i64 b, i64 kvh, i64 r0, i64 r1) {
  pack16(C, L, dout, q, out, lse, b, kvh, r0, r1);
}
SH_512_WIDE void block_wide(Chunk16& C, float* dk, float* dv, const uint16_t* k16, const uint16_t* v16,
                             const float* alibi, const int32_t* seg, const Layout& L, i64 kb, int grads) {
  key_block16(C, dk, dv, k16, v16, alibi, seg, L, kb, grads);
}
#endif

template <typename QT>
BackFns<QT> back_fns() {
#ifdef SH_LOWP_512
  if (lowp_512()) return {pack_wide<QT>, block_wide};
#endif
  return {pack8<QT>, block8};
}
}  // namespace

namespace {

// Same task structure as attention_blocked_backward: one pass per (batch row, kv head) when there are enough of
// them for the threads, else dq by (unit, chunk) and then dk/dv by (unit, key block). acc: add into dq, dk, dv;
// else write them (each task zeroes the dk and dv rows it adds into, and copies its dq rows): a fresh gradient
// buffer needs no zero-fill before the call.
template <typename QT>
void backward(float* dq, float* dk, float* dv, const float* dout, const QT* q, const uint16_t* k16, const uint16_t* v16,
              const QT* out, const float* lse, const float* alibi, const int32_t* seg, const AttnShape& s, bool acc) {
  const Layout L(s);
  const i64 units = s.B * s.Hkv, rows = s.Tq * L.group;
  const i64 kblocks = (s.Tk + kKB - 1) / kKB, chunks = (rows + kRB - 1) / kRB;
  const int team = team_size(s.B * s.H * s.Tq * s.Tk * s.D);
  const bool one_pass = 2 * units >= team;
  const BackFns<QT> fn = back_fns<QT>();
  GemmSignalsHeld held;  // for every block GEMM the team calls
#pragma omp parallel num_threads(team)
  {
    Chunk16 C(s.D);
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < (one_pass ? units : units * chunks); ++task) {
      const i64 u = one_pass ? task : task / chunks;
      const i64 c0 = one_pass ? 0 : task % chunks, c1 = one_pass ? chunks : c0 + 1;
      if (one_pass && !acc) zero_kv_rows(dk, dv, L, u / s.Hkv, u % s.Hkv, 0, s.Tk);
      for (i64 c = c0; c < c1; ++c) {
        fn.pack(C, L, dout, q, out, lse, u / s.Hkv, u % s.Hkv, c * kRB, std::min(c * kRB + kRB, rows));
        for (i64 kb = 0; kb < kblocks; ++kb)
          fn.block(C, dk, dv, k16, v16, alibi, seg, L, kb, one_pass ? kGradQ | kGradKV : kGradQ);
        unpack_dq16(dq, C, L, acc);
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < (one_pass ? 0 : units * kblocks); ++task) {
      const i64 u = task / kblocks, kb = task % kblocks;
      if (!acc) zero_kv_rows(dk, dv, L, u / s.Hkv, u % s.Hkv, kb * kKB, std::min(kb * kKB + kKB, s.Tk));
      i64 r0, r1;
      block_rows(L, kb * kKB, std::min(kb * kKB + kKB, s.Tk), &r0, &r1);
      // chunks on the one pass's boundaries (multiples of kRB), clipped to the block's rows: each dk and dv row
      // then sums the same products in the same order whichever pass runs (the same bits on any thread count)
      for (i64 c = r0, next; c < r1; c = next) {
        next = (c / kRB + 1) * kRB;
        fn.pack(C, L, dout, q, out, lse, u / s.Hkv, u % s.Hkv, c, std::min(next, r1));
        fn.block(C, dk, dv, k16, v16, alibi, seg, L, kb, kGradKV);
      }
    }
  }
}

}  // namespace

void attention_bf16_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                             const float* v, const float* out, const float* lse, const float* alibi,
                             const int32_t* seg, const AttnShape& s, bool accumulate) {
  round_kv(g_k16, g_v16, k, v, s.B * s.Tk * s.Hkv * s.D);
  backward(dq, dk, dv, dout, q, g_k16.data(), g_v16.data(), out, lse, alibi, seg, s, accumulate);
}

void attention_bf16_bits_backward(float* dq, float* dk, float* dv, const float* dout, const uint16_t* q16,
                                  const uint16_t* k16, const uint16_t* v16, const uint16_t* out16, const float* lse,
                                  const float* alibi, const int32_t* seg, const AttnShape& s, bool accumulate) {
  backward<uint16_t>(dq, dk, dv, dout, q16, k16, v16, out16, lse, alibi, seg, s, accumulate);
}

}  // namespace sh
