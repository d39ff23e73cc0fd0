// Pure C++ kernels (no Node-API): pointers and sizes in, results written in place. Layout and semantics follow
// src/kernels/types.ts exactly; backward kernels accumulate (+=) into d-prefixed buffers.
#pragma once
#include <cstdint>

#include "common.h"

namespace sh {

// ---- GEMM: c[b] = op(a[b]) @ op(b[b]) + beta * c[b]
void gemm(float* c, const float* a, const float* b, i64 batch, i64 M, i64 N, i64 K, bool transA, bool transB,
          float beta, i64 strideA, i64 strideB);
/** c = op(a) @ op(b) + beta * c, b in bf16, a rounded to bf16 first, float32 sums (k_gemm_bf16.cc). */
void gemm_bf16(float* c, const float* a, const uint16_t* b, i64 M, i64 N, i64 K, bool transA, bool transB, float beta);
/** gemm_bf16 for decode rows (!transA, transB, M <= 8): reads each weight row once for all rows, returning true;
 *  false without touching c for any other shape (k_gemm_bf16_rows.cc). */
bool gemm_bf16_rows(float* c, const float* a, const uint16_t* b, i64 M, i64 N, i64 K, bool transA, bool transB,
                    float beta);
/** c[M, N] = a[M, K] @ (scale[n] * q[N, K])^T (+ c when beta is 1): weights in int8 with one float32 scale per
 *  output row (k_gemm_i8.cc). Decode rows (M <= 8) read each int8 weight row once for all rows; more rows
 *  widen blocks of weights to float32 and run sgemm. */
void gemm_i8(float* c, const float* a, const int8_t* q, const float* scale, i64 M, i64 N, i64 K, float beta);
/** Symmetric per-row int8 quantization: scale[r] = max |w[r, :]| / 127, q = w / scale rounded half away from zero. */
void quantize_rows_i8(int8_t* q, float* scale, const float* w, i64 rows, i64 cols);
/** Whether gemm_bf16 runs on a native bf16 GEMM (oneDNN) rather than emulated on sgemm. */
bool gemm_bf16_accelerated();
/** c[M, N] = a[M, K] @ w[N, K]^T, or c += that when accumulate: each element summed in one fixed order whatever M
 *  and the thread count, so a row's result does not depend on the rows beside it (batched decode; k_gemm_rows.cc). */
void gemm_rows(float* c, const float* a, const float* w, i64 M, i64 N, i64 K, float beta);
/** One output of gemm_rows_many: c[M, N] against the weight rows w[N, K]. */
struct RowsOut {
  float* c;
  const float* w;
  i64 N;
};
/** gemm_rows for several weight matrices that read the same rows a[M, K] (the q, k and v projections; gate and up):
 *  each outs[s].c gets what gemm_rows(outs[s].c, a, outs[s].w, M, outs[s].N, K) would write, bit for bit, in one
 *  call (the rows prepared once, all weight rows split over the threads together). */
void gemm_rows_many(const RowsOut* outs, i64 S, const float* a, i64 M, i64 K, float beta);
/** The LoRA deltas of a batched step: for each group g, rows [starts[g], ends[g]) of y [., O] get
 *  (scales[g] * (x A_g^T)) B_g^T added (A_g [ranks[g], I], B_g [O, ranks[g]]), as gemm_rows, scale and an
 *  accumulating gemm_rows compute it. */
void lora_rows(float* y, const float* x, const float* const* as, const float* const* bs, const float* scales,
               const int32_t* starts, const int32_t* ends, const int32_t* ranks, i64 G, i64 I, i64 O);
/** Batched decode against int8 weights with one float32 scale per weight row: each element summed in one fixed order
 *  that does not depend on M nor on the thread count, then times its row's scale (k_gemm_i8.cc). */
void gemm_rows_i8(float* c, const float* a, const int8_t* q, const float* scale, i64 M, i64 N, i64 K, float beta);
/** One output of gemm_rows_i8_many: c[M, N] against the int8 weight rows q[N, K] and their scales. */
struct RowsOutI8 {
  float* c;
  const int8_t* q;
  const float* scale;
  i64 N;
};
/** gemm_rows_i8 for several weight matrices that read the same rows, bit for bit as separate calls. */
void gemm_rows_i8_many(const RowsOutI8* outs, i64 S, const float* a, i64 M, i64 K, float beta);
/** How the int8 decode rows run here: "avx512" (16 weights widened per instruction) or "avx2". */
const char* i8_rows_path();
/** How batched float32 rows run: "avx512" (two 8-lane sums per 16-lane instruction) or "avx2". */
const char* f32_rows_path();
/** "avx512" when the per-query attention (decode) runs on 16-lane registers, else "avx2" (the same bits). */
const char* attn_rows_path();
/** Batched decode against bf16 weights: c[M, N] (+)= r(a)[M, K] @ b16[N, K]^T, each element summed in the bf16
 *  decode-row order for any M and thread count (k_gemm_bf16_rows.cc). */
void gemm_rows_bf16(float* c, const float* a, const uint16_t* b, i64 M, i64 N, i64 K, float beta);
/** One output of gemm_rows_bf16_many: c[M, N] against the bf16 weight rows w[N, K]. */
struct RowsOut16 {
  float* c;
  const uint16_t* w;
  i64 N;
};
/** gemm_rows_bf16 for several weight matrices that read the same rows (a rounded once), bit for bit as separate calls. */
void gemm_rows_bf16_many(const RowsOut16* outs, i64 S, const float* a, i64 M, i64 K, float beta);
/** How the bf16 decode rows run here: "avx512-bf16" (dot-pair instructions) or "widen" (AVX2, weights widened). */
const char* bf16_rows_path();
/** One plain cblas_sgemm (beta 0), for benchmarks. */
void raw_sgemm(float* c, const float* a, const float* b, i64 M, i64 N, i64 K, bool transA, bool transB);

// ---- elementwise
void add(float* out, const float* a, const float* b, i64 n, i64 cols);
void mul(float* out, const float* a, const float* b, i64 n, i64 cols);
void scale(float* out, const float* a, float s, i64 n);
/** as[t][i] *= s for each of S arrays (array t of sizes[t] elements), the arrays shared over the threads. */
void scale_many(float* const* as, const i64* sizes, i64 S, float s);
void axpy_kernel(float* dst, const float* src, float alpha, i64 n);
void sum_rows(float* out, const float* a, i64 rows, i64 cols);
double sum_squares(const float* a, i64 n);
/** sum_squares of each of S tensors, added in tensor order (the tensors shared over the threads). */
double sum_squares_many(const float* const* as, const i64* sizes, i64 S);
void copy_floats(float* dst, const float* src, i64 n);

// ---- activations
void silu(float* out, const float* x, i64 n);
void silu_backward(float* dx, const float* dout, const float* x, i64 n);
void swiglu(float* out, const float* gate, const float* up, i64 n);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n);
// The batched decode step's per-token ops, split by tokens over the row pool (k_decode_rows.cc): each token as the
// single-token call computes it. out/x may alias in rope_rows (in place), as in rope.
void swiglu_rows(float* out, const float* gate, const float* up, i64 M, i64 F);
void add_rmsnorm_rows(float* sum, float* out, float* rstd, const float* x, const float* y, float mult, const float* w,
                      i64 N, i64 C, double eps);
void rope_rows(float* out, const float* x, const float* cos, const float* sin, const int32_t* pos, i64 N, i64 H, i64 D);
void gelu(float* out, const float* x, i64 n, int approximate);
void gelu_backward(float* dx, const float* dout, const float* x, i64 n, int approximate);
/** out = gelu(gate) * up, Gemma's GeGLU (k_geglu.cc) */
void geglu(float* out, const float* gate, const float* up, i64 n, int approximate);
void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n,
                    int approximate);
/** out = cap * tanh(x / cap) and its backward from the output y (k_softcap.cc) */
void softcap(float* out, const float* x, i64 n, float cap);
void softcap_backward(float* dx, const float* dout, const float* y, i64 n, float cap);
void softmax(float* out, const float* x, i64 N, i64 C);
void softmax_backward(float* dx, const float* dout, const float* y, i64 N, i64 C);

// ---- normalisation
void rmsnorm(float* out, float* rstd, const float* x, const float* w, i64 N, i64 C, double eps);
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd,
                      i64 N, i64 C);
void layernorm(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, i64 N, i64 C,
               double eps);
void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                        const float* mean, const float* rstd, i64 N, i64 C);

// ---- embeddings and positions
void embedding(float* out, const float* table, const int32_t* ids, i64 N, i64 C);
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, i64 N, i64 C);
void rope(float* out, const float* x, const float* cos, const float* sin, const int32_t* pos, i64 N, i64 H, i64 D);
/** rope of one token at position p (x, out [H, D]) on the calling thread: rope's body, which rope_rows runs per token
 *  without entering an OpenMP region for each (64 tokens: 30 -> ~5 us) */
void rope_token(float* out, const float* x, const float* cos, const float* sin, i64 p, i64 H, i64 D);
/** RoPE of bf16 rows into bf16: each token widened, rotated by rope's body in float32 and rounded once (what rope on
 *  the widened input then f32ToBf16 give, without their two full-size float32 passes). out16 may alias x16. */
void rope_bf16(uint16_t* out16, const uint16_t* x16, const float* cos, const float* sin, const int32_t* pos, i64 N, i64 H,
               i64 D);
/** dx (+)= the rotation's transpose of dout: added when accumulate, else written */
void rope_backward(float* dx, const float* dout, const float* cos, const float* sin, const int32_t* pos, i64 N,
                   i64 H, i64 D, bool accumulate);
/** rope over the first R of D dims (cos/sin [P, R/2]), the rest copied / passed back (k_rope_partial.cc) */
void rope_partial(float* out, const float* x, const float* cos, const float* sin, const int32_t* pos, i64 N, i64 H,
                  i64 D, i64 R);
void rope_partial_backward(float* dx, const float* dout, const float* cos, const float* sin, const int32_t* pos,
                           i64 N, i64 H, i64 D, i64 R);

// ---- hybrid families: causal depthwise conv1d, L2 norm, gated delta rule (k_conv1d.cc, k_delta_rule*.cc)
/** act 0 identity, 1 SiLU; state [B, K-1, Ch] history (ignored with seg), left holding the last K-1 inputs */
void causal_conv1d(float* out, const float* x, const float* w, const float* bias, float* state, const int32_t* seg,
                   i64 B, i64 T, i64 Ch, i64 K, int act);
void causal_conv1d_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w,
                            const float* bias, const int32_t* seg, i64 B, i64 T, i64 Ch, i64 K, int act);
void l2norm(float* out, float* rnorm, const float* x, i64 N, i64 D, double eps);
void l2norm_backward(float* dx, const float* dout, const float* x, const float* rnorm, i64 N, i64 D);
void delta_rule_chunk(float* out, float* chunk_states, float* state, const float* q, const float* k, const float* v,
                      const float* g, const float* beta, const int32_t* seg, i64 B, i64 T, i64 Hk, i64 Hv, i64 Dk,
                      i64 Dv, float scale);
void delta_rule_chunk_backward(float* dq, float* dk, float* dv, float* dg, float* dbeta, const float* dout,
                               const float* chunk_states, const float* q, const float* k, const float* v,
                               const float* g, const float* beta, const int32_t* seg, i64 B, i64 T, i64 Hk, i64 Hv,
                               i64 Dk, i64 Dv, float scale);
void delta_rule_recurrent(float* out, float* state, const float* q, const float* k, const float* v, const float* g,
                          const float* beta, i64 B, i64 T, i64 Hk, i64 Hv, i64 Dk, i64 Dv, float scale);
namespace dr {
i64 chunk_count(const int32_t* seg, i64 B, i64 T);
}

// ---- attention
struct AttnShape {
  i64 B, Tq, Tk, H, Hkv, D;
  float scale;
  int causal;
  i64 window;
  float softcap;  // > 0: scaled scores x become softcap * tanh(x / softcap) before masks and ALiBi (Gemma 2)
};
void attention(float* out, float* lse, const float* q, const float* k, const float* v, const float* alibi,
               const int32_t* seg, const AttnShape& s);
/** attention() (forward only) over k and v held as bf16 bits (a KV cache held in bf16): the bits attention() gives over
 *  k and v widened to float32. */
void attention_bf16_kv(float* out, float* lse, const float* q, const uint16_t* k, const uint16_t* v, const float* alibi,
                       const int32_t* seg, const AttnShape& s);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const float* alibi, const int32_t* seg,
                        const AttnShape& s);
/** The queries of each batch row against that row's own cache, per query: row b has tq[b] queries (packed in q and
 *  out, [sum tq, H, D]) at positions lens[b] - tq[b] ... lens[b] - 1, and ks[b], vs[b] hold at least lens[b]
 *  positions of [Hkv, D] (causal, shape.window, shape.softcap; no ALiBi or segments). Each (query, head) is computed
 *  as attention()'s per-query path computes it for that row alone, so the result does not depend on the rows beside
 *  it or on the thread count. */
void attention_decode_rows(float* out, const float* q, const float* const* ks, const float* const* vs,
                           const i64* lens, const i64* tq, i64 B, const AttnShape& shape);
/** attention_decode_rows over caches held in bf16: the bits it gives over the caches widened to float32. */
void attention_decode_rows_bf16(float* out, const float* q, const uint16_t* const* ks, const uint16_t* const* vs,
                                const i64* lens, const i64* tq, i64 B, const AttnShape& shape);

// ---- sampling (k_select.cc)
/** The k-th largest of x[0, n) (duplicates counted; the sampler's heap) into *kth, and the ids i with !(x[i] < kth)
 *  in id order into ids (at most cap of them); returns how many there are. 1 <= k <= n. */
i64 top_k_ids(int32_t* ids, i64 cap, float* kth, const float* x, i64 n, i64 k);
/** The first index of x's largest value, as `if (x[i] > x[best]) best = i` finds it (0 when x[0] is NaN). */
i64 argmax_f32(const float* x, i64 n);

// ---- loss, regularisation, optimiser
void cross_entropy(float* losses, float* dlogits, const float* logits, const int32_t* targets, i64 N, i64 V,
                   float gradScale);
/** cross_entropy with the gradient rounded to bf16 into g16 (the LM head's backward GEMM operand, as autocast's bf16
 *  logits get a bf16 gradient), in the same pass: no float gradient to convert afterwards. logits is overwritten
 *  (it holds exp(x - max) while a row is summed). */
void cross_entropy_bf16(float* losses, uint16_t* g16, float* logits, const int32_t* targets, i64 N, i64 V,
                        float gradScale);
/** cross_entropy of cap * tanh(logits / cap), dlogits with respect to the raw logits (k_softcap.cc) */
void softcap_cross_entropy(float* losses, float* dlogits, const float* logits, const int32_t* targets, i64 N, i64 V,
                           float gradScale, float cap);
void dropout(float* out, const float* x, i64 n, double p, uint32_t seed);
void dropout_backward(float* dx, const float* dout, i64 n, double p, uint32_t seed);
void adamw(float* param, const float* grad, float* m, float* v, i64 n, double lr, double beta1, double beta2,
           double eps, double weightDecay, double step);
/** adamw on S tensors in one parallel region (tensor s decays by weightDecay when decays[s] != 0, else not): the
 *  same bits as S adamw calls, every tensor's elements split over the threads together. */
void adamw_many(float* const* params, const float* const* grads, float* const* ms, float* const* vs, const i64* sizes,
                const int32_t* decays, i64 S, double lr, double beta1, double beta2, double eps, double weightDecay,
                double step);

// ---- dtype conversion
void bf16_to_f32(float* out, const uint16_t* src, i64 n);
void f16_to_f32(float* out, const uint16_t* src, i64 n);
void f32_to_bf16(uint16_t* out, const float* src, i64 n);
void f32_to_f16(uint16_t* out, const float* src, i64 n);

}  // namespace sh
