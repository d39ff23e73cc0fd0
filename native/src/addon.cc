// Module entry of the shitate native addon: registers every kernel plus info(), setThreads() and two raw
// entry points used only by the benchmarks (rawSgemm, memcpyBench).
#include <node_api.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "args.h"
#include "bind.h"
#include "kernels.h"
#include "lowp.h"
#include "threads.h"

namespace sh {
namespace {

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, blas, core, nthreads, openmp, bf16;
  napi_create_object(env, &obj);
  const std::string b = blas_name(), c = core_type();
  napi_create_string_utf8(env, b.c_str(), b.size(), &blas);
  napi_create_string_utf8(env, c.c_str(), c.size(), &core);
  napi_create_int32(env, threads(), &nthreads);
  napi_get_boolean(env, has_openmp(), &openmp);
  napi_set_named_property(env, obj, "blas", blas);
  napi_set_named_property(env, obj, "coreType", core);
  napi_set_named_property(env, obj, "threads", nthreads);
  napi_set_named_property(env, obj, "openmp", openmp);
  const char* bf16Gemm = gemm_bf16_accelerated() ? "onednn" : "emulated";
  napi_create_string_utf8(env, bf16Gemm, NAPI_AUTO_LENGTH, &bf16);
  napi_set_named_property(env, obj, "bf16Gemm", bf16);
  napi_value rows;
  napi_create_string_utf8(env, bf16_rows_path(), NAPI_AUTO_LENGTH, &rows);
  napi_set_named_property(env, obj, "bf16Rows", rows);
  napi_value i8rows;
  napi_create_string_utf8(env, i8_rows_path(), NAPI_AUTO_LENGTH, &i8rows);
  napi_set_named_property(env, obj, "i8Rows", i8rows);
  napi_value f32rows;
  napi_create_string_utf8(env, f32_rows_path(), NAPI_AUTO_LENGTH, &f32rows);
  napi_set_named_property(env, obj, "f32Rows", f32rows);
  napi_value attnrows;
  napi_create_string_utf8(env, attn_rows_path(), NAPI_AUTO_LENGTH, &attnrows);
  napi_set_named_property(env, obj, "attnRows", attnrows);
  napi_value lowp;
  napi_create_string_utf8(env, lowp_elementwise_path(), NAPI_AUTO_LENGTH, &lowp);
  napi_set_named_property(env, obj, "bf16Elementwise", lowp);
  return obj;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "setThreads", 1);
  const int64_t n = a.dim(0, "n", 4096);
  if (a.ok() && n < 1) a.fail("argument n must be at least 1");
  if (!a.ok()) return nullptr;
  set_threads(static_cast<int>(n));
  return nullptr;
}

// pinThreads(cpus, n): thread placement (threads.h pin_threads): worker i of each pool on CPU cpus[i] for i < n, n 0
// unbinds; returns the OpenMP workers bound
napi_value PinThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "pinThreads", 2);
  const int64_t n = a.dim(1, "n", 65536);
  const int32_t* cpus = a.i32(0, "cpus", static_cast<uint64_t>(n));
  if (!a.ok()) return nullptr;
  for (int64_t i = 0; i < n; ++i)
    if (cpus[i] < 0) {
      a.fail("argument cpus must hold CPU ids (>= 0)");
      return nullptr;
    }
  const int bound = pin_threads(cpus, static_cast<int>(n));
  napi_value out;
  napi_create_int32(env, bound, &out);
  return out;
}

// lineOffset(view): how many bytes past a 64-byte boundary the view's first element lies (0-63), so a caller can
// start a large weight copy on a cache line (the row kernels' 64-byte weight loads then never straddle two lines)
napi_value LineOffset(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool typed = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &typed) != napi_ok || !typed) {
    napi_throw_type_error(env, nullptr, "lineOffset: expected a typed array as argument 0 (view)");
    return nullptr;
  }
  void* data = nullptr;
  napi_get_typedarray_info(env, argv[0], nullptr, nullptr, &data, nullptr, nullptr);
  napi_value out;
  napi_create_int32(env, static_cast<int32_t>(reinterpret_cast<std::uintptr_t>(data) % 64), &out);
  return out;
}

// rawSgemm(c, a, b, M, N, K, transA, transB): one cblas_sgemm, nothing else (benchmark baseline)
napi_value RawSgemm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void* p[3] = {nullptr, nullptr, nullptr};
  for (int i = 0; i < 3; ++i) napi_get_typedarray_info(env, argv[i], nullptr, nullptr, &p[i], nullptr, nullptr);
  int32_t d[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) napi_get_value_int32(env, argv[3 + i], &d[i]);
  bool ta = false, tb = false;
  napi_get_value_bool(env, argv[6], &ta);
  napi_get_value_bool(env, argv[7], &tb);
  raw_sgemm(static_cast<float*>(p[0]), static_cast<float*>(p[1]), static_cast<float*>(p[2]), d[0], d[1], d[2], ta, tb);
  return nullptr;
}

// memcpyBench(dst, src, n): copy n floats with the kernels' threads (bandwidth baseline)
napi_value MemcpyBench(napi_env env, napi_callback_info info) {
  Args a(env, info, "memcpyBench", 3);
  const int64_t n = a.dim(2, "n");
  float* dst = a.f32(0, "dst", n);
  const float* src = a.f32(1, "src", n);
  if (!a.ok()) return nullptr;
  copy_floats(dst, src, n);
  return nullptr;
}

// Activations and gradients are fresh typed arrays of 0.1-30 MB each, allocated and dropped every step.
// glibc serves blocks over 128 KiB with mmap and unmaps them on free, so each step re-faults every page
// it touches (measured on a 135M-model LoRA step: ~350k page faults, 40% of the wall time in the kernel).
// Keeping blocks up to 32 MiB in the heap and not trimming it turns that into reuse of warm memory.
// SHITATE_MALLOC_TUNE=0 leaves glibc's defaults alone.
void tune_malloc() {
#ifdef __GLIBC__
  const char* env = std::getenv("SHITATE_MALLOC_TUNE");
  if (env != nullptr && env[0] == '0') return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

napi_value Init(napi_env env, napi_value exports) {
  init_threads();
  tune_malloc();
  const napi_property_descriptor props[] = {
      SH_METHOD("info", Info),
      SH_METHOD("setThreads", SetThreads),
      SH_METHOD("pinThreads", PinThreads),
      SH_METHOD("lineOffset", LineOffset),
      SH_METHOD("rawSgemm", RawSgemm),
      SH_METHOD("memcpyBench", MemcpyBench),
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return nullptr;
  if (register_core(env, exports) != napi_ok || register_model(env, exports) != napi_ok) return nullptr;
  if (register_softcap_geglu(env, exports) != napi_ok) return nullptr;
  if (register_families(env, exports) != napi_ok) return nullptr;
  if (register_lowp(env, exports) != napi_ok) return nullptr;
  if (register_hybrid(env, exports) != napi_ok) return nullptr;
  if (register_encoder(env, exports) != napi_ok) return nullptr;
  return exports;
}

}  // namespace
}  // namespace sh

NAPI_MODULE(NODE_GYP_MODULE_NAME, sh::Init)
