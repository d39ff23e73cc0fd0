// Thread count shared by OpenMP and OpenBLAS (SHITATE_THREADS; else every CPU at load, which the loader then lowers
// to one per physical core within any cgroup CPU limit: src/kernels/cpu-plan.ts), and BLAS identification.
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "blas.h"
#include "common.h"
#include "threads.h"

namespace sh {

static int g_threads = 1;

int threads() { return g_threads; }

static int available_cores() {
#ifdef _OPENMP
  return omp_get_num_procs();
#else
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
#endif
}

void set_threads(int n) {
  if (n < 1) n = 1;
  g_threads = n;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
#ifdef SHITATE_OPENBLAS
  openblas_set_num_threads(n);
#endif
}

void init_threads() {
  int n = available_cores();
  const char* env = std::getenv("SHITATE_THREADS");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 4096) n = static_cast<int>(v);
  }
  set_threads(n);
}

BlasSingleThread::BlasSingleThread() {
#ifdef SHITATE_OPENBLAS
  if (g_threads > 1) openblas_set_num_threads(1);
#endif
}

BlasSingleThread::~BlasSingleThread() {
#ifdef SHITATE_OPENBLAS
  if (g_threads > 1) openblas_set_num_threads(g_threads);
#endif
}

static std::string trim(const char* s) {
  std::string out = s != nullptr ? s : "";
  size_t a = out.find_first_not_of(" \t\n");
  size_t b = out.find_last_not_of(" \t\n");
  return a == std::string::npos ? std::string() : out.substr(a, b - a + 1);
}

std::string blas_name() {
#if defined(SHITATE_OPENBLAS)
  // openblas_get_config(): "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..."; keep name and version
  const std::string config = trim(openblas_get_config());
  const size_t first = config.find(' ');
  const size_t second = first == std::string::npos ? first : config.find(' ', first + 1);
  return second == std::string::npos ? config : config.substr(0, second);
#elif defined(SHITATE_ACCELERATE)
  return "Accelerate";
#else
  return "CBLAS";
#endif
}

std::string core_type() {
#if defined(SHITATE_OPENBLAS)
  return trim(openblas_get_corename());
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

bool has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace sh
