// Cross-entropy (with fused softmax gradient), inverted dropout on the shared counter RNG, and AdamW.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fastmath.h"
#include "kernels.h"
#include "lowp.h"
#include "rng.h"

namespace sh {

constexpr int32_t kIgnoreIndex = -100;

// logits, dlogits: [N, V]. losses[n] = lse(logits[n]) - logits[n, t]; dlogits = (softmax - onehot) * gradScale.
// dlogits may alias logits: the target logit is read and the row's lse finished before any write.
namespace {

/** One row of cross_entropy, always inlined into an 8-lane and a 16-lane build (each lane runs the same
 *  operations and the sums keep their explicit lanes: the same bits). With g16, the gradient goes there rounded
 *  to bf16 (d, required then, holds exp(x - max) as scratch) instead of into d. */
__attribute__((always_inline)) inline void ce_row(float* loss, float* d, uint16_t* g16, const float* x, int32_t t, i64 V,
                                                  float gradScale) {
  if (t == kIgnoreIndex) {
    *loss = 0.0f;
    if (g16 != nullptr)
      for (i64 i = 0; i < V; ++i) g16[i] = 0;
    else if (d != nullptr)
      for (i64 i = 0; i < V; ++i) d[i] = 0.0f;
    return;
  }
  const float m = row_max(x, V);
  const float xt = x[t];
  double sum;
  if (d != nullptr) {  // keep exp(x - m) in d (in place when aliased), scale it once lse is known
    for (i64 i = 0; i < V; ++i) d[i] = exp_fast(x[i] - m);
    sum = sum_d(d, V);
  } else {
    sum = sum_exp_d(x, m, V);
  }
  const double lse = static_cast<double>(m) + std::log(sum);
  *loss = static_cast<float>(lse - static_cast<double>(xt));
  if (d != nullptr) {
    const float inv = static_cast<float>(1.0 / sum);
    const float et = d[t];
    if (g16 != nullptr) {
      for (i64 j = 0; j < V; ++j) g16[j] = bf16_round((d[j] * inv) * gradScale);
      g16[t] = bf16_round((et * inv - 1.0f) * gradScale);
      return;
    }
    for (i64 j = 0; j < V; ++j) d[j] = (d[j] * inv) * gradScale;
    d[t] = (et * inv - 1.0f) * gradScale;
  }
}

void ce_row8(float* loss, float* d, uint16_t* g16, const float* x, int32_t t, i64 V, float gradScale) {
  ce_row(loss, d, g16, x, t, V, gradScale);
}

#ifdef SH_LOWP_512
SH_512_WIDE void ce_row16(float* loss, float* d, uint16_t* g16, const float* x, int32_t t, i64 V, float gradScale) {
  ce_row(loss, d, g16, x, t, V, gradScale);
}
#endif

void ce_rows(float* losses, float* dlogits, uint16_t* g16, const float* logits, const int32_t* targets, i64 N, i64 V,
             float gradScale) {
  void (*row)(float*, float*, uint16_t*, const float*, int32_t, i64, float) = ce_row8;
#ifdef SH_LOWP_512
  if (lowp_512()) row = ce_row16;
#endif
  SH_PARALLEL_FOR(N * V)
  for (i64 n = 0; n < N; ++n)
    row(losses + n, dlogits != nullptr ? dlogits + n * V : nullptr, g16 != nullptr ? g16 + n * V : nullptr,
        logits + n * V, targets[n], V, gradScale);
}

}  // namespace

void cross_entropy(float* losses, float* dlogits, const float* logits, const int32_t* targets, i64 N, i64 V,
                   float gradScale) {
  ce_rows(losses, dlogits, nullptr, logits, targets, N, V, gradScale);
}

void cross_entropy_bf16(float* losses, uint16_t* g16, float* logits, const int32_t* targets, i64 N, i64 V,
                        float gradScale) {
  ce_rows(losses, logits, g16, logits, targets, N, V, gradScale);
}

// Element i is kept iff uniform(seed, i) >= p; kept values are scaled by 1 / (1 - p) (computed in double,
// multiplied in double and rounded once, like the TypeScript kernel).
void dropout(float* out, const float* x, i64 n, double p, uint32_t seed) {
  const double keepScale = 1.0 / (1.0 - p);
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const bool keep = uniform(seed, static_cast<uint32_t>(i)) >= p;
    out[i] = keep ? static_cast<float>(static_cast<double>(x[i]) * keepScale) : 0.0f;
  }
}

void dropout_backward(float* dx, const float* dout, i64 n, double p, uint32_t seed) {
  const double keepScale = 1.0 / (1.0 - p);
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    if (uniform(seed, static_cast<uint32_t>(i)) >= p)
      dx[i] = static_cast<float>(static_cast<double>(dx[i]) + static_cast<double>(dout[i]) * keepScale);
  }
}

namespace {

constexpr i64 kAdamwSpan = 1 << 14;  // elements per task (adamw_many: the tensors' elements taken together)

/** torch.optim.AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *  p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps). The step's constants (bias corrections in
 *  double, once), then run() on a range of one tensor's elements. */
struct AdamwStep {
  float decay, stepSize, bc2Sqrt, b1, c1, b2, c2, e;
  AdamwStep(double lr, double beta1, double beta2, double eps, double weightDecay, double step)
      : decay(static_cast<float>(1.0 - lr * weightDecay)),
        stepSize(static_cast<float>(lr / (1.0 - std::pow(beta1, step)))),
        bc2Sqrt(static_cast<float>(std::sqrt(1.0 - std::pow(beta2, step)))),
        b1(static_cast<float>(beta1)), c1(static_cast<float>(1.0 - beta1)),
        b2(static_cast<float>(beta2)), c2(static_cast<float>(1.0 - beta2)), e(static_cast<float>(eps)) {}
  /** elements [lo, hi) of one tensor */
  void run(float* param, const float* grad, float* m, float* v, i64 lo, i64 hi) const {
    for (i64 i = lo; i < hi; ++i) {
      const float g = grad[i];
      const float mi = b1 * m[i] + c1 * g;
      const float vi = b2 * v[i] + c2 * (g * g);
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i] * decay - stepSize * mi / (std::sqrt(vi) / bc2Sqrt + e);
    }
  }
};

}  // namespace

void adamw(float* param, const float* grad, float* m, float* v, i64 n, double lr, double beta1, double beta2,
           double eps, double weightDecay, double step) {
  const AdamwStep a(lr, beta1, beta2, eps, weightDecay, step);
  const i64 spans = (n + kAdamwSpan - 1) / kAdamwSpan;
#pragma omp parallel for num_threads(team_size(n)) schedule(static)
  for (i64 t = 0; t < spans; ++t) a.run(param, grad, m, v, t * kAdamwSpan, std::min(n, (t + 1) * kAdamwSpan));
}

void adamw_many(float* const* params, const float* const* grads, float* const* ms, float* const* vs, const i64* sizes,
                const int32_t* decays, i64 S, double lr, double beta1, double beta2, double eps, double weightDecay,
                double step) {
  const AdamwStep with(lr, beta1, beta2, eps, weightDecay, step), without(lr, beta1, beta2, eps, 0.0, step);
  std::vector<i64> start(static_cast<size_t>(S) + 1, 0);  // tensor s holds elements [start[s], start[s + 1])
  for (i64 s = 0; s < S; ++s) start[static_cast<size_t>(s) + 1] = start[static_cast<size_t>(s)] + sizes[s];
  const i64 total = start[static_cast<size_t>(S)];
  const i64 spans = (total + kAdamwSpan - 1) / kAdamwSpan;
#pragma omp parallel for num_threads(team_size(total)) schedule(static)
  for (i64 t = 0; t < spans; ++t) {
    const i64 lo = t * kAdamwSpan, hi = std::min(total, lo + kAdamwSpan);
    i64 s = std::upper_bound(start.begin(), start.end(), lo) - start.begin() - 1;
    for (i64 at = lo; at < hi; ++s) {
      const i64 end = std::min(hi, start[static_cast<size_t>(s) + 1]), off = start[static_cast<size_t>(s)];
      (decays[s] ? with : without).run(params[s], grads[s], ms[s], vs[s], at - off, end - off);
      at = end;
    }
  }
}

}  // namespace sh
