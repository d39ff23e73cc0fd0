// Shared parts of the gated delta rule kernels (k_delta_rule.cc, k_delta_rule_backward.cc): the chunk list of a
// row, small row-major BLAS wrappers, and the per-chunk terms both the forward and the backward compute.
// Per chunk of c tokens of one value head: Q (scaled), K [c, Dk], V [c, Dv], g, beta [c]; gam = cumsum(g),
// e = exp(gam), decay_ij = exp(gam_i - gam_j) (j <= i), M = I + strictly-lower(beta_i k_i.k_j * decay_ij),
// U = M^-1 diag(beta) V, W = M^-1 diag(beta e) K, Vn = U - W S. Semantics: src/kernels/types.ts deltaRuleChunk.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "blas.h"
#include "common.h"

namespace sh {
namespace dr {

constexpr i64 kChunk = 64;

struct Chunk {
  i64 start, len;
  bool first;  // the first chunk of its segment (starts from zeros unless it is the row's first)
};

/** Row b's chunks: each run of equal segment ids (the whole row without seg) cut every kChunk tokens. */
std::vector<Chunk> chunks_of(const int32_t* seg, i64 b, i64 T);
/** The most chunks any row has (NC of the saved chunk states). */
i64 chunk_count(const int32_t* seg, i64 B, i64 T);

struct Dims {
  i64 B, T, Hk, Hv, Dk, Dv;
  float scale;
};

/** Row-major C = alpha op(A) op(B) + beta C. */
inline void mm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B, i64 ldb,
               float beta, float* C, i64 ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

/** X = M^-1 X (trans: M^-T X) for the unit lower-triangular M [c, c]; X [c, n]. */
inline void solve_unit_lower(bool trans, i64 c, i64 n, const float* M, float* X) {
  if (c == 0 || n == 0) return;
  cblas_strsm(CblasRowMajor, CblasLeft, CblasLower, trans ? CblasTrans : CblasNoTrans, CblasUnit, static_cast<int>(c),
              static_cast<int>(n), 1.0f, M, static_cast<int>(c), X, static_cast<int>(n));
}

/** Workspace for one chunk of one value head, sized for kChunk tokens; compute() fills the forward terms. */
struct Terms {
  i64 Dk, Dv, c = 0;
  std::vector<float> Q, K, V, g, beta, gam, e, f, decay, KK, M, U, W, Vn;
  Terms(i64 dk, i64 dv)
      : Dk(dk), Dv(dv), Q(kChunk * dk), K(kChunk * dk), V(kChunk * dv), g(kChunk), beta(kChunk), gam(kChunk),
        e(kChunk), f(kChunk), decay(kChunk * kChunk), KK(kChunk * kChunk), M(kChunk * kChunk), U(kChunk * dv),
        W(kChunk * dk), Vn(kChunk * dv) {}

  /** Gathers tokens [t0, t0 + len) of value head h in row b (Q times scale). */
  void gather(const float* q, const float* k, const float* v, const float* gg, const float* bb, const Dims& d, i64 b,
              i64 h, i64 t0, i64 len) {
    c = len;
    const i64 hk = h / (d.Hv / d.Hk);
    for (i64 i = 0; i < c; ++i) {
      const i64 row = b * d.T + t0 + i;
      const float* qs = q + (row * d.Hk + hk) * Dk;
      for (i64 a = 0; a < Dk; ++a) Q[i * Dk + a] = qs[a] * d.scale;
      std::memcpy(&K[i * Dk], k + (row * d.Hk + hk) * Dk, static_cast<size_t>(Dk) * sizeof(float));
      std::memcpy(&V[i * Dv], v + (row * d.Hv + h) * Dv, static_cast<size_t>(Dv) * sizeof(float));
      g[i] = gg[row * d.Hv + h];
      beta[i] = bb[row * d.Hv + h];
    }
  }

  /** gam, e, f, decay, KK, M, U, W and Vn = U - W S from the gathered chunk and the start state S [Dk, Dv]. */
  void compute(const float* S) {
    float run = 0;
    for (i64 i = 0; i < c; ++i) {
      run += g[i];
      gam[i] = run;
      e[i] = std::exp(run);
    }
    for (i64 i = 0; i < c; ++i) f[i] = std::exp(gam[c - 1] - gam[i]);
    mm(false, true, c, c, Dk, 1.0f, K.data(), Dk, K.data(), Dk, 0.0f, KK.data(), c);
    for (i64 i = 0; i < c; ++i) {
      for (i64 j = 0; j < c; ++j) {
        const float dec = j <= i ? std::exp(gam[i] - gam[j]) : 0.0f;
        decay[i * c + j] = dec;
        M[i * c + j] = j < i ? beta[i] * KK[i * c + j] * dec : (i == j ? 1.0f : 0.0f);
      }
      for (i64 d = 0; d < Dv; ++d) U[i * Dv + d] = beta[i] * V[i * Dv + d];
      for (i64 a = 0; a < Dk; ++a) W[i * Dk + a] = beta[i] * e[i] * K[i * Dk + a];
    }
    solve_unit_lower(false, c, Dv, M.data(), U.data());
    solve_unit_lower(false, c, Dk, M.data(), W.data());
    std::memcpy(Vn.data(), U.data(), static_cast<size_t>(c * Dv) * sizeof(float));
    mm(false, false, c, Dv, Dk, -1.0f, W.data(), Dk, S, Dv, 1.0f, Vn.data(), Dv);
  }
};

}  // namespace dr
}  // namespace sh
