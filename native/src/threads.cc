// Thread count shared by OpenMP and OpenBLAS (SHITATE_THREADS; else every CPU at load, which the loader then lowers
// to one per physical core within any cgroup CPU limit: src/kernels/cpu-plan.ts), and BLAS identification.
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

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

// ---- thread placement ----------------------------------------------------------------------------------------

static std::mutex g_place_mu;
static std::vector<int> g_places;  // CPU of worker i (index 0: the calling thread, never bound)
static std::atomic<int> g_place_gen{0};

int placement_generation() { return g_place_gen.load(std::memory_order_acquire); }

int place(int i) {
  std::lock_guard<std::mutex> lk(g_place_mu);
  return i >= 1 && i < static_cast<int>(g_places.size()) ? g_places[static_cast<size_t>(i)] : -1;
}

#ifdef __linux__
/** The CPUs the process may use, as it started (read once, before anything was bound). */
static const cpu_set_t& start_mask() {
  static const cpu_set_t mask = [] {
    cpu_set_t m;
    CPU_ZERO(&m);
    if (sched_getaffinity(0, sizeof m, &m) != 0) for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &m);
    return m;
  }();
  return mask;
}

static cpu_set_t mask_of(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return start_mask();
  cpu_set_t m;
  CPU_ZERO(&m);
  CPU_SET(cpu, &m);
  return m;
}

bool bind_this_thread(int cpu) {
  const cpu_set_t m = mask_of(cpu);
  return pthread_setaffinity_np(pthread_self(), sizeof m, &m) == 0;
}

int pin_threads(const int* cpus, int n) {
  (void)start_mask();  // read before any worker is bound
  {
    std::lock_guard<std::mutex> lk(g_place_mu);
    g_places.assign(cpus, cpus + (n > 0 ? n : 0));
  }
  g_place_gen.fetch_add(1, std::memory_order_acq_rel);  // the decode-row helpers re-bind at their next job
  const int team = g_threads;
  std::atomic<int> bound{0};
#ifdef _OPENMP
  // one region of the full team: libgomp hands team member i the same pooled thread in later regions of this size
#pragma omp parallel num_threads(team)
  {
    const int t = omp_get_thread_num();
    if (t > 0 && bind_this_thread(t < n ? cpus[t] : -1) && t < n) bound.fetch_add(1);
  }
#endif
#ifdef SHITATE_OPENBLAS
  // OpenBLAS's workers are its threads 0 .. count - 2 (the last index is the calling thread): worker j on cpus[j + 1]
  const int blas = openblas_get_num_threads();
  for (int j = 0; j + 1 < blas; ++j) {
    const cpu_set_t m = mask_of(j + 1 < n ? cpus[j + 1] : -1);
    cpu_set_t copy = m;
    openblas_setaffinity(j, sizeof copy, &copy);
  }
#endif
  return bound.load();
}
#else
bool bind_this_thread(int) { return false; }
int pin_threads(const int* cpus, int n) {
  std::lock_guard<std::mutex> lk(g_place_mu);
  g_places.assign(cpus, cpus + (n > 0 ? n : 0));
  return 0;
}
#endif

}  // namespace sh
