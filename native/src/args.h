// Argument reading for the Node-API bindings: typed arrays zero-copy (pointer + checked length), scalars,
// and one clear JS Error (naming the kernel, the argument and the sizes) on the first bad argument.
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sh {

class Args {
 public:
  static constexpr size_t kMaxArgs = 24;
  Args(napi_env env, napi_callback_info info, const char* kernel, size_t count);

  bool ok() const { return ok_; }
  napi_env env() const { return env_; }

  /** Non-negative integer (a dimension or count) no larger than `max`; recorded for error messages. */
  int64_t dim(size_t i, const char* name, int64_t max = (int64_t{1} << 53));
  /** Any JS number. */
  double num(size_t i, const char* name);
  /** Integer (may be negative), e.g. causal or window. */
  int64_t integer(size_t i, const char* name);
  bool flag(size_t i, const char* name);
  /** ToUint32 of a number (seeds). */
  uint32_t u32(size_t i, const char* name);

  /** Float32Array with at least `need` elements; `nullable` allows JS null (returns nullptr). */
  float* f32(size_t i, const char* name, uint64_t need, bool nullable = false);
  int32_t* i32(size_t i, const char* name, uint64_t need, bool nullable = false);
  uint16_t* u16(size_t i, const char* name, uint64_t need, bool nullable = false);
  int8_t* i8(size_t i, const char* name, uint64_t need, bool nullable = false);
  /** A JS array of `count` Float32Arrays, element e with at least need[e] elements: their data pointers in out. */
  bool f32_list(size_t i, const char* name, size_t count, const uint64_t* need, float** out);
  /** The same for Uint16Arrays (bf16 weights). */
  bool u16_list(size_t i, const char* name, size_t count, const uint64_t* need, uint16_t** out);
  /** The same for Int8Arrays (int8 weights). */
  bool i8_list(size_t i, const char* name, size_t count, const uint64_t* need, int8_t** out);
  /** S tensor sizes from an Int32Array argument (each >= 0): as element counts (need) and as i64 (len). */
  bool sizes(size_t i, const char* name, int64_t S, std::vector<uint64_t>& need, std::vector<int64_t>& len);
  /** Element count of the typed array last returned (for checks that depend on it, e.g. table rows). */
  size_t last_length() const { return last_len_; }

  /** Throw a JS Error "<kernel>: <message> (sizes: ...)" unless one was thrown already. */
  void fail(const std::string& message);

 private:
  void* typed(size_t i, const char* name, napi_typedarray_type want, uint64_t need, bool nullable);
  bool list(size_t i, const char* name, size_t count, const uint64_t* need, napi_typedarray_type want, const char* type,
            void** out);
  void* typed_value(napi_value value, const std::string& name, napi_typedarray_type want, uint64_t need, bool nullable);

  napi_env env_;
  const char* kernel_;
  napi_value argv_[kMaxArgs];
  size_t argc_ = kMaxArgs;
  bool ok_ = true;
  size_t last_len_ = 0;
  // dimensions read so far, formatted only when an error is thrown
  static constexpr size_t kMaxDims = 16;
  const char* dim_names_[kMaxDims];
  double dim_values_[kMaxDims];
  size_t dims_ = 0;
};

/** a * b saturating at UINT64_MAX (dimension products never wrap into a short length). */
inline uint64_t mulz(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
inline uint64_t mulz(uint64_t a, uint64_t b, uint64_t c) { return mulz(mulz(a, b), c); }
inline uint64_t mulz(uint64_t a, uint64_t b, uint64_t c, uint64_t d) { return mulz(mulz(a, b, c), d); }
inline uint64_t addz(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

}  // namespace sh
