// Kernels of bf16 mixed-precision training (what PyTorch's CPU autocast computes in bfloat16, with float32
// master weights): linear layers whose outputs are bf16, a LoRA branch folded into the base GEMM, SwiGLU on
// bf16 operands, norms that write the next GEMM's bf16 operand, the residual add fused into the norm, and
// attention on bf16 GEMMs. Bit patterns travel as uint16_t; r(x) below is round-to-nearest-even to bf16.
// Legend: N rows, O out features, I in features, R LoRA rank, C hidden.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#endif

#include "kernels.h"

namespace sh {

/** Round to nearest even; NaN stays NaN. Branch-free (a select), so loops over it vectorise. */
inline uint16_t bf16_round(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = (u >> 16) | 0x40u;
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

inline float bf16_widen(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/** The float nearest to f with a bf16 value (f rounded through bf16). */
inline float bf16_snap(float f) { return bf16_widen(bf16_round(f)); }

/** How the bf16 training epilogues, SwiGLU, the bf16 attention's softmax and the cross-entropy run: "avx512" (16
 *  lanes) or "avx2" (8 lanes; also where SHITATE_LOWP_512=0). The same bits either way. */
const char* lowp_elementwise_path();

/** Whether the 16-lane paths run (the CPU has AVX-512F/BW/VL and SHITATE_LOWP_512 is not 0). */
bool lowp_512();

// The 16-lane builds (GCC on x86-64): a function under SH_512 may use AVX-512 vectors; under SH_512_WIDE the
// compiler also vectorises plain loops 16 lanes wide. Either runs only where lowp_512().
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SH_LOWP_512 1
#define SH_512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl")))
#define SH_512_WIDE __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,prefer-vector-width=512")))
#endif

#ifdef SH_LOWP_512
/** Sixteen bf16 values as float32 (exact: each value's bits moved into the high half). Needs AVX-512F alone, so any
 *  16-lane function can inline it. */
__attribute__((target("avx2,fma,avx512f"), always_inline)) inline __m512 widen_bf16x16(const uint16_t* p) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
#endif

/** c = alpha-free op(a16) @ op(b16) + beta * c with explicit leading dimensions, float32 sums (threaded). */
void gemm_bf16_ld(float* c, const uint16_t* a16, const uint16_t* b16, i64 M, i64 N, i64 K, bool ta, bool tb,
                  float beta, i64 lda, i64 ldb, i64 ldc);

/** Linear output with an optional LoRA branch, from yext [N, O + R] = x16 @ [W; A]^T:
 *  u16[n, r] = r(yext[n, O + r]);  y16[n, o] = r(r(yext[n, o] + bias[o]) + r(r(sum_r u16[n, r] r(B[o, r])) * s)).
 *  bias may be null; R = 0 (B, u16 null) is a plain linear layer. */
void bf16_linear_out(uint16_t* y16, uint16_t* u16, const float* yext, const float* bias, const float* B, float s,
                     i64 N, i64 O, i64 R);

/** Backward operand of the same layer: g16 [N, O + R] with g16[n, o] = r(dy[n, o]) and, with dv = r(r(dy) * s),
 *  g16[n, O + r] = r(sum_o dv[n, o] r(B[o, r])) (the LoRA input gradient du); dB[o, r] += r(sum_n dv[n, o] u16[n, r])
 *  when dB is not null. Then dx += g16 @ [W; A] is one GEMM. */
void bf16_linear_grad(uint16_t* g16, float* dB, const float* dy, const uint16_t* u16, const float* B, float s, i64 N,
                      i64 O, i64 R);

/** dst[i] += r(src[i]) (a bf16 gradient added to a float32 leaf's) */
void bf16_accumulate(float* dst, const float* src, i64 n);

/** m16 = r(r(silu(g)) * u) over n elements */
void swiglu_bf16(uint16_t* m16, const uint16_t* g16, const uint16_t* u16, i64 n);
/** dg (+)= dm * u * silu'(g); du (+)= dm * r(silu(g)): added when accumulate, else written */
void swiglu_bf16_backward(float* dg, float* du, const float* dm, const uint16_t* g16, const uint16_t* u16, i64 n,
                          bool accumulate);

/** rmsnorm with its output written as bf16 (the next GEMM's operand): out16 = r(rmsnorm(x)) */
void rmsnorm_bf16(uint16_t* out16, float* rstd, const float* x, const float* w, i64 N, i64 C, double eps);

/** sum = x + mult * y (y float32, or bf16 bits in y16 when y is null; mult = 1 adds y as it is), then the
 *  rmsnorm of sum into out (float32) or out16 (bf16) — whichever is not null. */
void add_rmsnorm(float* sum, float* out, uint16_t* out16, float* rstd, const float* x, const float* y,
                 const uint16_t* y16, float mult, const float* w, i64 N, i64 C, double eps);

/** Attention as PyTorch's bf16 scaled_dot_product_attention computes it on CPU: q, k, v rounded to bf16, scores
 *  and softmax in float32, the unnormalised probabilities rounded to bf16 for the value GEMM, the output rounded
 *  to bf16 (out16, and also widened into out when out is not null). lse as attention(). */
void attention_bf16(float* out, uint16_t* out16, float* lse, const float* q, const float* k, const float* v,
                    const float* alibi, const int32_t* seg, const AttnShape& s);
/** dq, dk, dv (float32) from dout (rounded to bf16 as autocast's gradient of a bf16 output): added to them when
 *  accumulate, else written (no zero-fill needed before the call). */
void attention_bf16_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                             const float* v, const float* out, const float* lse, const float* alibi,
                             const int32_t* seg, const AttnShape& s, bool accumulate);

/** attention_bf16 and its backward with q, k, v (and out) given as bf16 bits: the same results as the float entry
 *  points on their widened values, without the widening and rounding passes. */
void attention_bf16_bits(uint16_t* out16, float* lse, const uint16_t* q16, const uint16_t* k16, const uint16_t* v16,
                         const float* alibi, const int32_t* seg, const AttnShape& s);
void attention_bf16_bits_backward(float* dq, float* dk, float* dv, const float* dout, const uint16_t* q16,
                                  const uint16_t* k16, const uint16_t* v16, const uint16_t* out16, const float* lse,
                                  const float* alibi, const int32_t* seg, const AttnShape& s, bool accumulate);

}  // namespace sh
