// GEMM library choice. OpenBLAS 0.3.21 picks its kernels by CPU model and falls back to its AVX2 "Haswell"
// kernels on CPUs newer than it knows (AMD Zen 5 here: 56-75 GFLOP/s per core), while oneDNN's JIT targets
// the CPU's actual AVX-512 units (95-195 GFLOP/s per core on the same shapes, measured side by side). So
// float32 GEMMs go to oneDNN's dnnl_sgemm when the addon links oneDNN and the CPU has AVX-512F; AVX2-only CPUs
// and builds without oneDNN keep OpenBLAS. SHITATE_SGEMM=openblas|onednn overrides the choice.
#include "gemm_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "blas.h"

#ifdef SHITATE_DNNL
// Exported by libdnnl (row-major, like cblas_sgemm with CblasRowMajor). dnnl_gemm_bf16bf16f32 is exported next
// to it but not declared in the public headers; native/config.cjs enables this path only after a test program
// links against both.
extern "C" int dnnl_sgemm(char transa, char transb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
extern "C" int dnnl_gemm_bf16bf16f32(char transa, char transb, int64_t M, int64_t N, int64_t K, float alpha,
                                     const uint16_t* A, int64_t lda, const uint16_t* B, int64_t ldb, float beta,
                                     float* C, int64_t ldc);
#include <pthread.h>
#include <signal.h>

#include "threads.h"
#endif

namespace sh {

#if defined(__x86_64__) && defined(__GNUC__)
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool cpu_has_avx512() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }
static bool cpuid_bit(unsigned leaf, unsigned sub, int reg, int bit) {
  unsigned r[4] = {0, 0, 0, 0};
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
  return (r[reg] >> bit) & 1u;
}
// AVX512_BF16: cpuid(7, 1).eax bit 5; AMX-BF16: cpuid(7, 0).edx bit 22. GCC 12's __builtin_cpu_supports knows
// neither name, so cpuid is read directly (after checking leaf 7 exists).
static bool has_leaf7() {
  unsigned r[4] = {0, 0, 0, 0};
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0), "c"(0));
  return r[0] >= 7;
}
bool cpu_has_avx512_bf16() { return cpu_has_avx512() && has_leaf7() && cpuid_bit(7, 1, 0, 5); }
bool cpu_has_amx_bf16() { return has_leaf7() && cpuid_bit(7, 0, 3, 22); }
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512() { return false; }
bool cpu_has_avx512_bf16() { return false; }
bool cpu_has_amx_bf16() { return false; }
#endif

namespace {

bool choose_onednn() {
#ifdef SHITATE_DNNL
  const char* env = std::getenv("SHITATE_SGEMM");
  if (env != nullptr && std::strcmp(env, "openblas") == 0) return false;
  if (env != nullptr && std::strcmp(env, "onednn") == 0) return true;
  return cpu_has_avx512();
#else
  return false;
#endif
}

const bool g_onednn = choose_onednn();

#ifdef SHITATE_DNNL
// oneDNN's generated GEMM kernels (2.x, and 3.x before 3.11's fix) point rsp at a heap workspace while they
// run. A signal delivered to a thread inside one has its frame written there, over the heap, and glibc aborts
// later ("corrupted size vs. prev_size"): a profiler's SIGPROF, or Ctrl-C during training, was enough. So no
// asynchronous signal is delivered inside those kernels: the calling thread holds them back for the call (they
// arrive right after it), and OpenMP's worker threads, which run the kernels too and never handle a signal
// themselves, hold them back for good; the process's signals then go to node's own threads.
sigset_t async_signals() {
  sigset_t s;
  sigfillset(&s);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&s, sig);  // synchronous
  return s;
}

const sigset_t g_async = async_signals();
int g_held_in_workers = 0;
// How many holds are open on this thread; an OpenMP worker keeps one for good once it holds them back. A nested
// hold makes no system call: the attention kernels call the GEMM once per block, tens of thousands of times a
// training step, and the two sigprocmask calls around each had taken 2.4% of the step's CPU time.
thread_local int t_held = 0;

void hold_signals(sigset_t* old) {
  if (t_held++ > 0) return;
  pthread_sigmask(SIG_BLOCK, &g_async, old);
  // workers started since the last look (a larger thread count): hold them back there too; a worker the
  // region below starts inherits this thread's mask, which holds them already
  if (g_held_in_workers != threads() && !omp_in_parallel()) {
#pragma omp parallel
    {
      if (omp_get_thread_num() != 0 && t_held == 0) {
        pthread_sigmask(SIG_BLOCK, &g_async, nullptr);
        t_held = 1;
      }
    }
    g_held_in_workers = threads();
  }
}

void release_signals(const sigset_t* old) {
  if (--t_held > 0) return;
  pthread_sigmask(SIG_SETMASK, old, nullptr);
}

#endif

}  // namespace

const char* sgemm_backend() {
#if defined(SHITATE_ACCELERATE)
  return "accelerate";
#else
  return g_onednn ? "onednn" : "openblas";
#endif
}

void sgemm_rm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B, i64 ldb,
              float beta, float* C, i64 ldc) {
  if (M <= 0 || N <= 0) return;
#ifdef SHITATE_DNNL
  if (g_onednn) {
    GemmSignalsHeld held;
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

void gemm_bf16_rm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const uint16_t* A, i64 lda, const uint16_t* B,
                  i64 ldb, float beta, float* C, i64 ldc) {
  if (M <= 0 || N <= 0) return;
#ifdef SHITATE_DNNL
  GemmSignalsHeld held;
  dnnl_gemm_bf16bf16f32(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
  // widen both operands into per-thread scratch (exact), then one float32 GEMM
  static thread_local std::vector<float> wa, wb;
  const i64 ra = ta ? K : M, rb = tb ? N : K;  // stored rows
  const i64 ca = ta ? M : K, cb = tb ? K : N;  // stored columns used
  wa.resize(static_cast<size_t>(ra * ca));
  wb.resize(static_cast<size_t>(rb * cb));
  for (i64 r = 0; r < ra; ++r)
    for (i64 c = 0; c < ca; ++c) {
      const uint32_t u = static_cast<uint32_t>(A[r * lda + c]) << 16;
      std::memcpy(&wa[static_cast<size_t>(r * ca + c)], &u, 4);
    }
  for (i64 r = 0; r < rb; ++r)
    for (i64 c = 0; c < cb; ++c) {
      const uint32_t u = static_cast<uint32_t>(B[r * ldb + c]) << 16;
      std::memcpy(&wb[static_cast<size_t>(r * cb + c)], &u, 4);
    }
  sgemm_rm(ta, tb, M, N, K, alpha, wa.data(), ca, wb.data(), cb, beta, C, ldc);
#endif
}

void gemm_bf16_rm_cols(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const uint16_t* A, i64 lda,
                       const uint16_t* B, i64 ldb, float beta, float* C, i64 ldc, i64 block) {
  if (M <= 0 || N <= 0) return;
  const i64 blocks = (N + block - 1) / block;
  GemmSignalsHeld held;     // oneDNN: one hold for every block's call (the workers hold them back for good)
  BlasSingleThread single;  // without oneDNN each block is widened onto sgemm: OpenBLAS's own split of so short a
                            // product changes its sums with the thread count
#pragma omp parallel for num_threads(static_cast<int>(std::min<i64>(threads(), blocks))) schedule(dynamic, 1)
  for (i64 j = 0; j < blocks; ++j) {
    const i64 n0 = j * block, nb = std::min(block, N - n0);
    gemm_bf16_rm(ta, tb, M, nb, K, alpha, A, lda, tb ? B + n0 * ldb : B + n0, ldb, beta, C + n0, ldc);
  }
}

i64 long_k_block(i64 M, i64 N, i64 K) {
  // the vocabulary-long products (the LM head's backward to its input): chunks of 2,048
  if (K >= 16384 && K >= 8 * (M + N)) return 2048;
  // K at least 256 and the sides of C, C at most 2^20 outputs (larger ones have blocks enough for any thread count):
  // chunks of 256 or more, at most 2^22 floats of partial products (float32 sgemm split K from 8 threads at
  // 32 x 64 x 900 and 128 x 128 x 1,000; no product of K below 512 was seen split)
  if (K < 256 || K < M + N || M * N > (i64{1} << 20)) return 0;
  i64 kb = 256;
  while ((K + kb - 1) / kb * M * N > (i64{1} << 22)) kb *= 2;
  return kb;
}

namespace {

/** C = beta C + sum over fixed chunks of K of the chunks' products, each computed by chunk(k0, kc, m0, mr, P) for
 *  rows [m0, m0 + mr) of C into P (row stride N) in blocks of rows, every (chunk, block) a single-threaded call (one
 *  chunk too: the library's own threads could split its K) and all of them in parallel, then added in chunk order. */
template <typename Chunk>
void ksplit(i64 M, i64 N, i64 K, i64 kblock, float beta, float* C, i64 ldc, Chunk chunk) {
  const i64 chunks = (K + kblock - 1) / kblock;
  // fewer chunks than two a thread: rows of C in blocks of at least 64 too, for two calls a thread. A row's sums are
  // the same whichever block computes it (the chunks of K alone set their order), so the blocks may follow the
  // thread count; each block's call packs its own copy of the chunk of B, so there are no more than needed.
  const i64 calls = 2 * threads();
  const i64 mblocks = std::max<i64>(1, std::min((calls + chunks - 1) / chunks, (M + 63) / 64));
  const i64 mb = (M + mblocks - 1) / mblocks;
  static thread_local std::vector<float> partial;  // the chunks' products, [chunks, M, N]
  partial.resize(static_cast<size_t>(chunks * M * N));
  float* P = partial.data();
  {
    GemmSignalsHeld held;     // one hold for every chunk's call
    BlasSingleThread single;  // OpenBLAS (or bf16 widened onto it without oneDNN): a single-threaded call a task
    const i64 tasks = chunks * mblocks;
#pragma omp parallel for num_threads(static_cast<int>(std::min<i64>(threads(), tasks))) schedule(dynamic, 1)
    for (i64 t = 0; t < tasks; ++t) {
      const i64 j = t / mblocks, m0 = t % mblocks * mb, k0 = j * kblock;
      if (m0 < M) chunk(k0, std::min(kblock, K - k0), m0, std::min(mb, M - m0), P + (j * M + m0) * N);
    }
  }
  // C = beta C + the chunks' products added in chunk order (into chunk 0's row, a row at a time: contiguous, and
  // each element's sum the same on any thread count)
  SH_PARALLEL_FOR(M * N * chunks)
  for (i64 m = 0; m < M; ++m) {
    float* s = P + m * N;
    for (i64 j = 1; j < chunks; ++j) {
      const float* pj = P + (j * M + m) * N;
      for (i64 n = 0; n < N; ++n) s[n] += pj[n];
    }
    float* cr = C + m * ldc;
    for (i64 n = 0; n < N; ++n) cr[n] = beta == 0.0f ? s[n] : beta * cr[n] + s[n];
  }
}

}  // namespace

void gemm_bf16_rm_ksplit(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const uint16_t* A, i64 lda,
                         const uint16_t* B, i64 ldb, float beta, float* C, i64 ldc, i64 kblock) {
  if (M <= 0 || N <= 0) return;
  ksplit(M, N, K, kblock, beta, C, ldc, [&](i64 k0, i64 kc, i64 m0, i64 mr, float* P) {
    gemm_bf16_rm(ta, tb, mr, N, kc, alpha, ta ? A + k0 * lda + m0 : A + m0 * lda + k0, lda, tb ? B + k0 : B + k0 * ldb,
                 ldb, 0.0f, P, N);
  });
}

void sgemm_rm_ksplit(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B,
                     i64 ldb, float beta, float* C, i64 ldc, i64 kblock) {
  if (M <= 0 || N <= 0) return;
  ksplit(M, N, K, kblock, beta, C, ldc, [&](i64 k0, i64 kc, i64 m0, i64 mr, float* P) {
    sgemm_rm(ta, tb, mr, N, kc, alpha, ta ? A + k0 * lda + m0 : A + m0 * lda + k0, lda, tb ? B + k0 : B + k0 * ldb, ldb,
             0.0f, P, N);
  });
}

#ifdef SHITATE_DNNL
GemmSignalsHeld::GemmSignalsHeld() { hold_signals(&old_); }
GemmSignalsHeld::~GemmSignalsHeld() { release_signals(&old_); }
#else
GemmSignalsHeld::GemmSignalsHeld() : old_() {}
GemmSignalsHeld::~GemmSignalsHeld() = default;
#endif

}  // namespace sh
