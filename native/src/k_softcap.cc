// tanh soft-capping of logits (Gemma 2/3/4: final_logit_softcapping, attn_logit_softcapping): y = cap * tanh(x /
// cap), its backward, and the cross-entropy of soft-capped logits with the gradient taken back through the cap
// in the same row pass, so the fused LM-head loss needs no second [rows, V] buffer. Semantics: src/kernels/types.ts.
#include <cmath>

#include "fastmath.h"
#include "kernels.h"
#include "tanh_fast.h"

namespace sh {

namespace {
constexpr int32_t kIgnoreIndex = -100;

/** max over j of cap * tanh(x[j] / cap), 8 lanes so it vectorises */
float capped_row_max(const float* x, i64 V, float cap, float inv) {
  float lane[8];
  for (int l = 0; l < 8; ++l) lane[l] = -__builtin_inff();
  i64 i = 0;
  for (; i + 8 <= V; i += 8)
    for (int l = 0; l < 8; ++l) {
      const float c = cap * tanh_fast(x[i + l] * inv);
      lane[l] = c > lane[l] ? c : lane[l];
    }
  float m = -__builtin_inff();
  for (; i < V; ++i) {
    const float c = cap * tanh_fast(x[i] * inv);
    m = c > m ? c : m;
  }
  for (int l = 0; l < 8; ++l) m = lane[l] > m ? lane[l] : m;
  return m;
}

/** sum over j of exp(cap * tanh(x[j] / cap) - m), in double */
double capped_sum_exp(const float* x, i64 V, float cap, float inv, float m) {
  double lane[16] = {};
  i64 i = 0;
  for (; i + 16 <= V; i += 16)
    for (int l = 0; l < 16; ++l) lane[l] += exp_fast(cap * tanh_fast(x[i + l] * inv) - m);
  double s = 0;
  for (; i < V; ++i) s += exp_fast(cap * tanh_fast(x[i] * inv) - m);
  return s + lanes_total(lane);
}
}  // namespace

void softcap(float* out, const float* x, i64 n, float cap) {
  const float inv = 1.0f / cap;
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) out[i] = cap * tanh_fast(x[i] * inv);
}

void softcap_backward(float* dx, const float* dout, const float* y, i64 n, float cap) {
  const float inv = 1.0f / cap;
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float t = y[i] * inv;
    dx[i] += dout[i] * (1.0f - t * t);
  }
}

// Per row: c = cap * tanh(x / cap) (kept in d when a gradient is wanted, in place when d aliases x), the loss
// lse(c) - c[t], then d = (softmax(c) - onehot(t)) * gradScale * (1 - (c / cap)^2).
void softcap_cross_entropy(float* losses, float* dlogits, const float* logits, const int32_t* targets, i64 N, i64 V,
                           float gradScale, float cap) {
  const float inv = 1.0f / cap;
  SH_PARALLEL_FOR(N * V)
  for (i64 n = 0; n < N; ++n) {
    const float* x = logits + n * V;
    const int32_t t = targets[n];
    float* d = dlogits != nullptr ? dlogits + n * V : nullptr;
    if (t == kIgnoreIndex) {
      losses[n] = 0.0f;
      if (d != nullptr)
        for (i64 i = 0; i < V; ++i) d[i] = 0.0f;
      continue;
    }
    if (d == nullptr) {
      const float m = capped_row_max(x, V, cap, inv);
      const double lse = static_cast<double>(m) + std::log(capped_sum_exp(x, V, cap, inv, m));
      losses[n] = static_cast<float>(lse - static_cast<double>(cap * tanh_fast(x[t] * inv)));
      continue;
    }
    const float ct = cap * tanh_fast(x[t] * inv);  // read before the row is overwritten (d may alias x)
    // capped logits never exceed cap, so cap is a safe softmax shift (no max pass) as long as exp(c - cap) >=
    // exp(-2 cap) stays a normal float; a larger cap takes the row max
    const bool shiftByCap = cap < 40.0f;
    double sum;
    float m = cap;
    if (shiftByCap) {
      double lane[16] = {};
      i64 i = 0;
      for (; i + 16 <= V; i += 16)
        for (int l = 0; l < 16; ++l) {
          const float c = cap * tanh_fast(x[i + l] * inv);
          d[i + l] = c;
          lane[l] += exp_fast(c - m);
        }
      double tail = 0;
      for (; i < V; ++i) {
        d[i] = cap * tanh_fast(x[i] * inv);
        tail += exp_fast(d[i] - m);
      }
      sum = tail + lanes_total(lane);
    } else {
      for (i64 i = 0; i < V; ++i) d[i] = cap * tanh_fast(x[i] * inv);
      m = row_max(d, V);
      sum = sum_exp_d(d, m, V);
    }
    losses[n] = static_cast<float>(static_cast<double>(m) + std::log(sum) - static_cast<double>(ct));
    const float invSum = static_cast<float>(1.0 / sum);
    for (i64 j = 0; j < V; ++j) {
      const float u = d[j] * inv;
      d[j] = (exp_fast(d[j] - m) * invSum) * gradScale * (1.0f - u * u);
    }
    const float ut = ct * inv;
    d[t] -= gradScale * (1.0f - ut * ut);
  }
}

}  // namespace sh
