// Bidirectional encoder attention on sgemm: per (batch row, head) and block of queries, S = scale * Q K^T over the
// keys the block may see (all, or the local window around it), padding keys masked, softmax, O = P V; the backward
// recomputes P from lse per (batch row, head), which owns its dq, dk and dv rows. Rows are read in place from the
// [B, T, H, D] layout (leading dimension H * D). Semantics: src/kernels/ref/encoder-attention.ts.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "blas.h"
#include "encoder.h"
#include "fastmath.h"

namespace sh {

namespace {

constexpr i64 kQB = 64;  // queries per block
constexpr float kNegInf = -__builtin_inff();

// Row-major C = alpha * op(A) @ op(B) + beta * C
inline void mm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B, i64 ldb,
               float beta, float* C, i64 ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

struct Rows {
  const EncoderAttnShape& s;
  i64 ld;  // H * D
  explicit Rows(const EncoderAttnShape& sh) : s(sh), ld(sh.H * sh.D) {}
  template <typename F>
  F* at(F* base, i64 b, i64 t, i64 h) const { return base + ((b * s.T + t) * s.H + h) * s.D; }
};

/** Keys [lo, hi) that queries [t0, t1) may see. */
inline void key_span(const EncoderAttnShape& s, i64 t0, i64 t1, i64* lo, i64* hi) {
  *lo = s.window >= 0 ? std::max<i64>(0, t0 - s.window) : 0;
  *hi = s.window >= 0 ? std::min<i64>(s.T, t1 + s.window) : s.T;
}

/** -inf on the keys of row (query t, keys lo + [0, nk)) that are padding or outside the window. */
inline void mask_row(float* row, i64 nk, i64 lo, i64 t, const EncoderAttnShape& s, const int32_t* maskb) {
  for (i64 j = 0; j < nk; ++j) {
    const i64 key = lo + j;
    if ((maskb != nullptr && maskb[key] == 0) || (s.window >= 0 && std::abs(key - t) > s.window)) row[j] = kNegInf;
  }
}

/** out row = mean of v over all T keys (a query that sees no key). */
void uniform_row(float* o, const float* v, const Rows& R, i64 b, i64 h) {
  std::fill(o, o + R.s.D, 0.0f);
  const float w = 1.0f / static_cast<float>(R.s.T);
  for (i64 j = 0; j < R.s.T; ++j) axpy(o, R.at(v, b, j, h), w, R.s.D);
}

}  // namespace

void encoder_attention(float* out, float* lse, const float* q, const float* k, const float* v, const int32_t* mask,
                       const EncoderAttnShape& s) {
  const Rows R(s);
  const i64 qblocks = (s.T + kQB - 1) / kQB, tasks = s.B * s.H * qblocks;
  BlasSingleThread single;
#pragma omp parallel num_threads(team_size(s.B * s.H * s.T * s.T * s.D))
  {
    std::vector<float> S(static_cast<size_t>(kQB * s.T));
    std::vector<char> empty(static_cast<size_t>(kQB));
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasks; ++task) {
      const i64 b = task / (s.H * qblocks), h = (task / qblocks) % s.H, t0 = (task % qblocks) * kQB;
      const i64 t1 = std::min(t0 + kQB, s.T), m = t1 - t0;
      i64 lo, hi;
      key_span(s, t0, t1, &lo, &hi);
      const i64 nk = hi - lo;
      const int32_t* maskb = mask != nullptr ? mask + b * s.T : nullptr;
      mm(false, true, m, nk, s.D, s.scale, R.at(q, b, t0, h), R.ld, R.at(k, b, lo, h), R.ld, 0.0f, S.data(), nk);
      for (i64 r = 0; r < m; ++r) {
        float* row = S.data() + r * nk;
        mask_row(row, nk, lo, t0 + r, s, maskb);
        const float mx = row_max(row, nk);
        float* l = lse + (b * s.H + h) * s.T + t0 + r;
        empty[r] = mx == kNegInf;
        if (empty[r]) {
          std::fill(row, row + nk, 0.0f);
          *l = kNegInf;
          continue;
        }
        for (i64 j = 0; j < nk; ++j) row[j] = exp_fast(row[j] - mx);
        const double sum = sum_d(row, nk);
        const float inv = static_cast<float>(1.0 / sum);
        for (i64 j = 0; j < nk; ++j) row[j] *= inv;
        *l = static_cast<float>(mx + std::log(sum));
      }
      // O [m, D] = P [m, nk] @ V[lo:hi], written in place into out's rows
      mm(false, false, m, s.D, nk, 1.0f, S.data(), nk, R.at(v, b, lo, h), R.ld, 0.0f, R.at(out, b, t0, h), R.ld);
      for (i64 r = 0; r < m; ++r)
        if (empty[r]) uniform_row(R.at(out, b, t0 + r, h), v, R, b, h);
    }
  }
}

namespace {

/** The backward of one (batch row, head) unit, block of queries by block; accumulates into its own rows. */
void unit_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k, const float* v,
                   const float* out, const float* lse, const int32_t* mask, const Rows& R, i64 b, i64 h,
                   std::vector<float>& P, std::vector<float>& dS, std::vector<float>& di) {
  const EncoderAttnShape& s = R.s;
  const int32_t* maskb = mask != nullptr ? mask + b * s.T : nullptr;
  const float* L = lse + (b * s.H + h) * s.T;
  for (i64 t0 = 0; t0 < s.T; t0 += kQB) {
    const i64 t1 = std::min(t0 + kQB, s.T), m = t1 - t0;
    i64 lo, hi;
    key_span(s, t0, t1, &lo, &hi);
    const i64 nk = hi - lo;
    mm(false, true, m, nk, s.D, s.scale, R.at(q, b, t0, h), R.ld, R.at(k, b, lo, h), R.ld, 0.0f, P.data(), nk);
    for (i64 r = 0; r < m; ++r) {
      float* row = P.data() + r * nk;
      const float l = L[t0 + r];
      const float* g = R.at(dout, b, t0 + r, h);
      if (l == kNegInf) {  // uniform over every key: dv += dout / T, nothing reaches q or k
        std::fill(row, row + nk, 0.0f);
        di[r] = 0.0f;
        for (i64 j = 0; j < s.T; ++j) axpy(R.at(dv, b, j, h), g, 1.0f / static_cast<float>(s.T), s.D);
        continue;
      }
      mask_row(row, nk, lo, t0 + r, s, maskb);
      for (i64 j = 0; j < nk; ++j) row[j] = row[j] == kNegInf ? 0.0f : exp_fast(row[j] - l);
      di[r] = dot(g, R.at(out, b, t0 + r, h), s.D);
    }
    const float* dO = R.at(dout, b, t0, h);
    mm(true, false, nk, s.D, m, 1.0f, P.data(), nk, dO, R.ld, 1.0f, R.at(dv, b, lo, h), R.ld);     // dv += P^T dO
    mm(false, true, m, nk, s.D, 1.0f, dO, R.ld, R.at(v, b, lo, h), R.ld, 0.0f, dS.data(), nk);     // dO V^T
    for (i64 r = 0; r < m; ++r) {
      float* g = dS.data() + r * nk;
      const float* p = P.data() + r * nk;
      for (i64 j = 0; j < nk; ++j) g[j] = s.scale * p[j] * (g[j] - di[r]);
    }
    mm(false, false, m, s.D, nk, 1.0f, dS.data(), nk, R.at(k, b, lo, h), R.ld, 1.0f, R.at(dq, b, t0, h), R.ld);
    mm(true, false, nk, s.D, m, 1.0f, dS.data(), nk, R.at(q, b, t0, h), R.ld, 1.0f, R.at(dk, b, lo, h), R.ld);
  }
}

}  // namespace

// Parallel over (batch row, head) units with single-threaded sgemm when there are enough of them; otherwise the
// units run one after another on OpenBLAS's own threads.
void encoder_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                const float* v, const float* out, const float* lse, const int32_t* mask,
                                const EncoderAttnShape& s) {
  const Rows R(s);
  const i64 units = s.B * s.H;
  const int team = team_size(s.B * s.H * s.T * s.T * s.D);
  const size_t scratch = static_cast<size_t>(kQB * s.T);
  if (team > 1 && 2 * units >= team) {
    BlasSingleThread single;
#pragma omp parallel num_threads(team)
    {
      std::vector<float> P(scratch), dS(scratch), di(static_cast<size_t>(kQB));
#pragma omp for schedule(dynamic, 1)
      for (i64 u = 0; u < units; ++u) unit_backward(dq, dk, dv, dout, q, k, v, out, lse, mask, R, u / s.H, u % s.H, P, dS, di);
    }
    return;
  }
  std::vector<float> P(scratch), dS(scratch), di(static_cast<size_t>(kQB));
  for (i64 u = 0; u < units; ++u) unit_backward(dq, dk, dv, dout, q, k, v, out, lse, mask, R, u / s.H, u % s.H, P, dS, di);
}

}  // namespace sh
