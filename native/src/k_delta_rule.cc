// Gated delta rule (Gated DeltaNet, Qwen3.5's linear attention): the chunked forward training and prefill run (64
// tokens per chunk, UT/WY form, small sgemms and a unit triangular solve per chunk) and the recurrent form decoding
// runs one token at a time. Threads split rows x value heads; each calls single-threaded BLAS.
// Semantics: src/kernels/types.ts deltaRuleChunk / deltaRuleRecurrent; reference: src/kernels/ref/delta-rule.ts.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "delta_rule.h"
#include "kernels.h"

namespace sh {
namespace dr {

std::vector<Chunk> chunks_of(const int32_t* seg, i64 b, i64 T) {
  std::vector<Chunk> out;
  i64 start = 0;
  while (start < T) {
    i64 end = start + 1;
    if (seg != nullptr) {
      while (end < T && seg[b * T + end] == seg[b * T + start]) ++end;
    } else {
      end = T;
    }
    for (i64 s = start; s < end; s += kChunk) out.push_back({s, std::min(kChunk, end - s), s == start});
    start = end;
  }
  return out;
}

i64 chunk_count(const int32_t* seg, i64 B, i64 T) {
  i64 n = 0;
  for (i64 b = 0; b < B; ++b) n = std::max(n, static_cast<i64>(chunks_of(seg, b, T).size()));
  return n;
}

}  // namespace dr

using dr::mm;

void delta_rule_chunk(float* out, float* chunk_states, float* state, const float* q, const float* k, const float* v,
                      const float* g, const float* beta, const int32_t* seg, i64 B, i64 T, i64 Hk, i64 Hv, i64 Dk,
                      i64 Dv, float scale) {
  const dr::Dims d{B, T, Hk, Hv, Dk, Dv, scale};
  const i64 NC = chunk_states != nullptr ? dr::chunk_count(seg, B, T) : 0, SZ = Dk * Dv;
  BlasSingleThread single;
#pragma omp parallel num_threads(team_size(B * Hv * T * Dk * Dv / 8))
  {
    dr::Terms t(Dk, Dv);
    std::vector<float> S(static_cast<size_t>(SZ)), O(static_cast<size_t>(dr::kChunk * Dv));
    std::vector<float> P(static_cast<size_t>(dr::kChunk * dr::kChunk)), Kf(static_cast<size_t>(dr::kChunk * Dk));
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < B * Hv; ++task) {
      const i64 b = task / Hv, h = task % Hv;
      const std::vector<dr::Chunk> chunks = dr::chunks_of(seg, b, T);
      float* st = state != nullptr ? state + task * SZ : nullptr;
      if (st != nullptr) std::memcpy(S.data(), st, static_cast<size_t>(SZ) * sizeof(float));
      else std::fill(S.begin(), S.end(), 0.0f);
      for (size_t n = 0; n < chunks.size(); ++n) {
        const dr::Chunk& ch = chunks[n];
        if (ch.first && ch.start > 0) std::fill(S.begin(), S.end(), 0.0f);
        if (chunk_states != nullptr) {
          std::memcpy(chunk_states + (task * NC + static_cast<i64>(n)) * SZ, S.data(), static_cast<size_t>(SZ) * sizeof(float));
        }
        t.gather(q, k, v, g, beta, d, b, h, ch.start, ch.len);
        t.compute(S.data());
        const i64 c = ch.len;
        // O = diag(e) Q S + ((Q K^T) * decay) Vn
        mm(false, false, c, Dv, Dk, 1.0f, t.Q.data(), Dk, S.data(), Dv, 0.0f, O.data(), Dv);
        for (i64 i = 0; i < c; ++i)
          for (i64 e = 0; e < Dv; ++e) O[i * Dv + e] *= t.e[i];
        mm(false, true, c, c, Dk, 1.0f, t.Q.data(), Dk, t.K.data(), Dk, 0.0f, P.data(), c);
        for (i64 i = 0; i < c * c; ++i) P[i] *= t.decay[i];
        mm(false, false, c, Dv, c, 1.0f, P.data(), c, t.Vn.data(), Dv, 1.0f, O.data(), Dv);
        for (i64 i = 0; i < c; ++i) {
          std::memcpy(out + ((b * T + ch.start + i) * Hv + h) * Dv, &O[i * Dv], static_cast<size_t>(Dv) * sizeof(float));
        }
        // S = e_last S + (diag(f) K)^T Vn
        const float eLast = t.e[c - 1];
        for (i64 i = 0; i < SZ; ++i) S[i] *= eLast;
        for (i64 i = 0; i < c; ++i)
          for (i64 a = 0; a < Dk; ++a) Kf[i * Dk + a] = t.f[i] * t.K[i * Dk + a];
        mm(true, false, Dk, Dv, c, 1.0f, Kf.data(), Dk, t.Vn.data(), Dv, 1.0f, S.data(), Dv);
      }
      if (st != nullptr) std::memcpy(st, S.data(), static_cast<size_t>(SZ) * sizeof(float));
    }
  }
}

void delta_rule_recurrent(float* out, float* state, const float* q, const float* k, const float* v, const float* g,
                          const float* beta, i64 B, i64 T, i64 Hk, i64 Hv, i64 Dk, i64 Dv, float scale) {
  const i64 group = Hv / Hk;
  SH_PARALLEL_FOR(B * Hv * T * Dk * Dv * 4)
  for (i64 task = 0; task < B * Hv; ++task) {
    const i64 b = task / Hv, h = task % Hv;
    float* S = state + task * Dk * Dv;
    std::vector<float> kv(static_cast<size_t>(Dv)), o(static_cast<size_t>(Dv));
    for (i64 t = 0; t < T; ++t) {
      const i64 row = b * T + t;
      const float* qr = q + (row * Hk + h / group) * Dk;
      const float* kr = k + (row * Hk + h / group) * Dk;
      const float* vr = v + (row * Hv + h) * Dv;
      const float decay = std::exp(g[row * Hv + h]), bt = beta[row * Hv + h];
      // decay, read the old memory at k, write beta (v - memory) along k, read at q
      std::fill(kv.begin(), kv.end(), 0.0f);
      for (i64 a = 0; a < Dk; ++a) {
        float* s = S + a * Dv;
        const float ka = kr[a];
        for (i64 e = 0; e < Dv; ++e) {
          s[e] *= decay;
          kv[e] += s[e] * ka;
        }
      }
      for (i64 e = 0; e < Dv; ++e) kv[e] = (vr[e] - kv[e]) * bt;
      std::fill(o.begin(), o.end(), 0.0f);
      for (i64 a = 0; a < Dk; ++a) {
        float* s = S + a * Dv;
        const float ka = kr[a], qa = qr[a] * scale;
        for (i64 e = 0; e < Dv; ++e) {
          s[e] += ka * kv[e];
          o[e] += s[e] * qa;
        }
      }
      std::memcpy(out + (row * Hv + h) * Dv, o.data(), static_cast<size_t>(Dv) * sizeof(float));
    }
  }
}

}  // namespace sh
