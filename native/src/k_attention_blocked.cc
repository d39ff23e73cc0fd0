// Blocked attention on sgemm: each block of queries is scored against its key range by one single-threaded
// sgemm (blocks run in parallel), masked, exponentiated and multiplied by V. Backward: two race-free passes
// (dq by query blocks, dk/dv by key blocks) recomputing probabilities from lse. Semantics as k_attention.cc.
#include <cmath>
#include <cstring>
#include <vector>

#include "attention.h"
#include "blas.h"
#include "fastmath.h"

namespace sh {

using namespace attn;

namespace {

constexpr i64 kQB = 64;  // queries per block (forward, dq pass)
constexpr i64 kKB = 64;  // keys per block (dk/dv pass)

// Row-major C = alpha * op(A) @ op(B) + beta * C
inline void mm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B, i64 ldb,
               float beta, float* C, i64 ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

/** Keys [lo, hi) any query t0 <= t < t1 may see (both ends of key_range grow with the position). */
inline void block_key_range(const AttnShape& s, i64 t0, i64 t1, i64* lo, i64* hi) {
  const i64 off = s.Tk - s.Tq;
  i64 lo0, hi0, lo1, hi1;
  key_range(s, off + t0, &lo0, &hi0);
  key_range(s, off + t1 - 1, &lo1, &hi1);
  *lo = lo0;
  *hi = hi1 > lo0 ? hi1 : lo0;
}

/** Scores row for the query at position P over keys lo + [0, nk): invisible keys become -inf, ALiBi added. */
inline void mask_row(float* row, i64 nk, i64 lo, i64 P, const AttnShape& s, const int32_t* segb, float slope) {
  i64 a, e;
  key_range(s, P, &a, &e);
  a = a < lo ? 0 : a - lo;
  e = e - lo < nk ? e - lo : nk;
  if (e < a) e = a;
  for (i64 j = 0; j < a; ++j) row[j] = kNegInf;
  for (i64 j = e; j < nk; ++j) row[j] = kNegInf;
  if (segb != nullptr)
    for (i64 j = a; j < e; ++j)
      if (segb[lo + j] != segb[P]) row[j] = kNegInf;
  if (slope != 0.0f)
    for (i64 j = a; j < e; ++j) row[j] += slope * static_cast<float>(lo + j - P);
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

}  // namespace

void attention_blocked(float* out, float* lse, const float* q, const float* k, const float* v, const float* alibi,
                       const int32_t* seg, const AttnShape& s) {
  const Layout L(s);
  const i64 qblocks = (s.Tq + kQB - 1) / kQB;
  const i64 tasks = s.B * s.H * qblocks;
  BlasSingleThread single;
#pragma omp parallel num_threads(team_size(s.B * s.H * s.Tq * s.Tk * s.D))
  {
    std::vector<float> S(static_cast<size_t>(kQB * s.Tk));
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasks; ++task) {
      const i64 b = task / (s.H * qblocks), h = (task / qblocks) % s.H, t0 = (task % qblocks) * kQB;
      const i64 t1 = t0 + kQB < s.Tq ? t0 + kQB : s.Tq, nq = t1 - t0;
      i64 lo, hi;
      block_key_range(s, t0, t1, &lo, &hi);
      const i64 nk = hi - lo;
      float* O = L.q(out, b, t0, h);
      float* lrow = lse + (b * s.H + h) * s.Tq + t0;
      if (nk == 0) {
        for (i64 r = 0; r < nq; ++r) {
          std::memset(O + r * L.ldq, 0, static_cast<size_t>(s.D) * sizeof(float));
          lrow[r] = kNegInf;
        }
        continue;
      }
      // S [nq, nk] = scale * Q [nq, D] @ K[lo:hi]^T
      mm(false, true, nq, nk, s.D, s.scale, L.q(q, b, t0, h), L.ldq, L.kv(k, b, lo, h / L.group), L.ldk, 0.0f,
         S.data(), nk);
      const int32_t* segb = seg != nullptr ? seg + b * s.Tk : nullptr;
      const float slope = alibi != nullptr ? alibi[h] : 0.0f;
      for (i64 r = 0; r < nq; ++r) {
        float* row = S.data() + r * nk;
        mask_row(row, nk, lo, L.off + t0 + r, s, segb, slope);
        const float m = row_max(row, nk);
        if (m == kNegInf) {  // sees no key: zero probabilities give a zero output row
          std::memset(row, 0, static_cast<size_t>(nk) * sizeof(float));
          lrow[r] = kNegInf;
          continue;
        }
        for (i64 j = 0; j < nk; ++j) row[j] = exp_fast(row[j] - m);
        const double sum = sum_d(row, nk);
        const float inv = static_cast<float>(1.0 / sum);
        for (i64 j = 0; j < nk; ++j) row[j] *= inv;
        lrow[r] = static_cast<float>(m + std::log(sum));
      }
      // O [nq, D] = P [nq, nk] @ V[lo:hi]
      mm(false, false, nq, s.D, nk, 1.0f, S.data(), nk, L.kv(v, b, lo, h / L.group), L.ldk, 0.0f, O, L.ldq);
    }
  }
}

// Pass A (query blocks): Di = rowsum(dout * out); P = exp(S - lse); dS = P * (dout V^T - Di); dq += scale dS K.
// Pass B (key blocks, each owning its dk/dv rows for the whole kv group): P^T and dS^T recomputed from K Q^T;
// dv += P^T dout; dk += scale * dS^T Q.
void attention_blocked_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                const float* v, const float* out, const float* lse, const float* alibi,
                                const int32_t* seg, const AttnShape& s) {
  const Layout L(s);
  std::vector<float> Di(static_cast<size_t>(s.B * s.H * s.Tq));
  const i64 qblocks = (s.Tq + kQB - 1) / kQB, kblocks = (s.Tk + kKB - 1) / kKB;
  const i64 tasksA = s.B * s.H * qblocks, tasksB = s.B * s.Hkv * kblocks;
  const i64 scratch = kQB * s.Tk > kKB * s.Tq ? kQB * s.Tk : kKB * s.Tq;
  BlasSingleThread single;
#pragma omp parallel num_threads(team_size(s.B * s.H * s.Tq * s.Tk * s.D))
  {
    std::vector<float> P(static_cast<size_t>(scratch)), G(static_cast<size_t>(scratch));
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasksA; ++task) {
      const i64 b = task / (s.H * qblocks), h = (task / qblocks) % s.H, t0 = (task % qblocks) * kQB;
      const i64 t1 = t0 + kQB < s.Tq ? t0 + kQB : s.Tq, nq = t1 - t0;
      const float* lrow = lse + (b * s.H + h) * s.Tq + t0;
      float* di = Di.data() + (b * s.H + h) * s.Tq + t0;
      for (i64 r = 0; r < nq; ++r)
        di[r] = lrow[r] == kNegInf ? 0.0f : dot(L.q(dout, b, t0 + r, h), L.q(out, b, t0 + r, h), s.D);
      i64 lo, hi;
      block_key_range(s, t0, t1, &lo, &hi);
      const i64 nk = hi - lo;
      if (nk == 0) continue;
      const float* K = L.kv(k, b, lo, h / L.group);
      mm(false, true, nq, nk, s.D, s.scale, L.q(q, b, t0, h), L.ldq, K, L.ldk, 0.0f, P.data(), nk);
      const int32_t* segb = seg != nullptr ? seg + b * s.Tk : nullptr;
      const float slope = alibi != nullptr ? alibi[h] : 0.0f;
      for (i64 r = 0; r < nq; ++r) {
        float* row = P.data() + r * nk;
        if (lrow[r] == kNegInf) {
          std::memset(row, 0, static_cast<size_t>(nk) * sizeof(float));
          continue;
        }
        mask_row(row, nk, lo, L.off + t0 + r, s, segb, slope);
        for (i64 j = 0; j < nk; ++j) row[j] = exp_fast(row[j] - lrow[r]);
      }
      // G = dout V^T, then dS = P * (G - Di) in place
      mm(false, true, nq, nk, s.D, 1.0f, L.q(dout, b, t0, h), L.ldq, L.kv(v, b, lo, h / L.group), L.ldk, 0.0f,
         G.data(), nk);
      for (i64 r = 0; r < nq; ++r) {
        float* g = G.data() + r * nk;
        const float* p = P.data() + r * nk;
        for (i64 j = 0; j < nk; ++j) g[j] = p[j] * (g[j] - di[r]);
      }
      mm(false, false, nq, s.D, nk, s.scale, G.data(), nk, K, L.ldk, 1.0f, L.q(dq, b, t0, h), L.ldq);
    }
    // implicit barrier: Di complete
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasksB; ++task) {
      const i64 b = task / (s.Hkv * kblocks), kvh = (task / kblocks) % s.Hkv, j0 = (task % kblocks) * kKB;
      const i64 j1 = j0 + kKB < s.Tk ? j0 + kKB : s.Tk, nk = j1 - j0;
      // queries that may see a key in [j0, j1): position off + t >= j0 (causal), < j1 - 1 + window (window)
      i64 ta = s.causal == 1 ? j0 - L.off : 0, tb = s.window > 0 ? j1 - 1 + s.window - L.off : s.Tq;
      ta = ta < 0 ? 0 : ta;
      tb = tb > s.Tq ? s.Tq : tb;
      if (tb <= ta) continue;
      const i64 nq = tb - ta;
      const int32_t* segb = seg != nullptr ? seg + b * s.Tk : nullptr;
      const float* K = L.kv(k, b, j0, kvh);
      const float* V = L.kv(v, b, j0, kvh);
      for (i64 h = kvh * L.group; h < (kvh + 1) * L.group; ++h) {
        const float* Q = L.q(q, b, ta, h);
        const float* dO = L.q(dout, b, ta, h);
        const float* lrow = lse + (b * s.H + h) * s.Tq + ta;
        const float* di = Di.data() + (b * s.H + h) * s.Tq + ta;
        const float slope = alibi != nullptr ? alibi[h] : 0.0f;
        // P^T [nk, nq] = exp(scale * K Q^T + alibi - lse), 0 where invisible
        mm(false, true, nk, nq, s.D, s.scale, K, L.ldk, Q, L.ldq, 0.0f, P.data(), nq);
        for (i64 jj = 0; jj < nk; ++jj) {
          float* row = P.data() + jj * nq;
          const i64 j = j0 + jj;
          for (i64 tt = 0; tt < nq; ++tt) {
            const i64 pos = L.off + ta + tt;
            const bool vis = lrow[tt] != kNegInf && visible(s, segb, pos, j);
            const float x = slope != 0.0f ? row[tt] + slope * static_cast<float>(j - pos) : row[tt];
            row[tt] = vis ? exp_fast(x - lrow[tt]) : 0.0f;
          }
        }
        mm(false, false, nk, s.D, nq, 1.0f, P.data(), nq, dO, L.ldq, 1.0f, L.kv(dv, b, j0, kvh), L.ldk);
        // G^T = V dout^T, then dS^T = P^T * (G^T - Di)
        mm(false, true, nk, nq, s.D, 1.0f, V, L.ldk, dO, L.ldq, 0.0f, G.data(), nq);
        for (i64 jj = 0; jj < nk; ++jj) {
          float* g = G.data() + jj * nq;
          const float* p = P.data() + jj * nq;
          for (i64 tt = 0; tt < nq; ++tt) g[tt] = p[tt] * (g[tt] - di[tt]);
        }
        mm(false, false, nk, s.D, nq, s.scale, G.data(), nq, Q, L.ldq, 1.0f, L.kv(dk, b, j0, kvh), L.ldk);
      }
    }
  }
}

}  // namespace sh
