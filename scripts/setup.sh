#!/usr/bin/env bash
# Installs what shitate needs on Debian/Ubuntu: a BLAS and a C++ toolchain for the native kernels, then the
# npm dependencies (which builds the native addon and the TypeScript sources).
set -euo pipefail
cd "$(dirname "$0")/.."

# --tests adds what the test suite needs beyond the runtime: Chromium (HTML reports are opened headless)
pkgs=(libopenblas-dev g++ make python3)
[ "${1:-}" = "--tests" ] && pkgs+=(chromium)
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
npm ci --no-audit --no-fund
