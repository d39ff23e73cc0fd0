// Node-API bindings for the encoder kernels (k_encoder_attention.cc). Argument order and semantics:
// src/kernels/types.ts (encoderAttention, encoderAttentionBackward).
#include <cstdint>

#include "args.h"
#include "bind.h"
#include "encoder.h"

namespace sh {
namespace {

/** B, T, H, D, scale, window from argument `first` on; the window is an integer, < 0 meaning none. */
EncoderAttnShape read_shape(Args& a, size_t first) {
  EncoderAttnShape s{};
  s.B = a.dim(first, "B");
  s.T = a.dim(first + 1, "T", INT32_MAX);
  s.H = a.dim(first + 2, "H");
  s.D = a.dim(first + 3, "D");
  s.scale = static_cast<float>(a.num(first + 4, "scale"));
  s.window = a.integer(first + 5, "window");
  if (a.ok() && s.window < 0) s.window = -1;
  return s;
}

// encoderAttention(out, lse, q, k, v, keyMask | null, B, T, H, D, scale, window)
napi_value EncoderAttention(napi_env env, napi_callback_info info) {
  Args a(env, info, "encoderAttention", 12);
  const EncoderAttnShape s = read_shape(a, 6);
  const uint64_t n = mulz(s.B, s.T, s.H, s.D);
  float* out = a.f32(0, "out", n);
  float* lse = a.f32(1, "lse", mulz(s.B, s.H, s.T));
  const float* q = a.f32(2, "q", n);
  const float* k = a.f32(3, "k", n);
  const float* v = a.f32(4, "v", n);
  const int32_t* mask = a.i32(5, "keyMask", mulz(s.B, s.T), true);
  if (!a.ok()) return nullptr;
  encoder_attention(out, lse, q, k, v, mask, s);
  return nullptr;
}

// encoderAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, keyMask | null, B, T, H, D, scale, window)
napi_value EncoderAttentionBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "encoderAttentionBackward", 16);
  const EncoderAttnShape s = read_shape(a, 10);
  const uint64_t n = mulz(s.B, s.T, s.H, s.D);
  float* dq = a.f32(0, "dq", n);
  float* dk = a.f32(1, "dk", n);
  float* dv = a.f32(2, "dv", n);
  const float* dout = a.f32(3, "dout", n);
  const float* q = a.f32(4, "q", n);
  const float* k = a.f32(5, "k", n);
  const float* v = a.f32(6, "v", n);
  const float* out = a.f32(7, "out", n);
  const float* lse = a.f32(8, "lse", mulz(s.B, s.H, s.T));
  const int32_t* mask = a.i32(9, "keyMask", mulz(s.B, s.T), true);
  if (!a.ok()) return nullptr;
  encoder_attention_backward(dq, dk, dv, dout, q, k, v, out, lse, mask, s);
  return nullptr;
}

}  // namespace

napi_status register_encoder(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      SH_METHOD("encoderAttention", EncoderAttention),
      SH_METHOD("encoderAttentionBackward", EncoderAttentionBackward),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace sh
