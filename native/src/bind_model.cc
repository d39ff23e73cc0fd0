// Node-API bindings for embeddings, RoPE, attention, cross-entropy, dropout, AdamW and dtype conversion.
// Index arguments (ids, targets, positions) are range-checked here: a bad index would read or write
// outside its table.
#include <cstdint>
#include <string>
#include <type_traits>

#include <vector>

#include "args.h"
#include "bind.h"
#include "kernels.h"

namespace sh {
namespace {

/** Every ids[n] in [0, rows); otherwise fails naming the first bad entry. */
bool check_indices(Args& a, const int32_t* ids, int64_t N, int64_t rows, const char* name, bool allowIgnore) {
  if (!a.ok()) return false;
  for (int64_t n = 0; n < N; ++n) {
    const int32_t id = ids[n];
    if ((id >= 0 && id < rows) || (allowIgnore && id == -100)) continue;
    a.fail(std::string(name) + "[" + std::to_string(n) + "] = " + std::to_string(id) + " is outside [0, " +
           std::to_string(rows) + ")" + (allowIgnore ? " and is not -100" : ""));
    return false;
  }
  return true;
}

// embedding(out, table, ids, N, C); embeddingBackward(dtable, dout, ids, N, C)
napi_value EmbeddingImpl(napi_env env, napi_callback_info info, bool backward) {
  Args a(env, info, backward ? "embeddingBackward" : "embedding", 5);
  const int64_t N = a.dim(3, "N"), C = a.dim(4, "C");
  float* table = a.f32(backward ? 0 : 1, backward ? "dtable" : "table", C);  // [V, C], V from its length
  const int64_t rows = C > 0 ? static_cast<int64_t>(a.last_length()) / C : 0;
  float* rowsBuf = a.f32(backward ? 1 : 0, backward ? "dout" : "out", mulz(N, C));
  const int32_t* ids = a.i32(2, "ids", N);
  if (C > 0) check_indices(a, ids, N, rows, "ids", false);
  if (!a.ok()) return nullptr;
  if (backward) embedding_backward(table, rowsBuf, ids, N, C);
  else embedding(rowsBuf, table, ids, N, C);
  return nullptr;
}
napi_value Embedding(napi_env env, napi_callback_info info) { return EmbeddingImpl(env, info, false); }
napi_value EmbeddingBackward(napi_env env, napi_callback_info info) { return EmbeddingImpl(env, info, true); }

enum class RopeKind { kForward, kBackward, kRows, kBf16 };

// rope(out, x, cos, sin, pos, N, H, D); ropeBackward(dx, dout, cos, sin, pos, N, H, D, accumulate); ropeRows: rope's
// arguments; ropeBf16(out16, x16, cos, sin, pos, N, H, D)
napi_value RopeImpl(napi_env env, napi_callback_info info, RopeKind kind) {
  const bool backward = kind == RopeKind::kBackward, bits = kind == RopeKind::kBf16;
  Args a(env, info, backward ? "ropeBackward" : kind == RopeKind::kRows ? "ropeRows" : bits ? "ropeBf16" : "rope",
         backward ? 9 : 8);
  const int64_t N = a.dim(5, "N"), H = a.dim(6, "H"), D = a.dim(7, "D");
  if (a.ok() && D % 2 != 0) a.fail("head dim D must be even");
  const int64_t half = D / 2;
  float* out = bits ? nullptr : a.f32(0, backward ? "dx" : "out", mulz(N, H, D));
  uint16_t* out16 = bits ? a.u16(0, "out16", mulz(N, H, D)) : nullptr;
  const float* x = bits ? nullptr : a.f32(1, backward ? "dout" : "x", mulz(N, H, D));
  const uint16_t* x16 = bits ? a.u16(1, "x16", mulz(N, H, D)) : nullptr;
  const float* cos = a.f32(2, "cos", half);
  const uint64_t cosLen = a.last_length();
  const float* sin = a.f32(3, "sin", half);
  const uint64_t sinLen = a.last_length();
  const int32_t* pos = a.i32(4, "pos", N);
  if (half > 0) check_indices(a, pos, N, static_cast<int64_t>((cosLen < sinLen ? cosLen : sinLen) / half), "pos", false);
  const bool accumulate = backward && a.flag(8, "accumulate");
  if (!a.ok()) return nullptr;
  if (backward) rope_backward(out, x, cos, sin, pos, N, H, D, accumulate);
  else if (kind == RopeKind::kRows) rope_rows(out, x, cos, sin, pos, N, H, D);
  else if (bits) rope_bf16(out16, x16, cos, sin, pos, N, H, D);
  else rope(out, x, cos, sin, pos, N, H, D);
  return nullptr;
}
napi_value Rope(napi_env env, napi_callback_info info) { return RopeImpl(env, info, RopeKind::kForward); }
napi_value RopeBackward(napi_env env, napi_callback_info info) { return RopeImpl(env, info, RopeKind::kBackward); }
napi_value RopeRows(napi_env env, napi_callback_info info) { return RopeImpl(env, info, RopeKind::kRows); }
napi_value RopeBf16(napi_env env, napi_callback_info info) { return RopeImpl(env, info, RopeKind::kBf16); }

}  // namespace

/** Reads B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap starting at argument `first` (also used by
 *  bind_lowp.cc). */
AttnShape read_attn_shape(Args& a, size_t first) {
  AttnShape s{};
  s.B = a.dim(first, "B");
  s.Tq = a.dim(first + 1, "Tq");
  s.Tk = a.dim(first + 2, "Tk");
  s.H = a.dim(first + 3, "H");
  s.Hkv = a.dim(first + 4, "Hkv");
  s.D = a.dim(first + 5, "D");
  s.scale = static_cast<float>(a.num(first + 6, "scale"));
  s.causal = static_cast<int>(a.integer(first + 7, "causal"));
  s.window = a.integer(first + 8, "window");
  s.softcap = static_cast<float>(a.num(first + 9, "softcap"));
  if (a.ok() && !(s.softcap >= 0.0f)) a.fail("softcap must be >= 0 (0 = no soft-cap)");
  if (a.ok() && (s.Hkv == 0 ? s.H != 0 : s.H % s.Hkv != 0)) a.fail("H must be a multiple of Hkv");
  return s;
}

namespace {

/** Keys or values as the cache holds them: a Float32Array, or a Uint16Array of bf16 bits. */
template <typename E>
static E* kv_arg(Args& a, size_t i, const char* name, uint64_t n) {
  if constexpr (std::is_same_v<E, float>) return a.f32(i, name, n);
  else return a.u16(i, name, n);
}

/** A list of B such arrays (one per batch row), element b with at least need[b] values. */
template <typename E>
static bool kv_list(Args& a, size_t i, const char* name, size_t B, const uint64_t* need, E** out) {
  if constexpr (std::is_same_v<E, float>) return a.f32_list(i, name, B, need, out);
  else return a.u16_list(i, name, B, need, out);
}

// attention(out, lse, q, k, v, alibi | null, seg | null, B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap);
// attentionKvBf16 the same with k and v as Uint16Array of bf16 bits.
template <typename E>
static napi_value attention_binding(napi_env env, napi_callback_info info, const char* name) {
  Args a(env, info, name, 17);
  const AttnShape s = read_attn_shape(a, 7);
  const uint64_t qn = mulz(s.B, s.Tq, s.H, s.D), kn = mulz(s.B, s.Tk, s.Hkv, s.D);
  float* out = a.f32(0, "out", qn);
  float* lse = a.f32(1, "lse", mulz(s.B, s.H, s.Tq));
  const float* q = a.f32(2, "q", qn);
  const E* k = kv_arg<E>(a, 3, "k", kn);
  const E* v = kv_arg<E>(a, 4, "v", kn);
  const float* alibi = a.f32(5, "alibi", s.H, true);
  const int32_t* seg = a.i32(6, "seg", mulz(s.B, s.Tk), true);
  if (a.ok() && seg != nullptr && s.Tq > s.Tk) a.fail("segment ids need Tq <= Tk");
  if (!a.ok()) return nullptr;
  if constexpr (std::is_same_v<E, float>) attention(out, lse, q, k, v, alibi, seg, s);
  else attention_bf16_kv(out, lse, q, k, v, alibi, seg, s);
  return nullptr;
}

napi_value Attention(napi_env env, napi_callback_info info) { return attention_binding<float>(env, info, "attention"); }

napi_value AttentionKvBf16(napi_env env, napi_callback_info info) {
  return attention_binding<uint16_t>(env, info, "attentionKvBf16");
}

// attentionDecodeRows(out, q, ks, vs, lens, tq, B, H, Hkv, D, scale, window, softcap): ks, vs arrays of B Float32Array;
// attentionDecodeRowsBf16 the same with B Uint16Array each (caches held in bf16).
template <typename E>
static napi_value decode_rows_binding(napi_env env, napi_callback_info info, const char* name) {
  Args a(env, info, name, 13);
  const i64 B = a.dim(6, "B");
  AttnShape s{};
  s.B = B, s.Tq = 1, s.causal = 1;
  s.H = a.dim(7, "H");
  s.Hkv = a.dim(8, "Hkv");
  s.D = a.dim(9, "D");
  s.scale = static_cast<float>(a.num(10, "scale"));
  s.window = a.integer(11, "window");
  s.softcap = static_cast<float>(a.num(12, "softcap"));
  if (a.ok() && !(s.softcap >= 0.0f)) a.fail("softcap must be >= 0 (0 = no soft-cap)");
  if (a.ok() && (s.Hkv == 0 || s.H % s.Hkv != 0)) a.fail("H must be a positive multiple of Hkv");
  const int32_t* lens = a.i32(4, "lens", B);
  const int32_t* tq = a.i32(5, "tq", B);
  if (!a.ok()) return nullptr;
  std::vector<i64> len(static_cast<size_t>(B)), queries(static_cast<size_t>(B));
  std::vector<uint64_t> need(static_cast<size_t>(B));
  uint64_t total = 0;
  for (i64 b = 0; b < B; ++b) {
    if (tq[b] < 1 || lens[b] < tq[b]) {
      a.fail("row " + std::to_string(b) + ": needs 1 <= tq <= lens (its queries are among its cached positions), got tq " +
             std::to_string(tq[b]) + " and lens " + std::to_string(lens[b]));
      return nullptr;
    }
    len[b] = lens[b];
    queries[b] = tq[b];
    total += static_cast<uint64_t>(tq[b]);
    need[b] = mulz(static_cast<uint64_t>(lens[b]), s.Hkv, s.D);
  }
  const uint64_t qn = mulz(total, s.H, s.D);
  float* out = a.f32(0, "out", qn);
  const float* q = a.f32(1, "q", qn);
  std::vector<E*> ks(static_cast<size_t>(B)), vs(static_cast<size_t>(B));
  if (!a.ok() || !kv_list<E>(a, 2, "ks", static_cast<size_t>(B), need.data(), ks.data()) ||
      !kv_list<E>(a, 3, "vs", static_cast<size_t>(B), need.data(), vs.data()))
    return nullptr;
  if constexpr (std::is_same_v<E, float>) attention_decode_rows(out, q, ks.data(), vs.data(), len.data(), queries.data(), B, s);
  else attention_decode_rows_bf16(out, q, ks.data(), vs.data(), len.data(), queries.data(), B, s);
  return nullptr;
}

napi_value AttentionDecodeRows(napi_env env, napi_callback_info info) {
  return decode_rows_binding<float>(env, info, "attentionDecodeRows");
}

napi_value AttentionDecodeRowsBf16(napi_env env, napi_callback_info info) {
  return decode_rows_binding<uint16_t>(env, info, "attentionDecodeRowsBf16");
}

// attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, alibi | null, seg | null, B, Tq, Tk, H, Hkv, D,
//                   scale, causal, window, softcap)
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "attentionBackward", 21);
  const AttnShape s = read_attn_shape(a, 11);
  const uint64_t qn = mulz(s.B, s.Tq, s.H, s.D), kn = mulz(s.B, s.Tk, s.Hkv, s.D);
  float* dq = a.f32(0, "dq", qn);
  float* dk = a.f32(1, "dk", kn);
  float* dv = a.f32(2, "dv", kn);
  const float* dout = a.f32(3, "dout", qn);
  const float* q = a.f32(4, "q", qn);
  const float* k = a.f32(5, "k", kn);
  const float* v = a.f32(6, "v", kn);
  const float* out = a.f32(7, "out", qn);
  const float* lse = a.f32(8, "lse", mulz(s.B, s.H, s.Tq));
  const float* alibi = a.f32(9, "alibi", s.H, true);
  const int32_t* seg = a.i32(10, "seg", mulz(s.B, s.Tk), true);
  if (a.ok() && seg != nullptr && s.Tq > s.Tk) a.fail("segment ids need Tq <= Tk");
  if (!a.ok()) return nullptr;
  attention_backward(dq, dk, dv, dout, q, k, v, out, lse, alibi, seg, s);
  return nullptr;
}

// crossEntropy(losses, dlogits | null, logits, targets, N, V, gradScale)
napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  Args a(env, info, "crossEntropy", 7);
  const int64_t N = a.dim(4, "N"), V = a.dim(5, "V", INT32_MAX);
  const double gradScale = a.num(6, "gradScale");
  float* losses = a.f32(0, "losses", N);
  float* dlogits = a.f32(1, "dlogits", mulz(N, V), true);
  const float* logits = a.f32(2, "logits", mulz(N, V));
  const int32_t* targets = a.i32(3, "targets", N);
  check_indices(a, targets, N, V, "targets", true);
  if (!a.ok()) return nullptr;
  cross_entropy(losses, dlogits, logits, targets, N, V, static_cast<float>(gradScale));
  return nullptr;
}

// crossEntropyBf16(losses, g16, logits (overwritten), targets, N, V, gradScale)
napi_value CrossEntropyBf16(napi_env env, napi_callback_info info) {
  Args a(env, info, "crossEntropyBf16", 7);
  const int64_t N = a.dim(4, "N"), V = a.dim(5, "V", INT32_MAX);
  const double gradScale = a.num(6, "gradScale");
  float* losses = a.f32(0, "losses", N);
  uint16_t* g16 = a.u16(1, "g16", mulz(N, V));
  float* logits = a.f32(2, "logits", mulz(N, V));
  const int32_t* targets = a.i32(3, "targets", N);
  check_indices(a, targets, N, V, "targets", true);
  if (!a.ok()) return nullptr;
  cross_entropy_bf16(losses, g16, logits, targets, N, V, static_cast<float>(gradScale));
  return nullptr;
}

// dropout(out, x, n, p, seed); dropoutBackward(dx, dout, n, p, seed)
napi_value DropoutImpl(napi_env env, napi_callback_info info, bool backward) {
  Args a(env, info, backward ? "dropoutBackward" : "dropout", 5);
  const int64_t n = a.dim(2, "n");
  const double p = a.num(3, "p");
  const uint32_t seed = a.u32(4, "seed");
  float* out = a.f32(0, backward ? "dx" : "out", n);
  const float* x = a.f32(1, backward ? "dout" : "x", n);
  if (!a.ok()) return nullptr;
  if (backward) dropout_backward(out, x, n, p, seed);
  else dropout(out, x, n, p, seed);
  return nullptr;
}
napi_value Dropout(napi_env env, napi_callback_info info) { return DropoutImpl(env, info, false); }
napi_value DropoutBackward(napi_env env, napi_callback_info info) { return DropoutImpl(env, info, true); }

// adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step)
napi_value Adamw(napi_env env, napi_callback_info info) {
  Args a(env, info, "adamw", 11);
  const int64_t n = a.dim(4, "n");
  const double lr = a.num(5, "lr"), beta1 = a.num(6, "beta1"), beta2 = a.num(7, "beta2");
  const double eps = a.num(8, "eps"), wd = a.num(9, "weightDecay"), step = a.num(10, "step");
  float* param = a.f32(0, "param", n);
  const float* grad = a.f32(1, "grad", n);
  float* m = a.f32(2, "m", n);
  float* v = a.f32(3, "v", n);
  if (!a.ok()) return nullptr;
  adamw(param, grad, m, v, n, lr, beta1, beta2, eps, wd, step);
  return nullptr;
}

// adamwMany(params, grads, ms, vs, sizes, decays, S, lr, beta1, beta2, eps, weightDecay, step): S Float32Arrays each
// (tensor s of sizes[s] elements), decays an Int32Array of S flags (1: weightDecay applies to tensor s)
napi_value AdamwMany(napi_env env, napi_callback_info info) {
  Args a(env, info, "adamwMany", 13);
  const int64_t S = a.dim(6, "S", 1 << 20);
  const double lr = a.num(7, "lr"), beta1 = a.num(8, "beta1"), beta2 = a.num(9, "beta2");
  const double eps = a.num(10, "eps"), wd = a.num(11, "weightDecay"), step = a.num(12, "step");
  const int32_t* decays = a.i32(5, "decays", static_cast<uint64_t>(S));
  const size_t n = static_cast<size_t>(S);
  std::vector<uint64_t> need;
  std::vector<int64_t> len;
  if (!a.sizes(4, "sizes", S, need, len)) return nullptr;
  std::vector<float*> params(n), grads(n), ms(n), vs(n);
  if (!a.f32_list(0, "params", n, need.data(), params.data()) || !a.f32_list(1, "grads", n, need.data(), grads.data())
      || !a.f32_list(2, "ms", n, need.data(), ms.data()) || !a.f32_list(3, "vs", n, need.data(), vs.data()))
    return nullptr;
  adamw_many(params.data(), grads.data(), ms.data(), vs.data(), len.data(), decays, S, lr, beta1, beta2, eps, wd, step);
  return nullptr;
}

// (out: f32, src: u16, n) and (out: u16, src: f32, n)
template <void (*Kernel)(float*, const uint16_t*, i64)>
napi_value ToF32(napi_env env, napi_callback_info info, const char* name) {
  Args a(env, info, name, 3);
  const int64_t n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const uint16_t* src = a.u16(1, "src", n);
  if (!a.ok()) return nullptr;
  Kernel(out, src, n);
  return nullptr;
}
template <void (*Kernel)(uint16_t*, const float*, i64)>
napi_value FromF32(napi_env env, napi_callback_info info, const char* name) {
  Args a(env, info, name, 3);
  const int64_t n = a.dim(2, "n");
  uint16_t* out = a.u16(0, "out", n);
  const float* src = a.f32(1, "src", n);
  if (!a.ok()) return nullptr;
  Kernel(out, src, n);
  return nullptr;
}
// gemmBf16(c, a, b16, M, N, K, transA, transB, beta): b holds bf16 bit patterns
napi_value GemmBf16(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemmBf16", 9);
  constexpr int64_t kMax = INT32_MAX;  // BLAS dimensions are int
  const int64_t M = a.dim(3, "M", kMax), N = a.dim(4, "N", kMax), K = a.dim(5, "K", kMax);
  const bool ta = a.flag(6, "transA"), tb = a.flag(7, "transB");
  const double beta = a.num(8, "beta");
  if (a.ok() && beta != 0.0 && beta != 1.0) a.fail("beta must be 0 (overwrite) or 1 (accumulate)");
  float* c = a.f32(0, "c", mulz(M, N));
  const float* A = a.f32(1, "a", mulz(M, K));
  const uint16_t* B = a.u16(2, "b", mulz(K, N));
  if (!a.ok()) return nullptr;
  gemm_bf16(c, A, B, M, N, K, ta, tb, static_cast<float>(beta));
  return nullptr;
}

// gemmI8(c, a, q, scale, M, N, K, beta): c[M, N] (+)= a[M, K] @ (scale[n] * q[N, K])^T
napi_value GemmI8(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemmI8", 8);
  constexpr int64_t kMax = INT32_MAX;  // BLAS dimensions are int
  const int64_t M = a.dim(4, "M", kMax), N = a.dim(5, "N", kMax), K = a.dim(6, "K", kMax);
  const double beta = a.num(7, "beta");
  if (a.ok() && beta != 0.0 && beta != 1.0) a.fail("beta must be 0 (overwrite) or 1 (accumulate)");
  float* c = a.f32(0, "c", mulz(M, N));
  const float* A = a.f32(1, "a", mulz(M, K));
  const int8_t* Q = a.i8(2, "q", mulz(N, K));
  const float* S = a.f32(3, "scale", static_cast<uint64_t>(N));
  if (!a.ok()) return nullptr;
  gemm_i8(c, A, Q, S, M, N, K, static_cast<float>(beta));
  return nullptr;
}

// quantizeRowsI8(q, scale, w, rows, cols)
napi_value QuantizeRowsI8(napi_env env, napi_callback_info info) {
  Args a(env, info, "quantizeRowsI8", 5);
  const int64_t rows = a.dim(3, "rows"), cols = a.dim(4, "cols");
  int8_t* Q = a.i8(0, "q", mulz(rows, cols));
  float* S = a.f32(1, "scale", static_cast<uint64_t>(rows));
  const float* W = a.f32(2, "w", mulz(rows, cols));
  if (!a.ok()) return nullptr;
  quantize_rows_i8(Q, S, W, rows, cols);
  return nullptr;
}

napi_value Bf16ToF32(napi_env env, napi_callback_info info) { return ToF32<bf16_to_f32>(env, info, "bf16ToF32"); }
napi_value F16ToF32(napi_env env, napi_callback_info info) { return ToF32<f16_to_f32>(env, info, "f16ToF32"); }
napi_value F32ToBf16(napi_env env, napi_callback_info info) { return FromF32<f32_to_bf16>(env, info, "f32ToBf16"); }
napi_value F32ToF16(napi_env env, napi_callback_info info) { return FromF32<f32_to_f16>(env, info, "f32ToF16"); }

}  // namespace

napi_status register_model(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      SH_METHOD("embedding", Embedding),
      SH_METHOD("embeddingBackward", EmbeddingBackward),
      SH_METHOD("rope", Rope),
      SH_METHOD("ropeBackward", RopeBackward),
      SH_METHOD("ropeBf16", RopeBf16),
      SH_METHOD("attention", Attention),
      SH_METHOD("attentionDecodeRows", AttentionDecodeRows),
      SH_METHOD("attentionDecodeRowsBf16", AttentionDecodeRowsBf16),
      SH_METHOD("attentionKvBf16", AttentionKvBf16),
      SH_METHOD("ropeRows", RopeRows),
      SH_METHOD("attentionBackward", AttentionBackward),
      SH_METHOD("crossEntropy", CrossEntropy),
      SH_METHOD("crossEntropyBf16", CrossEntropyBf16),
      SH_METHOD("dropout", Dropout),
      SH_METHOD("dropoutBackward", DropoutBackward),
      SH_METHOD("adamw", Adamw),
      SH_METHOD("adamwMany", AdamwMany),
      SH_METHOD("gemmBf16", GemmBf16),
      SH_METHOD("gemmI8", GemmI8),
      SH_METHOD("quantizeRowsI8", QuantizeRowsI8),
      SH_METHOD("bf16ToF32", Bf16ToF32),
      SH_METHOD("f16ToF32", F16ToF32),
      SH_METHOD("f32ToBf16", F32ToBf16),
      SH_METHOD("f32ToF16", F32ToF16),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace sh
