// Elementwise kernels and activations (forward + backward), fused single passes, threaded over elements.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "erf_fast.h"
#include "fastmath.h"
#include "kernels.h"
#include "tanh_fast.h"

namespace sh {

// out = a (op) b with b either full (cols == n or 0) or one row of width cols broadcast over n / cols rows.
template <typename Op>
static void broadcast_binary(float* out, const float* a, const float* b, i64 n, i64 cols, Op op) {
  if (cols <= 0 || cols >= n) {
    SH_PARALLEL_FOR(n)
    for (i64 i = 0; i < n; ++i) out[i] = op(a[i], b[i]);
    return;
  }
  const i64 rows = n / cols;
  SH_PARALLEL_FOR(n)
  for (i64 r = 0; r < rows; ++r) {
    float* o = out + r * cols;
    const float* ar = a + r * cols;
    for (i64 c = 0; c < cols; ++c) o[c] = op(ar[c], b[c]);
  }
}

void add(float* out, const float* a, const float* b, i64 n, i64 cols) {
  broadcast_binary(out, a, b, n, cols, [](float x, float y) { return x + y; });
}

void mul(float* out, const float* a, const float* b, i64 n, i64 cols) {
  broadcast_binary(out, a, b, n, cols, [](float x, float y) { return x * y; });
}

void scale(float* out, const float* a, float s, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) out[i] = a[i] * s;
}

/** The elements of S tensors together (how much work a *_many kernel has, for its team size). */
static i64 total_size(const i64* sizes, i64 S) {
  i64 total = 0;
  for (i64 t = 0; t < S; ++t) total += sizes[t];
  return total;
}

void scale_many(float* const* as, const i64* sizes, i64 S, float s) {
#pragma omp parallel for num_threads(team_size(total_size(sizes, S))) schedule(dynamic, 1)
  for (i64 t = 0; t < S; ++t)
    for (i64 i = 0; i < sizes[t]; ++i) as[t][i] *= s;
}

void axpy_kernel(float* dst, const float* src, float alpha, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) dst[i] += alpha * src[i];
}

void copy_floats(float* dst, const float* src, i64 n) {
  const i64 chunk = 1 << 16;
  const i64 chunks = (n + chunk - 1) / chunk;
  SH_PARALLEL_FOR(n)
  for (i64 ci = 0; ci < chunks; ++ci) {
    const i64 i0 = ci * chunk;
    const i64 len = i0 + chunk <= n ? chunk : n - i0;
    std::memcpy(dst + i0, src + i0, static_cast<size_t>(len) * sizeof(float));
  }
}

// out[c] += sum_r a[r, c]: threads own blocks of columns (no races); sums in double. a: [rows, cols]
void sum_rows(float* out, const float* a, i64 rows, i64 cols) {
  constexpr i64 kBlock = 128;
  const i64 blocks = (cols + kBlock - 1) / kBlock;
  SH_PARALLEL_FOR(rows * cols)
  for (i64 bi = 0; bi < blocks; ++bi) {
    const i64 c0 = bi * kBlock;
    const i64 w = c0 + kBlock <= cols ? kBlock : cols - c0;
    double acc[kBlock] = {};
    for (i64 r = 0; r < rows; ++r) {
      const float* row = a + r * cols + c0;
      for (i64 c = 0; c < w; ++c) acc[c] += row[c];
    }
    for (i64 c = 0; c < w; ++c) out[c0 + c] = static_cast<float>(out[c0 + c] + acc[c]);
  }
}

// Sums of squares in chunks of 4,096 elements, the chunks' partial sums added in chunk order: the result does not
// depend on the thread count, and sum_squares_many gives each tensor the same number as sum_squares.
constexpr i64 kSquaresChunk = 4096;

/** The sum of squares of chunk ci of a[0, n), in double. */
inline double chunk_squares(const float* a, i64 n, i64 ci) {
  const i64 c0 = ci * kSquaresChunk;
  return dot_d(a + c0, a + c0, std::min(kSquaresChunk, n - c0));
}

double sum_squares(const float* a, i64 n) {
  const i64 chunks = (n + kSquaresChunk - 1) / kSquaresChunk;
  std::vector<double> part(static_cast<size_t>(chunks));
  SH_PARALLEL_FOR(n)
  for (i64 ci = 0; ci < chunks; ++ci) part[ci] = chunk_squares(a, n, ci);
  double total = 0;
  for (double v : part) total += v;
  return total;
}

double sum_squares_many(const float* const* as, const i64* sizes, i64 S) {
  std::vector<double> sums(static_cast<size_t>(S));  // each tensor's, the tensors shared over the threads
#pragma omp parallel for num_threads(team_size(total_size(sizes, S))) schedule(dynamic, 1)
  for (i64 s = 0; s < S; ++s) {
    double sum = 0;
    for (i64 ci = 0; ci * kSquaresChunk < sizes[s]; ++ci) sum += chunk_squares(as[s], sizes[s], ci);
    sums[static_cast<size_t>(s)] = sum;
  }
  double out = 0;
  for (double v : sums) out += v;  // in tensor order, as a loop over sumSquares adds them
  return out;
}

// ---- activations ---------------------------------------------------------------------------------------

void silu(float* out, const float* x, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) out[i] = x[i] * sigmoid_fast(x[i]);
}

// d/dx x*s(x) = s * (1 + x * (1 - s))
void silu_backward(float* dx, const float* dout, const float* x, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float s = sigmoid_fast(x[i]);
    dx[i] += dout[i] * (s * (1.0f + x[i] * (1.0f - s)));
  }
}

void swiglu(float* out, const float* gate, const float* up, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) out[i] = swiglu1(gate[i], up[i]);
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n) {
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float g = gate[i];
    const float s = sigmoid_fast(g);
    const float d = dout[i];
    dgate[i] += d * up[i] * (s * (1.0f + g * (1.0f - s)));
    dup[i] += d * (g * s);
  }
}

constexpr float kSqrt1_2 = 0.70710678118654752f;       // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;    // 1 / sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f;   // sqrt(2 / pi)
constexpr float kGeluCubic = 0.044715f;

// approximate 0: x * Phi(x) with erf (torch nn.GELU()); 1: tanh form (gelu_new / gelu_pytorch_tanh)
// (one_plus_erf and tanh_fast vectorise; glibc's erff and tanhf do not)
void gelu(float* out, const float* x, i64 n, int approximate) {
  if (approximate == 0) {
    SH_PARALLEL_FOR(n)
    for (i64 i = 0; i < n; ++i) out[i] = 0.5f * x[i] * one_plus_erf(x[i] * kSqrt1_2);
    return;
  }
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float v = x[i];
    out[i] = 0.5f * v * (1.0f + tanh_fast(kSqrt2OverPi * (v + kGeluCubic * v * v * v)));
  }
}

void gelu_backward(float* dx, const float* dout, const float* x, i64 n, int approximate) {
  if (approximate == 0) {
    SH_PARALLEL_FOR(n)
    for (i64 i = 0; i < n; ++i) {
      const float v = x[i];
      const float cdf = 0.5f * one_plus_erf(v * kSqrt1_2);
      const float pdf = kInvSqrt2Pi * exp_fast(-0.5f * v * v);
      dx[i] += dout[i] * (cdf + v * pdf);
    }
    return;
  }
  SH_PARALLEL_FOR(n)
  for (i64 i = 0; i < n; ++i) {
    const float v = x[i];
    const float t = tanh_fast(kSqrt2OverPi * (v + kGeluCubic * v * v * v));
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * v * v);
    dx[i] += dout[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
  }
}

}  // namespace sh
