// Registration of the Node-API bindings (one function per binding file) and a descriptor helper.
#pragma once
#include <node_api.h>

#define SH_METHOD(name, fn) \
  { name, nullptr, fn, nullptr, nullptr, nullptr, napi_default, nullptr }

namespace sh {
napi_status register_core(napi_env env, napi_value exports);
napi_status register_model(napi_env env, napi_value exports);
napi_status register_softcap_geglu(napi_env env, napi_value exports);
napi_status register_families(napi_env env, napi_value exports);
napi_status register_lowp(napi_env env, napi_value exports);
napi_status register_hybrid(napi_env env, napi_value exports);
napi_status register_encoder(napi_env env, napi_value exports);
}  // namespace sh
