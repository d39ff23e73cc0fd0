// Thread-count set-up and BLAS identification for info().
#pragma once
#include <string>

namespace sh {
void init_threads();
std::string blas_name();
std::string core_type();
bool has_openmp();

/** Thread placement (SHITATE_PIN_THREADS): worker i (i >= 1) of each thread pool the kernels use -- OpenMP's team
 *  (the addon's kernels and oneDNN), OpenBLAS's workers and the decode-row helpers -- is bound to CPU cpus[i]; the
 *  calling thread (node's main thread) is not bound, and the OS keeps it on the CPU the workers leave free. n 0
 *  unbinds them (back to the CPUs the process started with). Returns the threads bound (0 where the platform cannot
 *  bind threads). */
int pin_threads(const int* cpus, int n);
/** Bumped by every pin_threads call; a decode-row helper that sees a new value re-binds itself to place(index). */
int placement_generation();
/** The CPU of worker i under the current placement, or -1 (none, or no such worker). */
int place(int i);
/** Binds the calling thread to one CPU (-1: to the CPUs the process started with); false where it cannot. */
bool bind_this_thread(int cpu);
}  // namespace sh
