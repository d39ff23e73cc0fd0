// Kernels of the encoder families (BERT, RoBERTa, ModernBERT): bidirectional attention over a key padding mask
// with an optional symmetric local window. Semantics: src/kernels/types.ts (encoderAttention).
#pragma once
#include <cstdint>

#include "common.h"

namespace sh {

struct EncoderAttnShape {
  i64 B, T, H, D;
  float scale;
  i64 window;  // |i - j| <= window for a visible key; < 0: no window
};

/** q, k, v, out [B, T, H, D]; lse [B, H, T]; mask [B, T] (0 = padding) or null. */
void encoder_attention(float* out, float* lse, const float* q, const float* k, const float* v, const int32_t* mask,
                       const EncoderAttnShape& s);
/** Accumulates into dq, dk, dv. */
void encoder_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                const float* v, const float* out, const float* lse, const int32_t* mask,
                                const EncoderAttnShape& s);

}  // namespace sh
