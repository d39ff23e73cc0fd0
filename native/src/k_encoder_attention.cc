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

constexpr i64 kQB = 256;  // queries per block
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

/** Keys [lo, hi) that queries [t0, t1) may see: the window around them, cut after the row's last real token
 *  (trailing padding is never seen, so its scores are never computed). `last` is that token's index + 1. */
inline void key_span(const EncoderAttnShape& s, i64 t0, i64 t1, i64 last, i64* lo, i64* hi) {
  *lo = s.window >= 0 ? std::max<i64>(0, t0 - s.window) : 0;
  *hi = std::min(last, s.window >= 0 ? std::min<i64>(s.T, t1 + s.window) : s.T);
  if (*hi < *lo) *hi = *lo;
}

/** One past the last real token of batch row b (T without a mask). */
inline i64 last_real(const int32_t* maskb, i64 T) {
  if (maskb == nullptr) return T;
  i64 n = T;
  while (n > 0 && maskb[n - 1] == 0) --n;
  return n;
}

/** madd[j] = 0 for a real key lo + j, -inf for padding (added to every score row of the block). */
inline void mask_add(float* madd, i64 nk, i64 lo, const int32_t* maskb) {
  for (i64 j = 0; j < nk; ++j) madd[j] = maskb == nullptr || maskb[lo + j] != 0 ? 0.0f : kNegInf;
}

/** The scores of query t over keys lo + [0, nk): padding masked by madd, keys outside the window set to -inf. */
inline void mask_row(float* row, const float* madd, i64 nk, i64 lo, i64 t, const EncoderAttnShape& s) {
  for (i64 j = 0; j < nk; ++j) row[j] += madd[j];
  if (s.window < 0) return;
  const i64 a = std::min(nk, std::max<i64>(0, t - s.window - lo)), e = std::max(a, std::min(nk, t + s.window + 1 - lo));
  std::fill(row, row + a, kNegInf);
  std::fill(row + e, row + nk, kNegInf);
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
    std::vector<float> S(static_cast<size_t>(kQB * s.T)), madd(static_cast<size_t>(s.T));
    std::vector<char> empty(static_cast<size_t>(kQB));
    std::vector<float> inv(static_cast<size_t>(kQB));
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasks; ++task) {
      const i64 b = task / (s.H * qblocks), h = (task / qblocks) % s.H, t0 = (task % qblocks) * kQB;
      const i64 t1 = std::min(t0 + kQB, s.T), m = t1 - t0;
      const int32_t* maskb = mask != nullptr ? mask + b * s.T : nullptr;
      i64 lo, hi;
      key_span(s, t0, t1, last_real(maskb, s.T), &lo, &hi);
      const i64 nk = hi - lo;
      mask_add(madd.data(), nk, lo, maskb);
      if (nk > 0) mm(false, true, m, nk, s.D, s.scale, R.at(q, b, t0, h), R.ld, R.at(k, b, lo, h), R.ld, 0.0f, S.data(), nk);
      for (i64 r = 0; r < m; ++r) {
        float* row = S.data() + r * nk;
        mask_row(row, madd.data(), nk, lo, t0 + r, s);
        const float mx = nk > 0 ? row_max(row, nk) : kNegInf;
        float* l = lse + (b * s.H + h) * s.T + t0 + r;
        empty[r] = mx == kNegInf;
        if (empty[r]) {
          std::fill(row, row + nk, 0.0f);
          *l = kNegInf;
          continue;
        }
        for (i64 j = 0; j < nk; ++j) row[j] = exp_fast(row[j] - mx);
        const double sum = sum_d(row, nk);
        inv[r] = static_cast<float>(1.0 / sum);
        *l = static_cast<float>(mx + std::log(sum));
      }
      // O [m, D] = exp(S - max) [m, nk] @ V[lo:hi], written in place into out's rows, then normalised row by row
      // (D values per row instead of nk)
      if (nk > 0) mm(false, false, m, s.D, nk, 1.0f, S.data(), nk, R.at(v, b, lo, h), R.ld, 0.0f, R.at(out, b, t0, h), R.ld);
      for (i64 r = 0; r < m; ++r) {
        float* o = R.at(out, b, t0 + r, h);
        if (empty[r] || nk == 0) uniform_row(o, v, R, b, h);
        else for (i64 d = 0; d < s.D; ++d) o[d] *= inv[r];
      }
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
  const i64 last = last_real(maskb, s.T);
  std::vector<float> madd(static_cast<size_t>(s.T));
  for (i64 t0 = 0; t0 < s.T; t0 += kQB) {
    const i64 t1 = std::min(t0 + kQB, s.T), m = t1 - t0;
    i64 lo, hi;
    key_span(s, t0, t1, last, &lo, &hi);
    const i64 nk = hi - lo;
    mask_add(madd.data(), nk, lo, maskb);
    if (nk > 0) mm(false, true, m, nk, s.D, s.scale, R.at(q, b, t0, h), R.ld, R.at(k, b, lo, h), R.ld, 0.0f, P.data(), nk);
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
      mask_row(row, madd.data(), nk, lo, t0 + r, s);
      for (i64 j = 0; j < nk; ++j) row[j] = exp_fast(row[j] - l);  // exp(-inf) = 0 on hidden keys
      di[r] = dot(g, R.at(out, b, t0 + r, h), s.D);
    }
    if (nk == 0) continue;
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

// Parallel over (batch row, head) units, each on single-threaded sgemm: a unit sums in its own fixed order, so the
// gradients are the same bits on any thread count. (With fewer units than half the threads the units had run one
// after another on the library's threads, whose split of a unit's products changed dk and dv with their number:
// B 1, H 2, T 512 from 8 threads.)
void encoder_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                const float* v, const float* out, const float* lse, const int32_t* mask,
                                const EncoderAttnShape& s) {
  const Rows R(s);
  const i64 units = s.B * s.H;
  const int team = static_cast<int>(std::min<i64>(team_size(s.B * s.H * s.T * s.T * s.D), units));
  const size_t scratch = static_cast<size_t>(kQB * s.T);
  BlasSingleThread single;
#pragma omp parallel num_threads(team)
  {
    std::vector<float> P(scratch), dS(scratch), di(static_cast<size_t>(kQB));
#pragma omp for schedule(dynamic, 1)
    for (i64 u = 0; u < units; ++u) unit_backward(dq, dk, dv, dout, q, k, v, out, lse, mask, R, u / s.H, u % s.H, P, dS, di);
  }
}

}  // namespace sh
