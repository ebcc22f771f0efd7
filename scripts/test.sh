#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test (CTest drives the C++ and Python suites).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build=${ALLOCMON_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
