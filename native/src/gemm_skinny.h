// Skinny GEMM (one of M, N, K is small, e.g. the LoRA rank R, the others hundreds to thousands): own loops
// instead of cblas_sgemm, whose packing is sized for large products (k_gemm_skinny.cc).
#pragma once

#include "common.h"

namespace sh {

/** c[M, N] = op(a) @ op(b) + beta * c (row-major, op as in gemm) when the shape is skinny enough to be
 *  handled here, returning true; returns false without touching c otherwise (the caller uses sgemm). */
bool gemm_skinny(float* c, const float* a, const float* b, i64 M, i64 N, i64 K, bool transA, bool transB,
                 float beta);

}  // namespace sh
