// Causal depthwise conv1d over tokens, channels last (Qwen3.5's conv before the delta rule with SiLU, LFM2's short
// convolution), with the history state decoding carries and packed segments; its backward; and L2 normalisation of
// rows. Semantics: src/kernels/types.ts causalConv1d / l2norm; reference: src/kernels/ref/conv1d.ts.
// x, out [B, T, Ch]; w [Ch, K]; bias [Ch]; state [B, K-1, Ch].
#include <cmath>
#include <cstring>
#include <vector>

#include "fixed_blocks.h"
#include "kernels.h"

namespace sh {

namespace {

// The weight gradient's partial sums: per fixed block of at least 64 rows, at most 32 blocks (FixedBlocks).
constexpr i64 kConvRows = 64, kConvBlocks = 32;

/** Per token, the position its segment starts at (all 0 without seg). */
std::vector<i64> segment_starts(const int32_t* seg, i64 B, i64 T) {
  std::vector<i64> out(static_cast<size_t>(B * T), 0);
  if (seg == nullptr) return out;
  for (i64 b = 0; b < B; ++b)
    for (i64 t = 1; t < T; ++t) out[b * T + t] = seg[b * T + t] == seg[b * T + t - 1] ? out[b * T + t - 1] : t;
  return out;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

/** Pre-activation row (b, t): acc[c] = bias[c] + sum over taps j whose source lies in the row's segment (or, with a
 *  history, before position 0). */
void pre_row(float* acc, const float* w, const float* bias, const float* hist, i64 start, i64 t,
             i64 Ch, i64 K, const float* xrow0) {
  for (i64 c = 0; c < Ch; ++c) acc[c] = bias != nullptr ? bias[c] : 0.0f;
  for (i64 j = 0; j < K; ++j) {
    const i64 src = t - (K - 1) + j;
    const float* in = nullptr;
    if (src >= start) in = xrow0 + src * Ch;
    else if (hist != nullptr && src < 0) in = hist + (K - 1 + src) * Ch;
    if (in == nullptr) continue;
    for (i64 c = 0; c < Ch; ++c) acc[c] += w[c * K + j] * in[c];
  }
}

}  // namespace

void causal_conv1d(float* out, const float* x, const float* w, const float* bias, float* state, const int32_t* seg,
                   i64 B, i64 T, i64 Ch, i64 K, int act) {
  float* hist = seg != nullptr ? nullptr : state;
  const std::vector<i64> starts = segment_starts(seg, B, T);
  // out may alias x: compute into a copy of the rows first
  std::vector<float> res(static_cast<size_t>(B * T * Ch));
  SH_PARALLEL_FOR(B * T * Ch * K)
  for (i64 r = 0; r < B * T; ++r) {
    const i64 b = r / T, t = r % T;
    float* acc = res.data() + r * Ch;
    pre_row(acc, w, bias, hist != nullptr ? hist + b * (K - 1) * Ch : nullptr, starts[r], t, Ch, K, x + b * T * Ch);
    if (act == 1)
      for (i64 c = 0; c < Ch; ++c) acc[c] = acc[c] * sigmoid(acc[c]);
  }
  if (hist != nullptr && K > 1) {
    std::vector<float> next(static_cast<size_t>((K - 1) * Ch));
    for (i64 b = 0; b < B; ++b) {
      float* h = hist + b * (K - 1) * Ch;
      for (i64 i = 0; i < K - 1; ++i) {
        const i64 src = T + i - (K - 1);
        const float* from = src >= 0 ? x + (b * T + src) * Ch : h + (K - 1 + src) * Ch;
        std::memcpy(next.data() + i * Ch, from, static_cast<size_t>(Ch) * sizeof(float));
      }
      std::memcpy(h, next.data(), next.size() * sizeof(float));
    }
  }
  std::memcpy(out, res.data(), res.size() * sizeof(float));
}

void causal_conv1d_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w,
                            const float* bias, const int32_t* seg, i64 B, i64 T, i64 Ch, i64 K, int act) {
  const std::vector<i64> starts = segment_starts(seg, B, T);
  // dpre = dout * act'(pre), pre recomputed
  std::vector<float> dpre(static_cast<size_t>(B * T * Ch));
  SH_PARALLEL_FOR(B * T * Ch * K)
  for (i64 r = 0; r < B * T; ++r) {
    float* d = dpre.data() + r * Ch;
    const float* g = dout + r * Ch;
    if (act != 1) {
      std::memcpy(d, g, static_cast<size_t>(Ch) * sizeof(float));
      continue;
    }
    const i64 b = r / T;
    pre_row(d, w, bias, nullptr, starts[r], r % T, Ch, K, x + b * T * Ch);
    for (i64 c = 0; c < Ch; ++c) {
      const float p = d[c], s = sigmoid(p);
      d[c] = g[c] * s * (1.0f + p * (1.0f - s));
    }
  }
  // dx[s] += sum_j w[:, j] dpre[s + K-1 - j] over taps whose target lies in s's segment (gather: no write races)
  SH_PARALLEL_FOR(B * T * Ch * K)
  for (i64 r = 0; r < B * T; ++r) {
    const i64 b = r / T, s = r % T;
    float* o = dx + r * Ch;
    for (i64 j = 0; j < K; ++j) {
      const i64 t = s + (K - 1) - j;
      if (t >= T || starts[b * T + t] > s) continue;
      const float* d = dpre.data() + (b * T + t) * Ch;
      for (i64 c = 0; c < Ch; ++c) o[c] += w[c * K + j] * d[c];
    }
  }
  if (dw == nullptr && dbias == nullptr) return;
  // dw, dbias: partial sums over fixed blocks of rows (not one per thread), added in block order: the same bits on
  // any thread count
  const FixedBlocks fb(B * T, kConvRows, kConvBlocks);
  const i64 blocks = fb.count, width = Ch * (K + 1);
  std::vector<float> part(static_cast<size_t>(blocks * width), 0.0f);
  fb.each_row(B * T * Ch * K, [&](i64 blk, i64 r) {
    float* mine = part.data() + blk * width;
    const i64 b = r / T, t = r % T;
    const float* d = dpre.data() + r * Ch;
    for (i64 c = 0; c < Ch; ++c) mine[Ch * K + c] += d[c];
    for (i64 j = 0; j < K; ++j) {
      const i64 src = t - (K - 1) + j;
      if (src < starts[r]) continue;
      const float* in = x + (b * T + src) * Ch;
      for (i64 c = 0; c < Ch; ++c) mine[c * K + j] += d[c] * in[c];
    }
  });
  for (i64 blk = 0; blk < blocks; ++blk) {
    const float* src = part.data() + blk * width;
    if (dw != nullptr) axpy(dw, src, 1.0f, Ch * K);
    if (dbias != nullptr) axpy(dbias, src + Ch * K, 1.0f, Ch);
  }
}

void l2norm(float* out, float* rnorm, const float* x, i64 N, i64 D, double eps) {
  SH_PARALLEL_FOR(N * D)
  for (i64 n = 0; n < N; ++n) {
    const float* xr = x + n * D;
    double ss = 0;
    for (i64 d = 0; d < D; ++d) ss += static_cast<double>(xr[d]) * xr[d];
    const float r = static_cast<float>(1.0 / std::sqrt(ss + eps));
    rnorm[n] = r;
    for (i64 d = 0; d < D; ++d) out[n * D + d] = xr[d] * r;
  }
}

void l2norm_backward(float* dx, const float* dout, const float* x, const float* rnorm, i64 N, i64 D) {
  SH_PARALLEL_FOR(N * D)
  for (i64 n = 0; n < N; ++n) {
    const float* xr = x + n * D;
    const float* g = dout + n * D;
    const float r = rnorm[n], m = dot(xr, g, D) * r * r * r;
    for (i64 d = 0; d < D; ++d) dx[n * D + d] += r * g[d] - xr[d] * m;
  }
}

}  // namespace sh
