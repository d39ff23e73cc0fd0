// See row_pool.h.
#include "row_pool.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SH_PAUSE() _mm_pause()
#else
#define SH_PAUSE() std::this_thread::yield()
#endif

#include "common.h"
#include "threads.h"

namespace sh {
namespace {

/** How long a helper keeps spinning for the next job before it sleeps (a decode step's GEMMs come a few us apart;
 *  between steps and requests the helpers sleep). SHITATE_ROW_SPIN_US overrides it (0: sleep at once). */
int64_t spin_micros() {
  static const int64_t us = [] {
    const char* env = std::getenv("SHITATE_ROW_SPIN_US");
    if (env == nullptr || *env == '\0') return int64_t(200);
    const long v = std::strtol(env, nullptr, 10);
    return int64_t(v < 0 ? 0 : v);
  }();
  return us;
}

/** Pause instructions the caller spends waiting for the helpers' last chunks before it yields its core. */
constexpr int kWaitSpins = 2000;

/** A job's function and split, read by a helper only once it has claimed one of the job's chunks. */
struct Job {
  void (*fn)(void*, int64_t, int64_t) = nullptr;
  void* ctx = nullptr;
  int64_t n = 0, chunk = 1;
};

class Pool {
 public:
  void run(int64_t n, int64_t chunk, void (*fn)(void*, int64_t, int64_t), void* ctx) {
    const int64_t chunks = (n + chunk - 1) / chunk;
    const int want = threads() - 1;
    bool expected = false;
    if (chunks < 2 || want < 1 || !busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      fn(ctx, 0, n);
      return;
    }
    grow(want);
    job_ = Job{fn, ctx, n, chunk};
    chunks_.store(chunks, std::memory_order_relaxed);
    active_.store(want, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = (ticket_.load(std::memory_order_relaxed) >> 32) + 1;
    ticket_.store(gen << 32, std::memory_order_seq_cst);  // publishes job_: chunk 0 of job `gen`
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(mu_);
      cv_.notify_all();
    }
    work(gen, -1);
    // the chunks still running are a helper's; on a busy machine it may have lost its core, so after a short spin
    // the caller gives its own up (on two cores under load this keeps a preempted helper from stalling a step)
    for (int spins = 0; done_.load(std::memory_order_acquire) < chunks; ++spins) {
      if (spins < kWaitSpins) SH_PAUSE();
      else std::this_thread::yield();
    }
    busy_.store(false, std::memory_order_release);
  }

 private:
  /** Takes and runs chunks of job `gen` until none is left (or a newer job replaced it); helper `index` (-1: the
   *  caller) only while the job asked for that many helpers. */
  void work(uint64_t gen, int index) {
    for (;;) {
      uint64_t t = ticket_.load(std::memory_order_acquire);
      int64_t c;
      do {
        if ((t >> 32) != gen || index >= active_.load(std::memory_order_relaxed)) return;
        c = static_cast<int64_t>(t & 0xffffffffu);
        if (c >= chunks_.load(std::memory_order_relaxed)) return;
      } while (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire));
      const Job& j = job_;  // job gen cannot end before this chunk is done, so job_ stays its
      const int64_t lo = c * j.chunk, hi = lo + j.chunk < j.n ? lo + j.chunk : j.n;
      j.fn(j.ctx, lo, hi);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void helper(int index) {
    // never run a signal handler here (as OpenMP's workers): the process's signals go to node's own threads
    sigset_t all;
    sigfillset(&all);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&all, sig);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    uint64_t seen = 0;
    int placed = 0;  // the placement this helper is bound by (SHITATE_PIN_THREADS): helper i is worker i + 1
    for (;;) {
      if (const int gen = placement_generation(); gen != placed) {
        bind_this_thread(place(index + 1));
        placed = gen;
      }
      const auto start = std::chrono::steady_clock::now();
      int spins = 0;
      while ((ticket_.load(std::memory_order_acquire) >> 32) == seen) {
        SH_PAUSE();
        if (++spins % 256 == 0 && std::chrono::steady_clock::now() - start > std::chrono::microseconds(spin_micros())) {
          std::unique_lock<std::mutex> lk(mu_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          cv_.wait(lk, [&] { return (ticket_.load(std::memory_order_seq_cst) >> 32) != seen; });
          sleepers_.fetch_sub(1, std::memory_order_seq_cst);
          break;
        }
      }
      seen = ticket_.load(std::memory_order_acquire) >> 32;
      work(seen, index);
    }
  }

  void grow(int want) {
    while (static_cast<int>(helpers_.size()) < want) {
      const int index = static_cast<int>(helpers_.size());
      helpers_.emplace_back([this, index] { helper(index); });
      helpers_.back().detach();  // lives as long as the process (the pool is never destroyed)
    }
  }

  std::atomic<bool> busy_{false};
  std::atomic<uint64_t> ticket_{0};  // job generation << 32 | next unclaimed chunk
  std::atomic<int64_t> done_{0};
  std::atomic<int64_t> chunks_{0};  // the current job's chunk count
  std::atomic<int> active_{0};      // helpers the current job uses (threads() - 1 when it started)
  std::atomic<int> sleepers_{0};
  Job job_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> helpers_;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: detached helpers use it until the process ends
  return *p;
}

}  // namespace

void rows_parallel(int64_t n, int64_t chunk, void (*fn)(void*, int64_t, int64_t), void* ctx) {
  if (n <= 0) return;
  pool().run(n, chunk < 1 ? 1 : chunk, fn, ctx);
}

}  // namespace sh
