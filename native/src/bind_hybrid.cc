// Node-API bindings for the hybrid families' kernels (Qwen3.5, LFM2): causal depthwise conv1d, L2 norm and the gated
// delta rule (k_conv1d.cc, k_delta_rule*.cc). Argument order and semantics: src/kernels/types.ts.
#include <cstdint>

#include "args.h"
#include "bind.h"
#include "kernels.h"

namespace sh {
namespace {

int read_act(Args& a, size_t i) {
  const int64_t v = a.integer(i, "act");
  if (a.ok() && v != 0 && v != 1) a.fail("argument act must be 0 (identity) or 1 (SiLU)");
  return static_cast<int>(v);
}

// causalConv1d(out, x, w, bias | null, state | null, seg | null, B, T, Ch, K, act)
napi_value CausalConv1d(napi_env env, napi_callback_info info) {
  Args a(env, info, "causalConv1d", 11);
  const int64_t B = a.dim(6, "B"), T = a.dim(7, "T"), Ch = a.dim(8, "Ch"), K = a.dim(9, "K");
  const int act = read_act(a, 10);
  if (a.ok() && K < 1) a.fail("kernel size K must be at least 1");
  float* out = a.f32(0, "out", mulz(B, T, Ch));
  const float* x = a.f32(1, "x", mulz(B, T, Ch));
  const float* w = a.f32(2, "w", mulz(Ch, K));
  const float* bias = a.f32(3, "bias", Ch, true);
  float* state = a.f32(4, "state", mulz(B, K > 0 ? K - 1 : 0, Ch), true);
  const int32_t* seg = a.i32(5, "seg", mulz(B, T), true);
  if (!a.ok()) return nullptr;
  causal_conv1d(out, x, w, bias, state, seg, B, T, Ch, K, act);
  return nullptr;
}

// causalConv1dBackward(dx, dw | null, dbias | null, dout, x, w, bias | null, seg | null, B, T, Ch, K, act)
napi_value CausalConv1dBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "causalConv1dBackward", 13);
  const int64_t B = a.dim(8, "B"), T = a.dim(9, "T"), Ch = a.dim(10, "Ch"), K = a.dim(11, "K");
  const int act = read_act(a, 12);
  if (a.ok() && K < 1) a.fail("kernel size K must be at least 1");
  float* dx = a.f32(0, "dx", mulz(B, T, Ch));
  float* dw = a.f32(1, "dw", mulz(Ch, K), true);
  float* dbias = a.f32(2, "dbias", Ch, true);
  const float* dout = a.f32(3, "dout", mulz(B, T, Ch));
  const float* x = a.f32(4, "x", mulz(B, T, Ch));
  const float* w = a.f32(5, "w", mulz(Ch, K));
  const float* bias = a.f32(6, "bias", Ch, true);
  const int32_t* seg = a.i32(7, "seg", mulz(B, T), true);
  if (!a.ok()) return nullptr;
  causal_conv1d_backward(dx, dw, dbias, dout, x, w, bias, seg, B, T, Ch, K, act);
  return nullptr;
}

// l2norm(out, rnorm, x, N, D, eps); l2normBackward(dx, dout, x, rnorm, N, D)
napi_value L2norm(napi_env env, napi_callback_info info) {
  Args a(env, info, "l2norm", 6);
  const int64_t N = a.dim(3, "N"), D = a.dim(4, "D");
  const double eps = a.num(5, "eps");
  float* out = a.f32(0, "out", mulz(N, D));
  float* rnorm = a.f32(1, "rnorm", N);
  const float* x = a.f32(2, "x", mulz(N, D));
  if (!a.ok()) return nullptr;
  l2norm(out, rnorm, x, N, D, eps);
  return nullptr;
}

napi_value L2normBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "l2normBackward", 6);
  const int64_t N = a.dim(4, "N"), D = a.dim(5, "D");
  float* dx = a.f32(0, "dx", mulz(N, D));
  const float* dout = a.f32(1, "dout", mulz(N, D));
  const float* x = a.f32(2, "x", mulz(N, D));
  const float* rnorm = a.f32(3, "rnorm", N);
  if (!a.ok()) return nullptr;
  l2norm_backward(dx, dout, x, rnorm, N, D);
  return nullptr;
}

/** The delta rule's dimensions from argument `i` on: B, T, Hk, Hv, Dk, Dv, then scale. */
struct DeltaArgs {
  int64_t B, T, Hk, Hv, Dk, Dv;
  float scale;
  DeltaArgs(Args& a, size_t i)
      : B(a.dim(i, "B")), T(a.dim(i + 1, "T")), Hk(a.dim(i + 2, "Hk")), Hv(a.dim(i + 3, "Hv")), Dk(a.dim(i + 4, "Dk")),
        Dv(a.dim(i + 5, "Dv")), scale(static_cast<float>(a.num(i + 6, "scale"))) {
    if (a.ok() && (Hk == 0 || Hv % Hk != 0)) a.fail("value heads Hv must be a positive multiple of query/key heads Hk");
  }
  uint64_t qk() const { return mulz(B, T, Hk, Dk); }
  uint64_t vo() const { return mulz(B, T, Hv, Dv); }
  uint64_t gates() const { return mulz(B, T, Hv); }
  uint64_t state() const { return mulz(B, Hv, Dk, Dv); }
};

// deltaRuleChunk(out, chunkStates | null, state | null, q, k, v, g, beta, seg | null, B, T, Hk, Hv, Dk, Dv, scale)
napi_value DeltaRuleChunk(napi_env env, napi_callback_info info) {
  Args a(env, info, "deltaRuleChunk", 16);
  const DeltaArgs d(a, 9);
  const int32_t* seg = a.i32(8, "seg", mulz(d.B, d.T), true);
  const int64_t NC = a.ok() ? dr::chunk_count(seg, d.B, d.T) : 0;
  float* out = a.f32(0, "out", d.vo());
  float* chunk_states = a.f32(1, "chunkStates", mulz(d.state(), NC), true);
  float* state = a.f32(2, "state", d.state(), true);
  const float* q = a.f32(3, "q", d.qk());
  const float* k = a.f32(4, "k", d.qk());
  const float* v = a.f32(5, "v", d.vo());
  const float* g = a.f32(6, "g", d.gates());
  const float* beta = a.f32(7, "beta", d.gates());
  if (!a.ok()) return nullptr;
  delta_rule_chunk(out, chunk_states, state, q, k, v, g, beta, seg, d.B, d.T, d.Hk, d.Hv, d.Dk, d.Dv, d.scale);
  return nullptr;
}

// deltaRuleChunkBackward(dq, dk, dv, dg, dbeta, dout, chunkStates, q, k, v, g, beta, seg | null, B, T, Hk, Hv, Dk,
// Dv, scale)
napi_value DeltaRuleChunkBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "deltaRuleChunkBackward", 20);
  const DeltaArgs d(a, 13);
  const int32_t* seg = a.i32(12, "seg", mulz(d.B, d.T), true);
  const int64_t NC = a.ok() ? dr::chunk_count(seg, d.B, d.T) : 0;
  float* dq = a.f32(0, "dq", d.qk());
  float* dk = a.f32(1, "dk", d.qk());
  float* dv = a.f32(2, "dv", d.vo());
  float* dg = a.f32(3, "dg", d.gates());
  float* dbeta = a.f32(4, "dbeta", d.gates());
  const float* dout = a.f32(5, "dout", d.vo());
  const float* chunk_states = a.f32(6, "chunkStates", mulz(d.state(), NC));
  const float* q = a.f32(7, "q", d.qk());
  const float* k = a.f32(8, "k", d.qk());
  const float* v = a.f32(9, "v", d.vo());
  const float* g = a.f32(10, "g", d.gates());
  const float* beta = a.f32(11, "beta", d.gates());
  if (!a.ok()) return nullptr;
  delta_rule_chunk_backward(dq, dk, dv, dg, dbeta, dout, chunk_states, q, k, v, g, beta, seg, d.B, d.T, d.Hk, d.Hv,
                            d.Dk, d.Dv, d.scale);
  return nullptr;
}

// deltaRuleRecurrent(out, state, q, k, v, g, beta, B, T, Hk, Hv, Dk, Dv, scale)
napi_value DeltaRuleRecurrent(napi_env env, napi_callback_info info) {
  Args a(env, info, "deltaRuleRecurrent", 14);
  const DeltaArgs d(a, 7);
  float* out = a.f32(0, "out", d.vo());
  float* state = a.f32(1, "state", d.state());
  const float* q = a.f32(2, "q", d.qk());
  const float* k = a.f32(3, "k", d.qk());
  const float* v = a.f32(4, "v", d.vo());
  const float* g = a.f32(5, "g", d.gates());
  const float* beta = a.f32(6, "beta", d.gates());
  if (!a.ok()) return nullptr;
  delta_rule_recurrent(out, state, q, k, v, g, beta, d.B, d.T, d.Hk, d.Hv, d.Dk, d.Dv, d.scale);
  return nullptr;
}

}  // namespace

napi_status register_hybrid(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      SH_METHOD("causalConv1d", CausalConv1d),
      SH_METHOD("causalConv1dBackward", CausalConv1dBackward),
      SH_METHOD("l2norm", L2norm),
      SH_METHOD("l2normBackward", L2normBackward),
      SH_METHOD("deltaRuleChunk", DeltaRuleChunk),
      SH_METHOD("deltaRuleChunkBackward", DeltaRuleChunkBackward),
      SH_METHOD("deltaRuleRecurrent", DeltaRuleRecurrent),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace sh
