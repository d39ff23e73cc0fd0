// Node-API bindings for Gemma's kernels: GeGLU, tanh soft-capping and the cross-entropy of soft-capped logits
// (k_geglu.cc, k_softcap.cc). Argument order and semantics: src/kernels/types.ts.
#include <cstdint>
#include <string>

#include "args.h"
#include "bind.h"
#include "kernels.h"

namespace sh {
namespace {

int read_approx(Args& a, size_t i) {
  const int64_t v = a.integer(i, "approximate");
  if (a.ok() && v != 0 && v != 1) a.fail("argument approximate must be 0 (erf) or 1 (tanh)");
  return static_cast<int>(v);
}

float read_cap(Args& a, size_t i) {
  const double cap = a.num(i, "cap");
  if (a.ok() && !(cap > 0.0)) a.fail("cap must be > 0");
  return static_cast<float>(cap);
}

// geglu(out, gate, up, n, approximate)
napi_value Geglu(napi_env env, napi_callback_info info) {
  Args a(env, info, "geglu", 5);
  const int64_t n = a.dim(3, "n");
  const int approx = read_approx(a, 4);
  float* out = a.f32(0, "out", n);
  const float* gate = a.f32(1, "gate", n);
  const float* up = a.f32(2, "up", n);
  if (!a.ok()) return nullptr;
  geglu(out, gate, up, n, approx);
  return nullptr;
}

// gegluBackward(dgate, dup, dout, gate, up, n, approximate)
napi_value GegluBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "gegluBackward", 7);
  const int64_t n = a.dim(5, "n");
  const int approx = read_approx(a, 6);
  float* dgate = a.f32(0, "dgate", n);
  float* dup = a.f32(1, "dup", n);
  const float* dout = a.f32(2, "dout", n);
  const float* gate = a.f32(3, "gate", n);
  const float* up = a.f32(4, "up", n);
  if (!a.ok()) return nullptr;
  geglu_backward(dgate, dup, dout, gate, up, n, approx);
  return nullptr;
}

// softcap(out, x, n, cap); softcapBackward(dx, dout, y, n, cap)
napi_value Softcap(napi_env env, napi_callback_info info) {
  Args a(env, info, "softcap", 4);
  const int64_t n = a.dim(2, "n");
  const float cap = read_cap(a, 3);
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "x", n);
  if (!a.ok()) return nullptr;
  softcap(out, x, n, cap);
  return nullptr;
}

napi_value SoftcapBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "softcapBackward", 5);
  const int64_t n = a.dim(3, "n");
  const float cap = read_cap(a, 4);
  float* dx = a.f32(0, "dx", n);
  const float* dout = a.f32(1, "dout", n);
  const float* y = a.f32(2, "y", n);
  if (!a.ok()) return nullptr;
  softcap_backward(dx, dout, y, n, cap);
  return nullptr;
}

// softcapCrossEntropy(losses, dlogits | null, logits, targets, N, V, gradScale, cap)
napi_value SoftcapCrossEntropy(napi_env env, napi_callback_info info) {
  Args a(env, info, "softcapCrossEntropy", 8);
  const int64_t N = a.dim(4, "N"), V = a.dim(5, "V", INT32_MAX);
  const double gradScale = a.num(6, "gradScale");
  const float cap = read_cap(a, 7);
  float* losses = a.f32(0, "losses", N);
  float* dlogits = a.f32(1, "dlogits", mulz(N, V), true);
  const float* logits = a.f32(2, "logits", mulz(N, V));
  const int32_t* targets = a.i32(3, "targets", N);
  for (int64_t n = 0; a.ok() && n < N; ++n) {
    const int32_t t = targets[n];
    if ((t >= 0 && t < V) || t == -100) continue;
    a.fail("targets[" + std::to_string(n) + "] = " + std::to_string(t) + " is outside [0, " + std::to_string(V) +
           ") and is not -100");
  }
  if (!a.ok()) return nullptr;
  softcap_cross_entropy(losses, dlogits, logits, targets, N, V, static_cast<float>(gradScale), cap);
  return nullptr;
}

}  // namespace

napi_status register_softcap_geglu(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      SH_METHOD("geglu", Geglu),
      SH_METHOD("gegluBackward", GegluBackward),
      SH_METHOD("softcap", Softcap),
      SH_METHOD("softcapBackward", SoftcapBackward),
      SH_METHOD("softcapCrossEntropy", SoftcapCrossEntropy),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace sh
