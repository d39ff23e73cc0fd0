// Node-API bindings for GEMM, elementwise ops, activations and normalisation. Each binding reads its
// dimensions, checks every buffer's type and length against them, then calls the kernel on the views.
#include <climits>
#include <string>
#include <type_traits>
#include <vector>

#include "args.h"
#include "bind.h"
#include "kernels.h"

namespace sh {
namespace {

constexpr int64_t kBlasMax = INT_MAX;  // cblas dimensions and leading dimensions are int

// gemm(c, a, b, batch, M, N, K, transA, transB, beta, strideA, strideB)
napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemm", 12);
  const int64_t batch = a.dim(3, "batch"), M = a.dim(4, "M", kBlasMax), N = a.dim(5, "N", kBlasMax);
  const int64_t K = a.dim(6, "K", kBlasMax);
  const bool ta = a.flag(7, "transA"), tb = a.flag(8, "transB");
  const double beta = a.num(9, "beta");
  const int64_t sA = a.dim(10, "strideA"), sB = a.dim(11, "strideB");
  const auto span = [&](int64_t stride) -> uint64_t {
    return batch == 0 || M * K == 0 ? 0 : addz(mulz(stride, batch - 1), static_cast<uint64_t>(M) * K);
  };
  const uint64_t needB = batch == 0 || N * K == 0 ? 0 : addz(mulz(sB, batch - 1), static_cast<uint64_t>(N) * K);
  float* c = a.f32(0, "c", mulz(batch, M, N));
  const float* A = a.f32(1, "a", span(sA));
  const float* B = a.f32(2, "b", needB);
  if (!a.ok()) return nullptr;
  gemm(c, A, B, batch, M, N, K, ta, tb, static_cast<float>(beta), sA, sB);
  return nullptr;
}

// gemmRows(c, a, w, M, N, K, accumulate)
napi_value GemmRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemmRows", 7);
  const int64_t M = a.dim(3, "M"), N = a.dim(4, "N"), K = a.dim(5, "K");
  const bool acc = a.flag(6, "accumulate");
  float* c = a.f32(0, "c", mulz(M, N));
  const float* A = a.f32(1, "a", mulz(M, K));
  const float* W = a.f32(2, "w", mulz(N, K));
  if (!a.ok()) return nullptr;
  gemm_rows(c, A, W, M, N, K, acc ? 1.0f : 0.0f);
  return nullptr;
}

/** What every gemmRows*Many call reads: cs (argument 0, S Float32Array of M x Ns[s]), a (argument 1, [M, K]), and
 *  from argument `at` on Ns, S, M, K, accumulate; need_w[s] = Ns[s] x K, the weights' length for each output. */
struct ManyArgs {
  int64_t S = 0, M = 0, K = 0;
  bool acc = false;
  const int32_t* Ns = nullptr;
  const float* A = nullptr;
  std::vector<float*> cs;
  std::vector<uint64_t> need_w;
};

bool read_many(Args& a, size_t at, ManyArgs& m) {
  m.S = a.dim(at + 1, "S", 1 << 16);
  m.M = a.dim(at + 2, "M");
  m.K = a.dim(at + 3, "K");
  m.acc = a.flag(at + 4, "accumulate");
  m.Ns = a.i32(at, "Ns", static_cast<uint64_t>(m.S));
  m.A = a.f32(1, "a", mulz(m.M, m.K));
  if (!a.ok()) return false;
  const size_t n = static_cast<size_t>(m.S);
  std::vector<uint64_t> need_c(n);
  m.need_w.resize(n);
  for (size_t s = 0; s < n; ++s) {
    if (m.Ns[s] < 0) {
      a.fail("Ns[" + std::to_string(s) + "] must be >= 0, got " + std::to_string(m.Ns[s]));
      return false;
    }
    need_c[s] = mulz(m.M, static_cast<uint64_t>(m.Ns[s]));
    m.need_w[s] = mulz(static_cast<uint64_t>(m.Ns[s]), m.K);
  }
  m.cs.resize(n);
  return a.f32_list(0, "cs", n, need_c.data(), m.cs.data());
}

// gemmRowsMany / gemmRowsBf16Many(cs, a, ws, Ns, S, M, K, accumulate): ws S Float32Array (W float) or Uint16Array
// (W uint16_t, bf16 bits); Out is the kernel's output record (RowsOut or RowsOut16)
template <typename W, typename Out, void (*Kernel)(const Out*, i64, const float*, i64, i64, float)>
napi_value RowsMany(napi_env env, napi_callback_info info, const char* name) {
  Args a(env, info, name, 8);
  ManyArgs m;
  if (!read_many(a, 3, m)) return nullptr;
  const size_t n = static_cast<size_t>(m.S);
  std::vector<W*> ws(n);
  bool listed;
  if constexpr (std::is_same_v<W, float>) listed = a.f32_list(2, "ws", n, m.need_w.data(), ws.data());
  else listed = a.u16_list(2, "ws", n, m.need_w.data(), ws.data());
  if (!listed) return nullptr;
  std::vector<Out> outs(n);
  for (size_t s = 0; s < n; ++s) outs[s] = Out{m.cs[s], ws[s], m.Ns[s]};
  Kernel(outs.data(), m.S, m.A, m.M, m.K, m.acc ? 1.0f : 0.0f);
  return nullptr;
}
napi_value GemmRowsMany(napi_env env, napi_callback_info info) {
  return RowsMany<float, RowsOut, gemm_rows_many>(env, info, "gemmRowsMany");
}
napi_value GemmRowsBf16Many(napi_env env, napi_callback_info info) {
  return RowsMany<uint16_t, RowsOut16, gemm_rows_bf16_many>(env, info, "gemmRowsBf16Many");
}

// gemmRowsI8Many(cs, a, qs, scales, Ns, S, M, K, accumulate): qs S Int8Array, scales S Float32Array of Ns[s]
napi_value GemmRowsI8Many(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemmRowsI8Many", 9);
  ManyArgs m;
  if (!read_many(a, 4, m)) return nullptr;
  const size_t n = static_cast<size_t>(m.S);
  std::vector<uint64_t> need_s(n);
  for (size_t s = 0; s < n; ++s) need_s[s] = static_cast<uint64_t>(m.Ns[s]);
  std::vector<float*> scales(n);
  std::vector<int8_t*> qs(n);
  if (!a.i8_list(2, "qs", n, m.need_w.data(), qs.data()) || !a.f32_list(3, "scales", n, need_s.data(), scales.data()))
    return nullptr;
  std::vector<RowsOutI8> outs(n);
  for (size_t s = 0; s < n; ++s) outs[s] = RowsOutI8{m.cs[s], qs[s], scales[s], m.Ns[s]};
  gemm_rows_i8_many(outs.data(), m.S, m.A, m.M, m.K, m.acc ? 1.0f : 0.0f);
  return nullptr;
}

// loraRows(y, x, as, bs, scales, starts, ends, ranks, G, M, I, O): as, bs arrays of G Float32Array
napi_value LoraRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "loraRows", 12);
  const int64_t G = a.dim(8, "G"), M = a.dim(9, "M"), I = a.dim(10, "I"), O = a.dim(11, "O");
  const float* scales = a.f32(4, "scales", static_cast<uint64_t>(G));
  const int32_t* starts = a.i32(5, "starts", static_cast<uint64_t>(G));
  const int32_t* ends = a.i32(6, "ends", static_cast<uint64_t>(G));
  const int32_t* ranks = a.i32(7, "ranks", static_cast<uint64_t>(G));
  float* y = a.f32(0, "y", mulz(M, O));
  const float* x = a.f32(1, "x", mulz(M, I));
  if (!a.ok()) return nullptr;
  std::vector<uint64_t> needA(static_cast<size_t>(G)), needB(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g) {
    if (!(starts[g] >= 0 && starts[g] <= ends[g] && ends[g] <= M && ranks[g] >= 1)) {
      a.fail("group " + std::to_string(g) + ": needs 0 <= start <= end <= M (" + std::to_string(M) + ") and rank >= 1, got rows " +
             std::to_string(starts[g]) + ".." + std::to_string(ends[g]) + " and rank " + std::to_string(ranks[g]));
      return nullptr;
    }
    needA[g] = mulz(static_cast<uint64_t>(ranks[g]), I);
    needB[g] = mulz(O, static_cast<uint64_t>(ranks[g]));
  }
  std::vector<float*> as(static_cast<size_t>(G)), bs(static_cast<size_t>(G));
  if (!a.f32_list(2, "as", static_cast<size_t>(G), needA.data(), as.data()) ||
      !a.f32_list(3, "bs", static_cast<size_t>(G), needB.data(), bs.data()))
    return nullptr;
  lora_rows(y, x, as.data(), bs.data(), scales, starts, ends, ranks, G, I, O);
  return nullptr;
}

// gemmRowsI8(c, a, q, scale, M, N, K, accumulate)
napi_value GemmRowsI8(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemmRowsI8", 8);
  const int64_t M = a.dim(4, "M"), N = a.dim(5, "N"), K = a.dim(6, "K");
  const bool acc = a.flag(7, "accumulate");
  float* c = a.f32(0, "c", mulz(M, N));
  const float* A = a.f32(1, "a", mulz(M, K));
  const int8_t* Q = a.i8(2, "q", mulz(N, K));
  const float* S = a.f32(3, "scale", static_cast<uint64_t>(N));
  if (!a.ok()) return nullptr;
  gemm_rows_i8(c, A, Q, S, M, N, K, acc ? 1.0f : 0.0f);
  return nullptr;
}

// gemmRowsBf16(c, a, b16, M, N, K, accumulate)
napi_value GemmRowsBf16(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemmRowsBf16", 7);
  const int64_t M = a.dim(3, "M"), N = a.dim(4, "N"), K = a.dim(5, "K");
  const bool acc = a.flag(6, "accumulate");
  float* c = a.f32(0, "c", mulz(M, N));
  const float* A = a.f32(1, "a", mulz(M, K));
  const uint16_t* W = a.u16(2, "w", mulz(N, K));
  if (!a.ok()) return nullptr;
  gemm_rows_bf16(c, A, W, M, N, K, acc ? 1.0f : 0.0f);
  return nullptr;
}

// add / mul (out, a, b, n, cols): b is full (cols == n, or 0) or one row of width cols
template <void (*Kernel)(float*, const float*, const float*, i64, i64)>
napi_value Broadcast(napi_env env, napi_callback_info info, const char* name) {
  Args a(env, info, name, 5);
  const int64_t n = a.dim(3, "n"), cols = a.dim(4, "cols");
  if (a.ok() && cols > 0 && n % cols != 0) a.fail("n must be a multiple of cols");
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "a", n);
  const float* y = a.f32(2, "b", cols == 0 ? n : cols);
  if (!a.ok()) return nullptr;
  Kernel(out, x, y, n, cols);
  return nullptr;
}
napi_value Add(napi_env env, napi_callback_info info) { return Broadcast<add>(env, info, "add"); }
napi_value Mul(napi_env env, napi_callback_info info) { return Broadcast<mul>(env, info, "mul"); }

napi_value Scale(napi_env env, napi_callback_info info) {
  Args a(env, info, "scale", 4);
  const double s = a.num(2, "s");
  const int64_t n = a.dim(3, "n");
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "a", n);
  if (!a.ok()) return nullptr;
  scale(out, x, static_cast<float>(s), n);
  return nullptr;
}

// scaleMany(arrays, sizes, S, s): each of S Float32Arrays (array t of sizes[t] elements) times s, in place
napi_value ScaleMany(napi_env env, napi_callback_info info) {
  Args a(env, info, "scaleMany", 4);
  const int64_t S = a.dim(2, "S", 1 << 20);
  const double s = a.num(3, "s");
  std::vector<uint64_t> need;
  std::vector<int64_t> len;
  if (!a.sizes(1, "sizes", S, need, len)) return nullptr;
  std::vector<float*> arrays(static_cast<size_t>(S));
  if (!a.f32_list(0, "arrays", static_cast<size_t>(S), need.data(), arrays.data())) return nullptr;
  scale_many(arrays.data(), len.data(), S, static_cast<float>(s));
  return nullptr;
}

napi_value Axpy(napi_env env, napi_callback_info info) {
  Args a(env, info, "axpy", 4);
  const double alpha = a.num(2, "alpha");
  const int64_t n = a.dim(3, "n");
  float* dst = a.f32(0, "dst", n);
  const float* src = a.f32(1, "src", n);
  if (!a.ok()) return nullptr;
  axpy_kernel(dst, src, static_cast<float>(alpha), n);
  return nullptr;
}

napi_value SumRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "sumRows", 4);
  const int64_t rows = a.dim(2, "rows"), cols = a.dim(3, "cols");
  float* out = a.f32(0, "out", cols);
  const float* x = a.f32(1, "a", mulz(rows, cols));
  if (!a.ok()) return nullptr;
  sum_rows(out, x, rows, cols);
  return nullptr;
}

// topKIds(ids, kth, x, n, k) -> count: the top-k survivors of one row of logits (k_select.cc)
napi_value TopKIds(napi_env env, napi_callback_info info) {
  Args a(env, info, "topKIds", 5);
  const int64_t n = a.dim(3, "n"), k = a.dim(4, "k");
  if (a.ok() && !(k >= 1 && k <= n)) a.fail("k must be in 1..n, got k " + std::to_string(k) + " and n " + std::to_string(n));
  int32_t* ids = a.i32(0, "ids", 0);
  const size_t cap = a.last_length();
  float* kth = a.f32(1, "kth", 1);
  const float* x = a.f32(2, "x", static_cast<uint64_t>(n));
  if (!a.ok()) return nullptr;
  napi_value result;
  napi_create_int64(env, top_k_ids(ids, static_cast<i64>(cap), kth, x, n, k), &result);
  return result;
}

// argmaxF32(x, n) -> index (k_select.cc)
napi_value ArgmaxF32(napi_env env, napi_callback_info info) {
  Args a(env, info, "argmaxF32", 2);
  const int64_t n = a.dim(1, "n");
  if (a.ok() && n < 1) a.fail("n must be >= 1");
  const float* x = a.f32(0, "x", static_cast<uint64_t>(n));
  if (!a.ok()) return nullptr;
  napi_value result;
  napi_create_int64(env, argmax_f32(x, n), &result);
  return result;
}

napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args a(env, info, "sumSquares", 2);
  const int64_t n = a.dim(1, "n");
  const float* x = a.f32(0, "a", n);
  if (!a.ok()) return nullptr;
  napi_value result;
  napi_create_double(env, sum_squares(x, n), &result);
  return result;
}

// sumSquaresMany(arrays, sizes, S): the sum of sumSquares over S Float32Arrays (array s of sizes[s] elements)
napi_value SumSquaresMany(napi_env env, napi_callback_info info) {
  Args a(env, info, "sumSquaresMany", 3);
  const int64_t S = a.dim(2, "S", 1 << 20);
  const size_t n = static_cast<size_t>(S);
  std::vector<uint64_t> need;
  std::vector<int64_t> len;
  if (!a.sizes(1, "sizes", S, need, len)) return nullptr;
  std::vector<float*> arrays(n);
  if (!a.f32_list(0, "arrays", n, need.data(), arrays.data())) return nullptr;
  napi_value out;
  napi_create_double(env, sum_squares_many(arrays.data(), len.data(), S), &out);
  return out;
}

// (out, x, n) and (dx, dout, x, n) shapes shared by silu
napi_value Silu(napi_env env, napi_callback_info info) {
  Args a(env, info, "silu", 3);
  const int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "x", n);
  if (!a.ok()) return nullptr;
  silu(out, x, n);
  return nullptr;
}

napi_value SiluBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "siluBackward", 4);
  const int64_t n = a.dim(3, "n");
  float* dx = a.f32(0, "dx", n);
  const float* dout = a.f32(1, "dout", n);
  const float* x = a.f32(2, "x", n);
  if (!a.ok()) return nullptr;
  silu_backward(dx, dout, x, n);
  return nullptr;
}

napi_value Swiglu(napi_env env, napi_callback_info info) {
  Args a(env, info, "swiglu", 4);
  const int64_t n = a.dim(3, "n");
  float* out = a.f32(0, "out", n);
  const float* gate = a.f32(1, "gate", n);
  const float* up = a.f32(2, "up", n);
  if (!a.ok()) return nullptr;
  swiglu(out, gate, up, n);
  return nullptr;
}

// swigluRows(out, gate, up, M, F)
napi_value SwigluRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "swigluRows", 5);
  const int64_t M = a.dim(3, "M"), F = a.dim(4, "F");
  const uint64_t n = mulz(M, F);
  float* out = a.f32(0, "out", n);
  const float* gate = a.f32(1, "gate", n);
  const float* up = a.f32(2, "up", n);
  if (!a.ok()) return nullptr;
  swiglu_rows(out, gate, up, M, F);
  return nullptr;
}

napi_value SwigluBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "swigluBackward", 6);
  const int64_t n = a.dim(5, "n");
  float* dgate = a.f32(0, "dgate", n);
  float* dup = a.f32(1, "dup", n);
  const float* dout = a.f32(2, "dout", n);
  const float* gate = a.f32(3, "gate", n);
  const float* up = a.f32(4, "up", n);
  if (!a.ok()) return nullptr;
  swiglu_backward(dgate, dup, dout, gate, up, n);
  return nullptr;
}

int read_approximate(Args& a, size_t i) {
  const int64_t v = a.integer(i, "approximate");
  if (a.ok() && v != 0 && v != 1) a.fail("argument approximate must be 0 (erf) or 1 (tanh)");
  return static_cast<int>(v);
}

napi_value Gelu(napi_env env, napi_callback_info info) {
  Args a(env, info, "gelu", 4);
  const int64_t n = a.dim(2, "n");
  const int approx = read_approximate(a, 3);
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "x", n);
  if (!a.ok()) return nullptr;
  gelu(out, x, n, approx);
  return nullptr;
}

napi_value GeluBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "geluBackward", 5);
  const int64_t n = a.dim(3, "n");
  const int approx = read_approximate(a, 4);
  float* dx = a.f32(0, "dx", n);
  const float* dout = a.f32(1, "dout", n);
  const float* x = a.f32(2, "x", n);
  if (!a.ok()) return nullptr;
  gelu_backward(dx, dout, x, n, approx);
  return nullptr;
}

napi_value Softmax(napi_env env, napi_callback_info info) {
  Args a(env, info, "softmax", 4);
  const int64_t N = a.dim(2, "N"), C = a.dim(3, "C");
  float* out = a.f32(0, "out", mulz(N, C));
  const float* x = a.f32(1, "x", mulz(N, C));
  if (!a.ok()) return nullptr;
  softmax(out, x, N, C);
  return nullptr;
}

napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "softmaxBackward", 5);
  const int64_t N = a.dim(3, "N"), C = a.dim(4, "C");
  float* dx = a.f32(0, "dx", mulz(N, C));
  const float* dout = a.f32(1, "dout", mulz(N, C));
  const float* y = a.f32(2, "y", mulz(N, C));
  if (!a.ok()) return nullptr;
  softmax_backward(dx, dout, y, N, C);
  return nullptr;
}

// rmsnorm(out, rstd, x, w, N, C, eps)
napi_value Rmsnorm(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsnorm", 7);
  const int64_t N = a.dim(4, "N"), C = a.dim(5, "C");
  const double eps = a.num(6, "eps");
  float* out = a.f32(0, "out", mulz(N, C));
  float* rstd = a.f32(1, "rstd", N);
  const float* x = a.f32(2, "x", mulz(N, C));
  const float* w = a.f32(3, "w", C);
  if (!a.ok()) return nullptr;
  rmsnorm(out, rstd, x, w, N, C, eps);
  return nullptr;
}

// rmsnormBackward(dx, dw | null, dout, x, w, rstd, N, C)
napi_value RmsnormBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsnormBackward", 8);
  const int64_t N = a.dim(6, "N"), C = a.dim(7, "C");
  float* dx = a.f32(0, "dx", mulz(N, C));
  float* dw = a.f32(1, "dw", C, true);
  const float* dout = a.f32(2, "dout", mulz(N, C));
  const float* x = a.f32(3, "x", mulz(N, C));
  const float* w = a.f32(4, "w", C);
  const float* rstd = a.f32(5, "rstd", N);
  if (!a.ok()) return nullptr;
  rmsnorm_backward(dx, dw, dout, x, w, rstd, N, C);
  return nullptr;
}

// layernorm(out, mean, rstd, x, w, b | null, N, C, eps)
napi_value Layernorm(napi_env env, napi_callback_info info) {
  Args a(env, info, "layernorm", 9);
  const int64_t N = a.dim(6, "N"), C = a.dim(7, "C");
  const double eps = a.num(8, "eps");
  float* out = a.f32(0, "out", mulz(N, C));
  float* mean = a.f32(1, "mean", N);
  float* rstd = a.f32(2, "rstd", N);
  const float* x = a.f32(3, "x", mulz(N, C));
  const float* w = a.f32(4, "w", C);
  const float* b = a.f32(5, "b", C, true);
  if (!a.ok()) return nullptr;
  layernorm(out, mean, rstd, x, w, b, N, C, eps);
  return nullptr;
}

// layernormBackward(dx, dw | null, db | null, dout, x, w, mean, rstd, N, C)
napi_value LayernormBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "layernormBackward", 10);
  const int64_t N = a.dim(8, "N"), C = a.dim(9, "C");
  float* dx = a.f32(0, "dx", mulz(N, C));
  float* dw = a.f32(1, "dw", C, true);
  float* db = a.f32(2, "db", C, true);
  const float* dout = a.f32(3, "dout", mulz(N, C));
  const float* x = a.f32(4, "x", mulz(N, C));
  const float* w = a.f32(5, "w", C);
  const float* mean = a.f32(6, "mean", N);
  const float* rstd = a.f32(7, "rstd", N);
  if (!a.ok()) return nullptr;
  layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, N, C);
  return nullptr;
}

}  // namespace

napi_status register_core(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      SH_METHOD("gemm", Gemm),
      SH_METHOD("gemmRows", GemmRows),
      SH_METHOD("gemmRowsMany", GemmRowsMany),
      SH_METHOD("gemmRowsBf16Many", GemmRowsBf16Many),
      SH_METHOD("gemmRowsI8Many", GemmRowsI8Many),
      SH_METHOD("loraRows", LoraRows),
      SH_METHOD("gemmRowsI8", GemmRowsI8),
      SH_METHOD("gemmRowsBf16", GemmRowsBf16),
      SH_METHOD("add", Add),
      SH_METHOD("mul", Mul),
      SH_METHOD("scale", Scale),
      SH_METHOD("topKIds", TopKIds),
      SH_METHOD("argmaxF32", ArgmaxF32),
      SH_METHOD("axpy", Axpy),
      SH_METHOD("sumRows", SumRows),
      SH_METHOD("sumSquares", SumSquares),
      SH_METHOD("sumSquaresMany", SumSquaresMany),
      SH_METHOD("scaleMany", ScaleMany),
      SH_METHOD("silu", Silu),
      SH_METHOD("siluBackward", SiluBackward),
      SH_METHOD("swiglu", Swiglu),
      SH_METHOD("swigluRows", SwigluRows),
      SH_METHOD("swigluBackward", SwigluBackward),
      SH_METHOD("gelu", Gelu),
      SH_METHOD("geluBackward", GeluBackward),
      SH_METHOD("softmax", Softmax),
      SH_METHOD("softmaxBackward", SoftmaxBackward),
      SH_METHOD("rmsnorm", Rmsnorm),
      SH_METHOD("rmsnormBackward", RmsnormBackward),
      SH_METHOD("layernorm", Layernorm),
      SH_METHOD("layernormBackward", LayernormBackward),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace sh
