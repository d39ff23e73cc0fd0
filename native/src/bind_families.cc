// Node-API bindings for the kernels of the Phi-3 / Falcon / BLOOM families: partial rotary embedding
// (k_rope_partial.cc). Argument order and semantics: src/kernels/types.ts. Positions are range-checked here.
#include <cstdint>
#include <string>

#include "args.h"
#include "bind.h"
#include "kernels.h"

namespace sh {
namespace {

// ropePartial(out, x, cos, sin, pos, N, H, D, R); ropePartialBackward(dx, dout, cos, sin, pos, N, H, D, R)
napi_value RopePartialImpl(napi_env env, napi_callback_info info, bool backward) {
  Args a(env, info, backward ? "ropePartialBackward" : "ropePartial", 9);
  const int64_t N = a.dim(5, "N"), H = a.dim(6, "H"), D = a.dim(7, "D"), R = a.dim(8, "R");
  if (a.ok() && (R % 2 != 0 || R > D)) a.fail("rotary dims R must be even and at most D");
  const int64_t half = R / 2;
  float* out = a.f32(0, backward ? "dx" : "out", mulz(N, H, D));
  const float* x = a.f32(1, backward ? "dout" : "x", mulz(N, H, D));
  const float* cos = a.f32(2, "cos", half);
  const uint64_t cosLen = a.last_length();
  const float* sin = a.f32(3, "sin", half);
  const uint64_t sinLen = a.last_length();
  const int32_t* pos = a.i32(4, "pos", N);
  const int64_t rows = half > 0 ? static_cast<int64_t>((cosLen < sinLen ? cosLen : sinLen) / half) : INT32_MAX;
  for (int64_t n = 0; a.ok() && n < N; ++n) {
    if (pos[n] >= 0 && pos[n] < rows) continue;
    a.fail("pos[" + std::to_string(n) + "] = " + std::to_string(pos[n]) + " is outside [0, " + std::to_string(rows) + ")");
  }
  if (!a.ok()) return nullptr;
  if (backward) rope_partial_backward(out, x, cos, sin, pos, N, H, D, R);
  else rope_partial(out, x, cos, sin, pos, N, H, D, R);
  return nullptr;
}
napi_value RopePartial(napi_env env, napi_callback_info info) { return RopePartialImpl(env, info, false); }
napi_value RopePartialBackward(napi_env env, napi_callback_info info) { return RopePartialImpl(env, info, true); }

}  // namespace

napi_status register_families(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      SH_METHOD("ropePartial", RopePartial),
      SH_METHOD("ropePartialBackward", RopePartialBackward),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace sh
