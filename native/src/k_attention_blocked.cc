// Blocked attention on sgemm: a block of queries for all query heads of one kv group is scored against its key
// range by one single-threaded sgemm (blocks run in parallel), masked, exponentiated and multiplied by V.
// Backward by kv group, recomputing probabilities from lse (see attention_blocked_backward). Semantics as
// k_attention.cc.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "attention.h"
#include "attention_blocks.h"
#include "gemm_backend.h"
#include "fastmath.h"
#include "lowp.h"

namespace sh {

using namespace attn;

namespace {

// Block sizes measured at B=4, T=256, H=9/3, D=64, causal: 32 wastes less on the diagonal block than 64
// (whose upper triangle is computed and masked) and the sgemms stay efficient.
constexpr i64 kQB = 32;   // queries per block (forward)
constexpr i64 kKB = 32;   // keys per block (backward)
constexpr i64 kRB = 256;  // packed query rows per chunk (backward): a chunk with its P and dS stays in L2

// Row-major C = alpha * op(A) @ op(B) + beta * C
inline void mm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B, i64 ldb,
               float beta, float* C, i64 ldc) {
  sgemm_rm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/** Keys or values [lo, hi) of batch row b, kv head kvh as sgemm reads them: float32 in place (row stride ldk), or
 *  bf16 (a KV cache held in bf16) widened into buf (row stride D; a widening is exact). */
struct KvRows {
  const float* p;
  i64 ld;
};
inline KvRows kv_rows(const float* base, const Layout& L, i64 b, i64 lo, i64, i64 kvh, std::vector<float>&) {
  return {L.kv(base, b, lo, kvh), L.ldk};
}
inline KvRows kv_rows(const uint16_t* base, const Layout& L, i64 b, i64 lo, i64 hi, i64 kvh, std::vector<float>& buf) {
  const i64 D = L.s.D;
  if (static_cast<i64>(buf.size()) < (hi - lo) * D) buf.resize(static_cast<size_t>((hi - lo) * D));
  for (i64 j = lo; j < hi; ++j) {
    const uint16_t* src = L.kv(base, b, j, kvh);
    float* dst = buf.data() + (j - lo) * D;
    for (i64 d = 0; d < D; ++d) dst[d] = bf16_widen(src[d]);
  }
  return {buf.data(), D};
}

}  // namespace

template <typename E>
static void blocked_forward(float* out, float* lse, const float* q, const E* k, const E* v, const float* alibi,
                            const int32_t* seg, const AttnShape& s) {
  const Layout L(s);
  const i64 qblocks = (s.Tq + kQB - 1) / kQB, G = L.group, D = s.D;
  const i64 tasks = s.B * s.Hkv * qblocks;
  BlasSingleThread single;
  GemmSignalsHeld held;  // for every GEMM the team calls
#pragma omp parallel num_threads(team_size(s.B * s.H * s.Tq * s.Tk * s.D))
  {
    // a block of queries for every head of one kv group, as rows r = (t - t0) * G + g
    std::vector<float> Q(static_cast<size_t>(kQB * G * D)), O(Q.size()), S(static_cast<size_t>(kQB * G * s.Tk));
    std::vector<float> inv(static_cast<size_t>(kQB * G));
    std::vector<float> wide;  // a bf16 cache's keys, then values, of one task
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasks; ++task) {
      const i64 b = task / (s.Hkv * qblocks), kvh = (task / qblocks) % s.Hkv, t0 = (task % qblocks) * kQB;
      const i64 t1 = std::min(t0 + kQB, s.Tq), m = (t1 - t0) * G;
      i64 lo, hi;
      block_key_range(s, t0, t1, &lo, &hi);
      const i64 nk = hi - lo;
      for (i64 r = 0; r < m; ++r)
        std::memcpy(Q.data() + r * D, L.q(q, b, t0 + r / G, kvh * G + r % G), static_cast<size_t>(D) * sizeof(float));
      // S [m, nk] = scale * Q [m, D] @ K[lo:hi]^T, soft-capped when asked
      if (nk > 0) {
        const KvRows K = kv_rows(k, L, b, lo, hi, kvh, wide);
        mm(false, true, m, nk, D, s.scale, Q.data(), D, K.p, K.ld, 0.0f, S.data(), nk);
      }
      if (s.softcap > 0.0f) cap_block(S.data(), nullptr, m * nk, s);
      const int32_t* segb = seg != nullptr ? seg + b * s.Tk : nullptr;
      for (i64 r = 0; r < m; ++r) {
        const i64 t = t0 + r / G, h = kvh * G + r % G;
        float* row = S.data() + r * nk;
        i64 a, e;
        mask_row(row, nk, lo, L.off + t, s, segb, alibi != nullptr ? alibi[h] : 0.0f, &a, &e);
        const float mx = row_max(row + a, e - a);
        if (mx == kNegInf) {  // sees no key: zero probabilities give a zero output row
          std::fill(row, row + nk, 0.0f);
          lse[(b * s.H + h) * s.Tq + t] = kNegInf;
          inv[r] = 0.0f;
          continue;
        }
        exp_span(row, nk, a, e, mx);
        const double sum = sum_d(row + a, e - a);
        inv[r] = static_cast<float>(1.0 / sum);
        lse[(b * s.H + h) * s.Tq + t] = static_cast<float>(mx + std::log(sum));
      }
      // O [m, D] = exp(S - max) @ V[lo:hi], normalised row by row on the way out
      if (nk > 0) {
        const KvRows V = kv_rows(v, L, b, lo, hi, kvh, wide);
        mm(false, false, m, D, nk, 1.0f, S.data(), nk, V.p, V.ld, 0.0f, O.data(), D);
      } else {
        std::fill(O.begin(), O.end(), 0.0f);
      }
      for (i64 r = 0; r < m; ++r) {
        float* dst = L.q(out, b, t0 + r / G, kvh * G + r % G);
        const float* src = O.data() + r * D;
        for (i64 d = 0; d < D; ++d) dst[d] = src[d] * inv[r];
      }
    }
  }
}

void attention_blocked(float* out, float* lse, const float* q, const float* k, const float* v, const float* alibi,
                       const int32_t* seg, const AttnShape& s) {
  blocked_forward(out, lse, q, k, v, alibi, seg, s);
}

void attention_blocked_bf16_kv(float* out, float* lse, const float* q, const uint16_t* k, const uint16_t* v,
                               const float* alibi, const int32_t* seg, const AttnShape& s) {
  blocked_forward(out, lse, q, k, v, alibi, seg, s);
}

namespace {

// The query rows of one kv group, r = t * group + g (query t, head h0 + g), so that a key block meets every
// query head of its group in one sgemm. The backward works on chunks of kRB such rows, packed into per-thread
// scratch that stays in L2.
struct Chunk {
  i64 b = 0, kvh = 0, r0 = 0, r1 = 0;  // batch row, kv head, packed rows [r0, r1)
  std::vector<float> q, dout, dq;      // [kRB, D]
  std::vector<float> lse, di;          // [kRB]
  std::vector<float> p, ds, capg;      // [kRB, kKB]; capg: d cap / dx of the soft-capped scores
  explicit Chunk(i64 D)
      : q(static_cast<size_t>(kRB * D)), dout(q.size()), dq(q.size()), lse(static_cast<size_t>(kRB)), di(lse.size()),
        p(static_cast<size_t>(kRB * kKB)), ds(p.size()), capg(p.size()) {}
};

/** Packs rows [r0, r1) of batch row b, kv head kvh: q, dout, lse, Di = dout . out (0 where the query sees no
 *  key), dq = 0. */
void pack(Chunk& C, const Layout& L, const float* dout, const float* q, const float* out, const float* lse, i64 b,
          i64 kvh, i64 r0, i64 r1) {
  const AttnShape& s = L.s;
  C.b = b;
  C.kvh = kvh;
  C.r0 = r0;
  C.r1 = r1;
  for (i64 r = r0; r < r1; ++r) {
    const i64 t = r / L.group, h = kvh * L.group + r % L.group, i = r - r0;
    const float l = lse[(b * s.H + h) * s.Tq + t];
    std::memcpy(C.q.data() + i * s.D, L.q(q, b, t, h), static_cast<size_t>(s.D) * sizeof(float));
    std::memcpy(C.dout.data() + i * s.D, L.q(dout, b, t, h), static_cast<size_t>(s.D) * sizeof(float));
    std::fill(C.dq.data() + i * s.D, C.dq.data() + (i + 1) * s.D, 0.0f);
    C.lse[i] = l;
    C.di[i] = l == kNegInf ? 0.0f : dot(L.q(dout, b, t, h), L.q(out, b, t, h), s.D);
  }
}

enum Grads { kGradQ = 1, kGradKV = 2 };

/** The chunk's rows that may see key block kb, against it: P = exp(S - lse), dS = scale * P * (dout V^T - Di)
 *  (times cap'(S) under a soft-cap);
 *  kGradKV: dv += P^T dout, dk += dS^T Q; kGradQ: packed dq += dS K. */
void key_block(Chunk& C, float* dk, float* dv, const float* k, const float* v, const float* alibi,
               const int32_t* seg, const Layout& L, i64 kb, int grads) {
  const AttnShape& s = L.s;
  const i64 D = s.D, j0 = kb * kKB, nk = std::min(kKB, s.Tk - j0);
  i64 lo, hi;
  block_rows(L, j0, j0 + nk, &lo, &hi);
  lo = std::max(lo, C.r0) - C.r0;
  hi = std::min(hi, C.r1) - C.r0;
  if (hi <= lo) return;
  const i64 m = hi - lo;
  const float* K = L.kv(k, C.b, j0, C.kvh);
  const float* Q = C.q.data() + lo * D;
  const float* dO = C.dout.data() + lo * D;
  const int32_t* segb = seg != nullptr ? seg + C.b * s.Tk : nullptr;
  float* P = C.p.data();
  float* dS = C.ds.data();
  mm(false, true, m, nk, D, s.scale, Q, D, K, L.ldk, 0.0f, P, nk);  // S [m, nk]
  const bool capped = s.softcap > 0.0f;
  if (capped) cap_block(P, C.capg.data(), m * nk, s);
  for (i64 i = 0; i < m; ++i) {
    const i64 r = C.r0 + lo + i, h = C.kvh * L.group + r % L.group;
    const float l = C.lse[lo + i];
    i64 a = 0, e = 0;  // a query that sees no key gets a zero row
    if (l != kNegInf)
      mask_row(P + i * nk, nk, j0, L.off + r / L.group, s, segb, alibi != nullptr ? alibi[h] : 0.0f, &a, &e);
    exp_span(P + i * nk, nk, a, e, l);
  }
  if (grads & kGradKV) mm(true, false, nk, D, m, 1.0f, P, nk, dO, D, 1.0f, L.kv(dv, C.b, j0, C.kvh), L.ldk);
  mm(false, true, m, nk, D, 1.0f, dO, D, L.kv(v, C.b, j0, C.kvh), L.ldk, 0.0f, dS, nk);  // dout V^T
  for (i64 i = 0; i < m; ++i) {
    float* g = dS + i * nk;
    const float* p = P + i * nk;
    const float di = C.di[lo + i];
    for (i64 j = 0; j < nk; ++j) g[j] = s.scale * (p[j] * (g[j] - di));
    if (capped)
      for (i64 j = 0; j < nk; ++j) g[j] *= C.capg[i * nk + j];
  }
  if (grads & kGradQ) mm(false, false, m, D, nk, 1.0f, dS, nk, K, L.ldk, 1.0f, C.dq.data() + lo * D, D);
  if (grads & kGradKV) mm(true, false, nk, D, m, 1.0f, dS, nk, Q, D, 1.0f, L.kv(dk, C.b, j0, C.kvh), L.ldk);
}

/** dq += the chunk's packed dq. */
void unpack_dq(float* dq, const Chunk& C, const Layout& L) {
  for (i64 r = C.r0; r < C.r1; ++r)
    axpy(L.q(dq, C.b, r / L.group, C.kvh * L.group + r % L.group), C.dq.data() + (r - C.r0) * L.s.D, 1.0f, L.s.D);
}

}  // namespace

// Backward by kv group, in chunks of packed query rows, each against the key blocks it may see. With at least
// half as many (batch row, kv head) units as threads: one pass, a unit per task, owning its dk, dv and dq rows,
// so probabilities are computed once and nothing is shared. Otherwise two passes for more parallelism,
// recomputing probabilities: dq by (unit, chunk), then dk/dv by (unit, key block). Every output sums in a fixed
// order that neither path changes (the second pass takes its rows in the first's chunks), so results are the same
// bits on any thread count.
void attention_blocked_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                const float* v, const float* out, const float* lse, const float* alibi,
                                const int32_t* seg, const AttnShape& s) {
  const Layout L(s);
  const i64 units = s.B * s.Hkv, rows = s.Tq * L.group;
  const i64 kblocks = (s.Tk + kKB - 1) / kKB, chunks = (rows + kRB - 1) / kRB;
  const int team = team_size(s.B * s.H * s.Tq * s.Tk * s.D);
  const bool one_pass = 2 * units >= team;
  BlasSingleThread single;
  GemmSignalsHeld held;  // for every GEMM the team calls
#pragma omp parallel num_threads(team)
  {
    Chunk C(s.D);
    // one pass: (unit, all chunks); pass A: (unit, one chunk), dq only
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < (one_pass ? units : units * chunks); ++task) {
      const i64 u = one_pass ? task : task / chunks;
      const i64 c0 = one_pass ? 0 : task % chunks, c1 = one_pass ? chunks : c0 + 1;
      for (i64 c = c0; c < c1; ++c) {
        pack(C, L, dout, q, out, lse, u / s.Hkv, u % s.Hkv, c * kRB, std::min(c * kRB + kRB, rows));
        for (i64 kb = 0; kb < kblocks; ++kb)
          key_block(C, dk, dv, k, v, alibi, seg, L, kb, one_pass ? kGradQ | kGradKV : kGradQ);
        unpack_dq(dq, C, L);
      }
    }
    // pass B: (unit, key block), dk and dv only
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < (one_pass ? 0 : units * kblocks); ++task) {
      const i64 u = task / kblocks, kb = task % kblocks;
      i64 r0, r1;
      block_rows(L, kb * kKB, std::min(kb * kKB + kKB, s.Tk), &r0, &r1);
      // chunks on the one pass's boundaries (multiples of kRB), clipped to the block's rows: each dk and dv row
      // then sums the same products in the same order whichever pass runs (the same bits on any thread count)
      for (i64 c = r0, next; c < r1; c = next) {
        next = (c / kRB + 1) * kRB;
        pack(C, L, dout, q, out, lse, u / s.Hkv, u % s.Hkv, c, std::min(next, r1));
        key_block(C, dk, dv, k, v, alibi, seg, L, kb, kGradKV);
      }
    }
  }
}

}  // namespace sh
