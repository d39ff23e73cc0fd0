// Which library runs a row-major float32 or bf16 GEMM, chosen once at run time from the CPU: OpenBLAS, or
// oneDNN where the addon links it and the CPU has AVX-512 (k_gemm_backend.cc says why). One entry point per
// precision so every kernel (linear layers, attention blocks, LoRA) goes through the same choice.
#pragma once
#include <signal.h>

#include <cstdint>

#include "common.h"

namespace sh {

/** C[M, N] = alpha * op(A) @ op(B) + beta * C, row-major with leading dimensions (cblas_sgemm's contract). */
void sgemm_rm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B, i64 ldb,
              float beta, float* C, i64 ldc);

/** The same with bfloat16 operands (bit patterns) and float32 sums and output: oneDNN's bf16 GEMM when linked,
 *  else both operands widened to float32 (exact) and multiplied on sgemm_rm. Inside a parallel region it runs
 *  on the calling thread. */
void gemm_bf16_rm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const uint16_t* A, i64 lda, const uint16_t* B,
                  i64 ldb, float beta, float* C, i64 ldc);

/** gemm_bf16_rm as one single-threaded call per fixed block of `block` columns of C, the blocks in parallel. For
 *  a short, wide product (few rows of C over a long K, as a LoRA factor's gradient du^T x), which oneDNN splits
 *  over few threads, and its sums with them. The blocks depend on the shape alone, so the result does not depend
 *  on the thread count. */
void gemm_bf16_rm_cols(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const uint16_t* A, i64 lda,
                       const uint16_t* B, i64 ldb, float beta, float* C, i64 ldc, i64 block);

/** The chunk of K in which a product with a long sum goes out (the *_ksplit calls below), or 0 where it goes out
 *  whole. oneDNN and OpenBLAS split K between their threads once they have more threads than blocks of C, and their
 *  sums then depend on the thread count: the LM head's backward to its input (K the vocabulary; oneDNN from 12-16
 *  threads at 342 x 576 x 49,152), a small weight's gradient over many tokens (64 x 64 x 4,096 from 8 threads,
 *  256 x 256 x 2,048 from 16, 32 x 64 x 900 in float32 from 8). A function of the shape alone. */
i64 long_k_block(i64 M, i64 N, i64 K);

/** gemm_bf16_rm over K in fixed chunks of `kblock`: each chunk's product one single-threaded call into its own
 *  buffer (a single chunk too), the chunks in parallel, then added in chunk order. The chunks depend on the shape
 *  alone, so the result does not depend on the thread count. */
void gemm_bf16_rm_ksplit(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const uint16_t* A, i64 lda,
                         const uint16_t* B, i64 ldb, float beta, float* C, i64 ldc, i64 kblock);

/** sgemm_rm over K in fixed chunks the same way. */
void sgemm_rm_ksplit(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B,
                     i64 ldb, float beta, float* C, i64 ldc, i64 kblock);

/** Holds back asynchronous signals on this thread, as each GEMM call does for itself (k_gemm_backend.cc says why),
 *  for the object's lifetime: put on the calling thread around a parallel region whose threads call the GEMMs
 *  above many times, so that their own holds make no system call. Nests. */
class GemmSignalsHeld {
 public:
  GemmSignalsHeld();
  ~GemmSignalsHeld();
  GemmSignalsHeld(const GemmSignalsHeld&) = delete;
  GemmSignalsHeld& operator=(const GemmSignalsHeld&) = delete;

 private:
  sigset_t old_;  // the mask before
};

/** "onednn" or "openblas" (or the platform BLAS): the library sgemm_rm calls. */
const char* sgemm_backend();

/** CPU features found at run time (x86 cpuid; false elsewhere). */
bool cpu_has_avx2();
bool cpu_has_avx512();
bool cpu_has_avx512_bf16();
bool cpu_has_amx_bf16();

}  // namespace sh
