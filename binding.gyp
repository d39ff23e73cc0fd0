# node-gyp build of the native kernels (build/Release/shitate_native.node): Node-API + BLAS + OpenMP, and
# oneDNN's bf16 GEMM when native/config.cjs finds libdnnl-dev.
# Flags: -O3 with OpenMP; AVX2/FMA only when native/config.cjs finds them on this CPU; never -ffast-math
# (it breaks NaN handling and erf fidelity) nor -march=native. -fno-math-errno and -fno-trapping-math change
# no result (errno and FP traps are unused here) but let GCC vectorise sqrt and branch-free selects.
{
  "targets": [
    {
      "target_name": "shitate_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/args.cc",
        "native/src/threads.cc",
        "native/src/bind_core.cc",
        "native/src/bind_model.cc",
        "native/src/k_gemm.cc",
        "native/src/k_gemm_skinny.cc",
        "native/src/k_gemm_bf16.cc",
        "native/src/k_gemm_bf16_rows.cc",
        "native/src/k_gemm_i8.cc",
        "native/src/k_gemm_rows.cc",
        "native/src/row_pool.cc",
        "native/src/k_gemm_backend.cc",
        "native/src/k_lowp.cc",
        "native/src/k_attention_bf16.cc",
        "native/src/bind_lowp.cc",
        "native/src/k_elementwise.cc",
        "native/src/k_norm.cc",
        "native/src/k_embed_rope.cc",
        "native/src/k_attention.cc",
        "native/src/k_decode_rows.cc",
        "native/src/k_attention_blocked.cc",
        "native/src/k_loss_optim.cc",
        "native/src/k_convert.cc",
        "native/src/k_select.cc",
        "native/src/k_geglu.cc",
        "native/src/k_softcap.cc",
        "native/src/bind_softcap_geglu.cc",
        "native/src/k_rope_partial.cc",
        "native/src/bind_families.cc",
        "native/src/k_conv1d.cc",
        "native/src/k_delta_rule.cc",
        "native/src/k_delta_rule_backward.cc",
        "native/src/bind_hybrid.cc",
        "native/src/k_encoder_attention.cc",
        "native/src/bind_encoder.cc"
      ],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='mac'", {
          "defines": ["SHITATE_ACCELERATE=1", "ACCELERATE_NEW_LAPACK=1"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_CPLUSPLUSFLAGS": ["-Wno-unknown-pragmas", "-fno-math-errno", "-fno-trapping-math"]
          }
        }],
        ["OS!='mac' and OS!='win'", {
          "defines": ["SHITATE_OPENBLAS=1", "<!@(node native/config.cjs defines)"],
          "include_dirs": ["<!@(node native/config.cjs include-dirs)"],
          "cflags": ["-O3", "-fopenmp", "<!@(node native/config.cjs simd)"],
          "cflags_cc": ["-O3", "-fopenmp", "-std=gnu++17", "-fno-math-errno", "-fno-trapping-math"],
          "ldflags": ["-fopenmp"],
          "libraries": ["<!@(node native/config.cjs libs)"]
        }]
      ]
    }
  ]
}
