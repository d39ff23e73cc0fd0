// Argument reading and validation for the Node-API bindings (see args.h).
#include "args.h"

#include <cmath>
#include <string>

namespace sh {

static const char* type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
  }
  return "typed array";
}

static std::string num_str(double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

Args::Args(napi_env env, napi_callback_info info, const char* kernel, size_t count) : env_(env), kernel_(kernel) {
  if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr) != napi_ok) {
    fail("could not read the arguments");
    return;
  }
  if (argc_ < count) fail("expected " + std::to_string(count) + " arguments, got " + std::to_string(argc_));
}

void Args::fail(const std::string& message) {
  if (!ok_) return;
  ok_ = false;
  std::string msg = std::string("shitate native kernel ") + kernel_ + ": " + message;
  if (dims_ > 0) {
    msg += " (sizes:";
    for (size_t d = 0; d < dims_; ++d) msg += std::string(" ") + dim_names_[d] + "=" + num_str(dim_values_[d]);
    msg += ")";
  }
  napi_throw_error(env_, "ERR_SHITATE_NATIVE_ARGUMENT", msg.c_str());
}

double Args::num(size_t i, const char* name) {
  if (!ok_) return 0;
  double v = 0;
  if (napi_get_value_double(env_, argv_[i], &v) != napi_ok) {
    fail(std::string("argument ") + name + " must be a number");
    return 0;
  }
  return v;
}

int64_t Args::integer(size_t i, const char* name) {
  const double v = num(i, name);
  if (!ok_) return 0;
  if (!(std::floor(v) == v) || std::fabs(v) > 9007199254740992.0) {
    fail(std::string("argument ") + name + " must be an integer, got " + num_str(v));
    return 0;
  }
  return static_cast<int64_t>(v);
}

int64_t Args::dim(size_t i, const char* name, int64_t max) {
  const double v = num(i, name);
  if (!ok_) return 0;
  if (!(std::floor(v) == v) || v < 0 || v > static_cast<double>(max)) {
    fail(std::string("argument ") + name + " must be an integer in [0, " + std::to_string(max) + "], got " +
         num_str(v));
    return 0;
  }
  if (dims_ < kMaxDims) {
    dim_names_[dims_] = name;
    dim_values_[dims_++] = v;
  }
  return static_cast<int64_t>(v);
}

bool Args::flag(size_t i, const char* name) {
  if (!ok_) return false;
  bool v = false;
  if (napi_get_value_bool(env_, argv_[i], &v) != napi_ok) fail(std::string("argument ") + name + " must be a boolean");
  return v;
}

uint32_t Args::u32(size_t i, const char* name) {
  if (!ok_) return 0;
  uint32_t v = 0;
  if (napi_get_value_uint32(env_, argv_[i], &v) != napi_ok) fail(std::string("argument ") + name + " must be a number");
  return v;
}

void* Args::typed(size_t i, const char* name, napi_typedarray_type want, uint64_t need, bool nullable) {
  return typed_value(argv_[i], name, want, need, nullable);
}

bool Args::list(size_t i, const char* name, size_t count, const uint64_t* need, napi_typedarray_type want, const char* type,
                void** out) {
  if (!ok_) return false;
  bool is_array = false;
  napi_is_array(env_, argv_[i], &is_array);
  uint32_t length = 0;
  if (!is_array || napi_get_array_length(env_, argv_[i], &length) != napi_ok) {
    fail(std::string("argument ") + name + " must be an array of " + type);
    return false;
  }
  if (length < count) {
    fail(std::string("argument ") + name + " holds " + std::to_string(length) + " arrays, needs " + std::to_string(count));
    return false;
  }
  for (size_t e = 0; e < count; ++e) {
    napi_value item;
    if (napi_get_element(env_, argv_[i], static_cast<uint32_t>(e), &item) != napi_ok) {
      fail(std::string("could not read argument ") + name + "[" + std::to_string(e) + "]");
      return false;
    }
    out[e] = typed_value(item, std::string(name) + "[" + std::to_string(e) + "]", want, need[e], false);
    if (!ok_) return false;
  }
  return true;
}

bool Args::f32_list(size_t i, const char* name, size_t count, const uint64_t* need, float** out) {
  return list(i, name, count, need, napi_float32_array, "Float32Array", reinterpret_cast<void**>(out));
}

bool Args::u16_list(size_t i, const char* name, size_t count, const uint64_t* need, uint16_t** out) {
  return list(i, name, count, need, napi_uint16_array, "Uint16Array", reinterpret_cast<void**>(out));
}

bool Args::i8_list(size_t i, const char* name, size_t count, const uint64_t* need, int8_t** out) {
  return list(i, name, count, need, napi_int8_array, "Int8Array", reinterpret_cast<void**>(out));
}

void* Args::typed_value(napi_value value, const std::string& name, napi_typedarray_type want, uint64_t need, bool nullable) {
  last_len_ = 0;
  if (!ok_) return nullptr;
  napi_valuetype vt = napi_undefined;
  napi_typeof(env_, value, &vt);
  if (nullable && vt == napi_null) return nullptr;
  bool is_typed = false;
  napi_is_typedarray(env_, value, &is_typed);
  if (!is_typed) {
    fail("argument " + name + " must be a " + type_name(want) + (nullable ? " or null" : ""));
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env_, value, &type, &length, &data, nullptr, nullptr) != napi_ok) {
    fail("could not read argument " + name);
    return nullptr;
  }
  if (type != want) {
    fail("argument " + name + " must be a " + type_name(want) + ", got a " + type_name(type));
    return nullptr;
  }
  if (length < need) {
    fail("argument " + name + " is too short: needs " +
         (need == UINT64_MAX ? std::string("more than 2^64") : std::to_string(need)) + " elements, has " +
         std::to_string(length));
    return nullptr;
  }
  last_len_ = length;
  return data;
}

float* Args::f32(size_t i, const char* name, uint64_t need, bool nullable) {
  return static_cast<float*>(typed(i, name, napi_float32_array, need, nullable));
}

int32_t* Args::i32(size_t i, const char* name, uint64_t need, bool nullable) {
  return static_cast<int32_t*>(typed(i, name, napi_int32_array, need, nullable));
}

uint16_t* Args::u16(size_t i, const char* name, uint64_t need, bool nullable) {
  return static_cast<uint16_t*>(typed(i, name, napi_uint16_array, need, nullable));
}

int8_t* Args::i8(size_t i, const char* name, uint64_t need, bool nullable) {
  return static_cast<int8_t*>(typed(i, name, napi_int8_array, need, nullable));
}

bool Args::sizes(size_t i, const char* name, int64_t S, std::vector<uint64_t>& need, std::vector<int64_t>& len) {
  const int32_t* v = i32(i, name, static_cast<uint64_t>(S));
  if (!ok_) return false;
  need.resize(static_cast<size_t>(S));
  len.resize(static_cast<size_t>(S));
  for (int64_t s = 0; s < S; ++s) {
    if (v[s] < 0) {
      fail(std::string(name) + "[" + std::to_string(s) + "] must be >= 0, got " + std::to_string(v[s]));
      return false;
    }
    need[static_cast<size_t>(s)] = static_cast<uint64_t>(v[s]);
    len[static_cast<size_t>(s)] = v[s];
  }
  return true;
}

}  // namespace sh
