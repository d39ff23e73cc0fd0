// Backward of the chunked gated delta rule, chunk by chunk in reverse from the chunk-start states the forward saved,
// each chunk's terms recomputed (delta_rule.h). The derivation is written out in src/kernels/ref/delta-rule-backward.ts
// (the reference twin, same steps in plain loops). Threads split rows x query/key heads, so the value heads that share
// a query/key head accumulate into dq and dk on one thread.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "delta_rule.h"
#include "kernels.h"

namespace sh {

using dr::mm;
using dr::solve_unit_lower;

namespace {

/** Per-thread gradient buffers of one chunk. */
struct Grads {
  std::vector<float> dQ, dK, dV, dVn, dW, dgam, dbeta, dDecay, KdS, SdO, dP, qk, dA, tmp;
  Grads(i64 Dk, i64 Dv)
      : dQ(dr::kChunk * Dk), dK(dr::kChunk * Dk), dV(dr::kChunk * Dv), dVn(dr::kChunk * Dv), dW(dr::kChunk * Dk),
        dgam(dr::kChunk), dbeta(dr::kChunk), dDecay(dr::kChunk * dr::kChunk), KdS(dr::kChunk * Dv),
        SdO(dr::kChunk * Dk), dP(dr::kChunk * dr::kChunk), qk(dr::kChunk * dr::kChunk), dA(dr::kChunk * dr::kChunk),
        tmp(dr::kChunk * std::max(Dk, Dv)) {}
};

/** One chunk: from dO [c, Dv] (rows strided by ldo) and dS (in: gradient of the state after the chunk; out: of the
 *  state before it), fills G.dQ (w.r.t. the scaled Q), dK, dV, dgam -> dg, dbeta. S is the chunk-start state. */
void chunk_backward(dr::Terms& t, Grads& G, const float* S, const float* dO, i64 ldo, float* dS) {
  const i64 c = t.c, Dk = t.Dk, Dv = t.Dv, SZ = Dk * Dv;
  std::fill(G.dQ.begin(), G.dQ.end(), 0.0f);
  std::fill(G.dgam.begin(), G.dgam.end(), 0.0f);
  std::fill(G.dbeta.begin(), G.dbeta.end(), 0.0f);
  std::fill(G.dDecay.begin(), G.dDecay.end(), 0.0f);
  const float eLast = t.e[c - 1];
  // S' = e_last S + K^T diag(f) Vn
  mm(false, false, c, Dv, Dk, 1.0f, t.K.data(), Dk, dS, Dv, 0.0f, G.KdS.data(), Dv);
  G.dgam[c - 1] += eLast * dot(S, dS, SZ);
  for (i64 i = 0; i < c; ++i) {
    const float df = dot(&G.KdS[i * Dv], &t.Vn[i * Dv], Dv);
    G.dgam[c - 1] += t.f[i] * df;
    G.dgam[i] -= t.f[i] * df;
    for (i64 e = 0; e < Dv; ++e) G.dVn[i * Dv + e] = t.f[i] * G.KdS[i * Dv + e];
  }
  mm(false, true, c, Dk, Dv, 1.0f, t.Vn.data(), Dv, dS, Dv, 0.0f, G.dK.data(), Dk);  // Vn dS'^T
  for (i64 i = 0; i < c; ++i)
    for (i64 a = 0; a < Dk; ++a) G.dK[i * Dk + a] *= t.f[i];
  // O = diag(e) Q S + P Vn, P = (Q K^T) * decay
  mm(false, true, c, Dk, Dv, 1.0f, dO, ldo, S, Dv, 0.0f, G.SdO.data(), Dk);  // dO S^T
  for (i64 i = 0; i < c; ++i) {
    G.dgam[i] += t.e[i] * dot(&t.Q[i * Dk], &G.SdO[i * Dk], Dk);
    for (i64 a = 0; a < Dk; ++a) G.dQ[i * Dk + a] += t.e[i] * G.SdO[i * Dk + a];
  }
  mm(false, true, c, c, Dk, 1.0f, t.Q.data(), Dk, t.K.data(), Dk, 0.0f, G.qk.data(), c);
  mm(false, true, c, c, Dv, 1.0f, dO, ldo, t.Vn.data(), Dv, 0.0f, G.dP.data(), c);
  for (i64 i = 0; i < c; ++i) {
    for (i64 j = 0; j < c; ++j) {
      const i64 n = i * c + j;
      G.dDecay[n] = j <= i ? G.dP[n] * G.qk[n] : 0.0f;
      G.dP[n] *= t.decay[n];  // now d(qk): masked by decay
      G.qk[n] *= t.decay[n];  // now P
    }
  }
  mm(true, false, c, Dv, c, 1.0f, G.qk.data(), c, dO, ldo, 1.0f, G.dVn.data(), Dv);          // += P^T dO
  mm(false, false, c, Dk, c, 1.0f, G.dP.data(), c, t.K.data(), Dk, 1.0f, G.dQ.data(), Dk);   // += dqk K
  mm(true, false, c, Dk, c, 1.0f, G.dP.data(), c, t.Q.data(), Dk, 1.0f, G.dK.data(), Dk);    // += dqk^T Q
  // state gradient: dS_prev = e_last dS' + (diag(e) Q)^T dO - W^T dVn (written over dS in place)
  for (i64 i = 0; i < SZ; ++i) dS[i] *= eLast;
  for (i64 i = 0; i < c; ++i)
    for (i64 a = 0; a < Dk; ++a) G.tmp[i * Dk + a] = t.e[i] * t.Q[i * Dk + a];
  mm(true, false, Dk, Dv, c, 1.0f, G.tmp.data(), Dk, dO, ldo, 1.0f, dS, Dv);
  // Vn = U - W S: dW = -dVn S^T (computed from S before dS is final: S is an input, unchanged)
  mm(false, true, c, Dk, Dv, -1.0f, G.dVn.data(), Dv, S, Dv, 0.0f, G.dW.data(), Dk);
  mm(true, false, Dk, Dv, c, -1.0f, t.W.data(), Dk, G.dVn.data(), Dv, 1.0f, dS, Dv);
  // U = M^-1 Yu, W = M^-1 Yw: dY = M^-T dX; dM = -(dYu U^T + dYw W^T), strictly lower
  solve_unit_lower(true, c, Dv, t.M.data(), G.dVn.data());  // dVn now holds dYu
  solve_unit_lower(true, c, Dk, t.M.data(), G.dW.data());   // dW now holds dYw
  const std::vector<float>& dYu = G.dVn;
  const std::vector<float>& dYw = G.dW;
  mm(false, true, c, c, Dv, -1.0f, dYu.data(), Dv, t.U.data(), Dv, 0.0f, G.dA.data(), c);
  mm(false, true, c, c, Dk, -1.0f, dYw.data(), Dk, t.W.data(), Dk, 1.0f, G.dA.data(), c);
  for (i64 i = 0; i < c; ++i) {
    for (i64 j = 0; j < c; ++j) {
      const i64 n = i * c + j;
      if (j >= i) {
        G.dA[n] = 0.0f;
        continue;
      }
      const float dL = G.dA[n];
      G.dDecay[n] += dL * t.beta[i] * t.KK[n];
      const float dA = dL * t.decay[n];
      G.dbeta[i] += dA * t.KK[n];
      G.dA[n] = t.beta[i] * dA;  // diag(beta) dA
    }
  }
  mm(false, false, c, Dk, c, 1.0f, G.dA.data(), c, t.K.data(), Dk, 1.0f, G.dK.data(), Dk);
  mm(true, false, c, Dk, c, 1.0f, G.dA.data(), c, t.K.data(), Dk, 1.0f, G.dK.data(), Dk);
  for (i64 i = 0; i < c; ++i) {
    const float* yu = &dYu[i * Dv];
    const float* yw = &dYw[i * Dk];
    for (i64 e = 0; e < Dv; ++e) G.dV[i * Dv + e] = t.beta[i] * yu[e];
    const float kdy = dot(&t.K[i * Dk], yw, Dk);
    G.dbeta[i] += dot(&t.V[i * Dv], yu, Dv) + t.e[i] * kdy;
    G.dgam[i] += t.beta[i] * t.e[i] * kdy;
    const float be = t.beta[i] * t.e[i];
    for (i64 a = 0; a < Dk; ++a) G.dK[i * Dk + a] += be * yw[a];
  }
  // decay_ij = exp(gam_i - gam_j), then gam = cumsum(g)
  for (i64 i = 0; i < c; ++i) {
    for (i64 j = 0; j < i; ++j) {
      const float gd = t.decay[i * c + j] * G.dDecay[i * c + j];
      G.dgam[i] += gd;
      G.dgam[j] -= gd;
    }
  }
  float run = 0;
  for (i64 i = c - 1; i >= 0; --i) G.dgam[i] = run += G.dgam[i];
}

}  // namespace

void delta_rule_chunk_backward(float* dq, float* dk, float* dv, float* dg, float* dbeta, const float* dout,
                               const float* chunk_states, const float* q, const float* k, const float* v,
                               const float* g, const float* beta, const int32_t* seg, i64 B, i64 T, i64 Hk, i64 Hv,
                               i64 Dk, i64 Dv, float scale) {
  const dr::Dims d{B, T, Hk, Hv, Dk, Dv, scale};
  const i64 NC = dr::chunk_count(seg, B, T), SZ = Dk * Dv, group = Hv / Hk;
  BlasSingleThread single;
#pragma omp parallel num_threads(team_size(B * Hv * T * Dk * Dv / 8))
  {
    dr::Terms t(Dk, Dv);
    Grads G(Dk, Dv);
    std::vector<float> dS(static_cast<size_t>(SZ));
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < B * Hk; ++task) {
      const i64 b = task / Hk, hk = task % Hk;
      const std::vector<dr::Chunk> chunks = dr::chunks_of(seg, b, T);
      for (i64 h = hk * group; h < (hk + 1) * group; ++h) {
        std::fill(dS.begin(), dS.end(), 0.0f);
        for (i64 n = static_cast<i64>(chunks.size()) - 1; n >= 0; --n) {
          const dr::Chunk& ch = chunks[static_cast<size_t>(n)];
          const float* S = chunk_states + ((b * Hv + h) * NC + n) * SZ;
          t.gather(q, k, v, g, beta, d, b, h, ch.start, ch.len);
          t.compute(S);
          chunk_backward(t, G, S, dout + ((b * T + ch.start) * Hv + h) * Dv, Hv * Dv, dS.data());
          for (i64 i = 0; i < ch.len; ++i) {
            const i64 row = b * T + ch.start + i;
            axpy(dq + (row * Hk + hk) * Dk, &G.dQ[i * Dk], scale, Dk);
            axpy(dk + (row * Hk + hk) * Dk, &G.dK[i * Dk], 1.0f, Dk);
            axpy(dv + (row * Hv + h) * Dv, &G.dV[i * Dv], 1.0f, Dv);
            dg[row * Hv + h] += G.dgam[i];
            dbeta[row * Hv + h] += G.dbeta[i];
          }
          if (ch.first) std::fill(dS.begin(), dS.end(), 0.0f);  // the previous chunk ended another segment
        }
      }
    }
  }
}

}  // namespace sh
