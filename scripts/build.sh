#!/usr/bin/env bash
# Installs dependencies (Debian packages) and builds allocmon into build/ (or $ALLOCMON_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${ALLOCMON_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLOCMON_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
