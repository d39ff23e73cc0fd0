// Node-API bindings of the bf16 mixed-precision kernels (lowp.h) and of the run-time GEMM facts (gemmInfo).
// Each checks every buffer against the dimensions it was given before calling the kernel.
#include <climits>
#include <type_traits>

#include "args.h"
#include "bind.h"
#include "gemm_backend.h"
#include "lowp.h"

namespace sh {

AttnShape read_attn_shape(Args& a, size_t first);  // bind_model.cc

namespace {

constexpr int64_t kBlasMax = INT_MAX;

// gemmBf16Ld(c, a16, b16, M, N, K, transA, transB, beta, lda, ldb, ldc): both operands bf16, leading dimensions
napi_value GemmBf16Ld(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemmBf16Ld", 12);
  const int64_t M = a.dim(3, "M", kBlasMax), N = a.dim(4, "N", kBlasMax), K = a.dim(5, "K", kBlasMax);
  const bool ta = a.flag(6, "transA"), tb = a.flag(7, "transB");
  const double beta = a.num(8, "beta");
  const int64_t lda = a.dim(9, "lda", kBlasMax), ldb = a.dim(10, "ldb", kBlasMax), ldc = a.dim(11, "ldc", kBlasMax);
  if (a.ok() && beta != 0.0 && beta != 1.0) a.fail("beta must be 0 or 1");
  // stored shapes: a is [M, K] ([K, M] transposed), b is [K, N] ([N, K] transposed), c is [M, N], rows ld apart
  const int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  if (a.ok() && (lda < ac || ldb < bc || ldc < N)) a.fail("leading dimensions must be at least the stored row widths");
  const auto span = [](int64_t rows, int64_t cols, int64_t ld) -> uint64_t {
    return rows == 0 || cols == 0 ? 0 : addz(mulz(static_cast<uint64_t>(rows - 1), static_cast<uint64_t>(ld)), cols);
  };
  float* c = a.f32(0, "c", span(M, N, ldc));
  const uint16_t* A = a.u16(1, "a16", K == 0 ? 0 : span(ar, ac, lda));
  const uint16_t* B = a.u16(2, "b16", K == 0 ? 0 : span(br, bc, ldb));
  if (!a.ok()) return nullptr;
  gemm_bf16_ld(c, A, B, M, N, K, ta, tb, static_cast<float>(beta), lda, ldb, ldc);
  return nullptr;
}

// bf16LinearOut(y16, u16 | null, yext, bias | null, B | null, s, N, O, R)
napi_value Bf16LinearOut(napi_env env, napi_callback_info info) {
  Args a(env, info, "bf16LinearOut", 9);
  const double s = a.num(5, "s");
  const int64_t N = a.dim(6, "N"), O = a.dim(7, "O"), R = a.dim(8, "R");
  uint16_t* y16 = a.u16(0, "y16", mulz(N, O));
  uint16_t* u16 = a.u16(1, "u16", mulz(N, R), R == 0);
  const float* yext = a.f32(2, "yext", mulz(N, addz(O, R)));
  const float* bias = a.f32(3, "bias", O, true);
  const float* B = a.f32(4, "B", mulz(O, R), R == 0);
  if (!a.ok()) return nullptr;
  bf16_linear_out(y16, u16, yext, bias, B, static_cast<float>(s), N, O, R);
  return nullptr;
}

// bf16LinearGrad(g16, dB | null, dy, u16 | null, B | null, s, N, O, R)
napi_value Bf16LinearGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, "bf16LinearGrad", 9);
  const double s = a.num(5, "s");
  const int64_t N = a.dim(6, "N"), O = a.dim(7, "O"), R = a.dim(8, "R");
  uint16_t* g16 = a.u16(0, "g16", mulz(N, addz(O, R)));
  float* dB = a.f32(1, "dB", mulz(O, R), true);
  const float* dy = a.f32(2, "dy", mulz(N, O));
  const uint16_t* u16 = a.u16(3, "u16", mulz(N, R), R == 0);
  const float* B = a.f32(4, "B", mulz(O, R), R == 0);
  if (!a.ok()) return nullptr;
  bf16_linear_grad(g16, dB, dy, u16, B, static_cast<float>(s), N, O, R);
  return nullptr;
}

napi_value Bf16Accumulate(napi_env env, napi_callback_info info) {
  Args a(env, info, "bf16Accumulate", 3);
  const int64_t n = a.dim(2, "n");
  float* dst = a.f32(0, "dst", n);
  const float* src = a.f32(1, "src", n);
  if (!a.ok()) return nullptr;
  bf16_accumulate(dst, src, n);
  return nullptr;
}

// swigluBf16(m16, g16, u16, n)
napi_value SwigluBf16(napi_env env, napi_callback_info info) {
  Args a(env, info, "swigluBf16", 4);
  const int64_t n = a.dim(3, "n");
  uint16_t* m16 = a.u16(0, "m16", n);
  const uint16_t* g16 = a.u16(1, "g16", n);
  const uint16_t* u16 = a.u16(2, "u16", n);
  if (!a.ok()) return nullptr;
  swiglu_bf16(m16, g16, u16, n);
  return nullptr;
}

// swigluBf16Backward(dg, du, dm, g16, u16, n, accumulate)
napi_value SwigluBf16Backward(napi_env env, napi_callback_info info) {
  Args a(env, info, "swigluBf16Backward", 7);
  const int64_t n = a.dim(5, "n");
  float* dg = a.f32(0, "dg", n);
  float* du = a.f32(1, "du", n);
  const float* dm = a.f32(2, "dm", n);
  const uint16_t* g16 = a.u16(3, "g16", n);
  const uint16_t* u16 = a.u16(4, "u16", n);
  const bool accumulate = a.flag(6, "accumulate");
  if (!a.ok()) return nullptr;
  swiglu_bf16_backward(dg, du, dm, g16, u16, n, accumulate);
  return nullptr;
}

// rmsnormBf16(out16, rstd, x, w, N, C, eps)
napi_value RmsnormBf16(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsnormBf16", 7);
  const int64_t N = a.dim(4, "N"), C = a.dim(5, "C");
  const double eps = a.num(6, "eps");
  uint16_t* out16 = a.u16(0, "out16", mulz(N, C));
  float* rstd = a.f32(1, "rstd", N);
  const float* x = a.f32(2, "x", mulz(N, C));
  const float* w = a.f32(3, "w", C);
  if (!a.ok()) return nullptr;
  rmsnorm_bf16(out16, rstd, x, w, N, C, eps);
  return nullptr;
}

// addRmsnorm(sum, out | null, out16 | null, rstd, x, y | null, y16 | null, mult, w, N, C, eps)
napi_value AddRmsnorm(napi_env env, napi_callback_info info) {
  Args a(env, info, "addRmsnorm", 12);
  const double mult = a.num(7, "mult");
  const int64_t N = a.dim(9, "N"), C = a.dim(10, "C");
  const double eps = a.num(11, "eps");
  const uint64_t n = mulz(N, C);
  float* sum = a.f32(0, "sum", n);
  float* out = a.f32(1, "out", n, true);
  uint16_t* out16 = a.u16(2, "out16", n, true);
  float* rstd = a.f32(3, "rstd", N);
  const float* x = a.f32(4, "x", n);
  const float* y = a.f32(5, "y", n, true);
  const uint16_t* y16 = a.u16(6, "y16", n, true);
  const float* w = a.f32(8, "w", C);
  if (a.ok() && (out == nullptr) == (out16 == nullptr)) a.fail("give exactly one of out and out16");
  if (a.ok() && (y == nullptr) == (y16 == nullptr)) a.fail("give exactly one of y and y16");
  if (!a.ok()) return nullptr;
  add_rmsnorm(sum, out, out16, rstd, x, y, y16, static_cast<float>(mult), w, N, C, eps);
  return nullptr;
}

// addRmsnormRows(sum, out, rstd, x, y, mult, w, N, C, eps): addRmsnorm with float32 y and out, split by rows
napi_value AddRmsnormRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "addRmsnormRows", 10);
  const double mult = a.num(5, "mult");
  const int64_t N = a.dim(7, "N"), C = a.dim(8, "C");
  const double eps = a.num(9, "eps");
  const uint64_t n = mulz(N, C);
  float* sum = a.f32(0, "sum", n);
  float* out = a.f32(1, "out", n);
  float* rstd = a.f32(2, "rstd", N);
  const float* x = a.f32(3, "x", n);
  const float* y = a.f32(4, "y", n);
  const float* w = a.f32(6, "w", C);
  if (!a.ok()) return nullptr;
  add_rmsnorm_rows(sum, out, rstd, x, y, static_cast<float>(mult), w, N, C, eps);
  return nullptr;
}

// q, k, v (and out) read as float32 or as bf16 bits, by the pointer type asked for
inline const float* typed_in(Args& a, size_t i, const char* name, uint64_t n, const float*) { return a.f32(i, name, n); }
inline const uint16_t* typed_in(Args& a, size_t i, const char* name, uint64_t n, const uint16_t*) {
  return a.u16(i, name, n);
}

// attentionBf16(out | null, out16, lse, q, k, v, alibi | null, seg | null, B, Tq, Tk, H, Hkv, D, scale, causal,
//               window, softcap), and attentionBf16Bits(out16, lse, q16, k16, v16, ...) with q, k, v as bf16 bits and
// no float output: one reader for both
template <typename T>
napi_value attention_forward_binding(napi_env env, napi_callback_info info, const char* kernel, const char* const names[3]) {
  constexpr size_t o = std::is_same_v<T, float> ? 1 : 0;  // the float entry point leads with its optional float out
  Args a(env, info, kernel, 17 + o);
  const AttnShape s = read_attn_shape(a, 7 + o);
  const uint64_t qn = mulz(s.B, s.Tq, s.H, s.D), kn = mulz(s.B, s.Tk, s.Hkv, s.D);
  float* out = o ? a.f32(0, "out", qn, true) : nullptr;
  uint16_t* out16 = a.u16(o, "out16", qn);
  float* lse = a.f32(o + 1, "lse", mulz(s.B, s.H, s.Tq));
  const T* q = typed_in(a, o + 2, names[0], qn, static_cast<const T*>(nullptr));
  const T* k = typed_in(a, o + 3, names[1], kn, static_cast<const T*>(nullptr));
  const T* v = typed_in(a, o + 4, names[2], kn, static_cast<const T*>(nullptr));
  const float* alibi = a.f32(o + 5, "alibi", s.H, true);
  const int32_t* seg = a.i32(o + 6, "seg", mulz(s.B, s.Tk), true);
  if (a.ok() && s.Tq > s.Tk) a.fail("expected Tq <= Tk");
  if (!a.ok()) return nullptr;
  if constexpr (std::is_same_v<T, float>) attention_bf16(out, out16, lse, q, k, v, alibi, seg, s);
  else attention_bf16_bits(out16, lse, q, k, v, alibi, seg, s);
  return nullptr;
}

napi_value AttentionBf16(napi_env env, napi_callback_info info) {
  static const char* const names[3] = {"q", "k", "v"};
  return attention_forward_binding<float>(env, info, "attentionBf16", names);
}

napi_value AttentionBf16Bits(napi_env env, napi_callback_info info) {
  static const char* const names[3] = {"q16", "k16", "v16"};
  return attention_forward_binding<uint16_t>(env, info, "attentionBf16Bits", names);
}

// attentionBf16Backward(dq, dk, dv, dout, q, k, v, out, lse, alibi | null, seg | null, B, Tq, Tk, H, Hkv, D, scale,
//                       causal, window, softcap, accumulate), and attentionBf16BitsBackward with q, k, v, out as bf16
// bits: one reader for both, T the element type of those four
template <typename T>
napi_value attention_backward_binding(napi_env env, napi_callback_info info, const char* kernel, const char* const names[4]) {
  Args a(env, info, kernel, 22);
  const AttnShape s = read_attn_shape(a, 11);
  const uint64_t qn = mulz(s.B, s.Tq, s.H, s.D), kn = mulz(s.B, s.Tk, s.Hkv, s.D);
  float* dq = a.f32(0, "dq", qn);
  float* dk = a.f32(1, "dk", kn);
  float* dv = a.f32(2, "dv", kn);
  const float* dout = a.f32(3, "dout", qn);
  const T* q = typed_in(a, 4, names[0], qn, static_cast<const T*>(nullptr));
  const T* k = typed_in(a, 5, names[1], kn, static_cast<const T*>(nullptr));
  const T* v = typed_in(a, 6, names[2], kn, static_cast<const T*>(nullptr));
  const T* out = typed_in(a, 7, names[3], qn, static_cast<const T*>(nullptr));
  const float* lse = a.f32(8, "lse", mulz(s.B, s.H, s.Tq));
  const float* alibi = a.f32(9, "alibi", s.H, true);
  const int32_t* seg = a.i32(10, "seg", mulz(s.B, s.Tk), true);
  const bool accumulate = a.flag(21, "accumulate");
  if (a.ok() && s.Tq > s.Tk) a.fail("expected Tq <= Tk");
  if (!a.ok()) return nullptr;
  if constexpr (std::is_same_v<T, float>) attention_bf16_backward(dq, dk, dv, dout, q, k, v, out, lse, alibi, seg, s, accumulate);
  else attention_bf16_bits_backward(dq, dk, dv, dout, q, k, v, out, lse, alibi, seg, s, accumulate);
  return nullptr;
}

napi_value AttentionBf16Backward(napi_env env, napi_callback_info info) {
  static const char* const names[4] = {"q", "k", "v", "out"};
  return attention_backward_binding<float>(env, info, "attentionBf16Backward", names);
}

napi_value AttentionBf16BitsBackward(napi_env env, napi_callback_info info) {
  static const char* const names[4] = {"q16", "k16", "v16", "out16"};
  return attention_backward_binding<uint16_t>(env, info, "attentionBf16BitsBackward", names);
}


// gemmInfo(): { sgemm: 'onednn' | 'openblas' | 'accelerate', avx2, avx512, avx512bf16, amxbf16 }
napi_value GemmInfo(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, sgemm_backend(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "sgemm", v);
  const struct { const char* name; bool on; } flags[] = {
      {"avx2", cpu_has_avx2()}, {"avx512", cpu_has_avx512()}, {"avx512bf16", cpu_has_avx512_bf16()},
      {"amxbf16", cpu_has_amx_bf16()}};
  for (const auto& f : flags) {
    napi_get_boolean(env, f.on, &v);
    napi_set_named_property(env, obj, f.name, v);
  }
  return obj;
}

}  // namespace

napi_status register_lowp(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      SH_METHOD("gemmBf16Ld", GemmBf16Ld),
      SH_METHOD("bf16LinearOut", Bf16LinearOut),
      SH_METHOD("bf16LinearGrad", Bf16LinearGrad),
      SH_METHOD("bf16Accumulate", Bf16Accumulate),
      SH_METHOD("swigluBf16", SwigluBf16),
      SH_METHOD("swigluBf16Backward", SwigluBf16Backward),
      SH_METHOD("rmsnormBf16", RmsnormBf16),
      SH_METHOD("addRmsnorm", AddRmsnorm),
      SH_METHOD("addRmsnormRows", AddRmsnormRows),
      SH_METHOD("attentionBf16", AttentionBf16),
      SH_METHOD("attentionBf16Backward", AttentionBf16Backward),
      SH_METHOD("attentionBf16Bits", AttentionBf16Bits),
      SH_METHOD("attentionBf16BitsBackward", AttentionBf16BitsBackward),
      SH_METHOD("gemmInfo", GemmInfo),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace sh
