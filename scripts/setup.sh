#!/usr/bin/env bash
# Installs what shitate needs on Debian/Ubuntu: a BLAS and a C++ toolchain for the native kernels, oneDNN for
# the bf16 GEMM of `--precision bf16` (optional: skipped with a note where the distribution lacks it), then the
# npm dependencies (which builds the native addon and the TypeScript sources).
set -euo pipefail
cd "$(dirname "$0")/.."

# --tests adds what the test suite needs beyond the runtime: Chromium (HTML reports are opened headless) and
# fonts-noto-cjk (the Japanese glyphs in those pages and their screenshots; see src/data/html-fonts.ts), and
# python3-torch (the GPU job's train.py is run on shitate's masks and batches; test/export/job-masking.test.ts)
pkgs=(libopenblas-dev g++ make python3)
[ "${1:-}" = "--tests" ] && pkgs+=(chromium fonts-noto-cjk python3-torch)
need=()
for pkg in "${pkgs[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: not a Debian/Ubuntu system; install a BLAS (OpenBLAS or Accelerate) and a C++ compiler yourself" >&2
  fi
fi
# optional: oneDNN's bf16 GEMM (about 2x faster frozen-weight GEMMs with --precision bf16 on AVX512-BF16/AMX CPUs)
if ! dpkg -s libdnnl-dev >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if apt-cache show libdnnl-dev >/dev/null 2>&1 || { $SUDO apt-get update -qq && apt-cache show libdnnl-dev >/dev/null 2>&1; }; then
    echo "installing: libdnnl-dev"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libdnnl-dev >/dev/null ||
      echo "note: libdnnl-dev did not install; --precision bf16 will be emulated (no speed-up)" >&2
  else
    echo "note: libdnnl-dev is not packaged here; --precision bf16 will be emulated (no speed-up)" >&2
  fi
fi
npm ci --no-audit --no-fund
