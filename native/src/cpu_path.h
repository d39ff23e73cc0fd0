// The run-time choice between a kernel's fast path and its portable one, made once per kernel: the fast path runs
// when the CPU has what it needs and its environment variable does not switch it off (tests force the portable path
// on CPUs that have both, to check that the two give the same results).
#pragma once
#include <cstdlib>
#include <cstring>

namespace sh {

/** False when the environment variable `env` equals `off`; else has() (the caller's __builtin_cpu_supports checks,
 *  run after __builtin_cpu_init). Callers keep the answer in a function-local static. */
template <typename Has>
bool fast_path(const char* env, const char* off, Has&& has) {
  const char* v = std::getenv(env);
  if (v != nullptr && std::strcmp(v, off) == 0) return false;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#endif
  return has();
}

}  // namespace sh
