#!/usr/bin/env bash
# Installs dependencies (Debian packages for C++, the pinned requirements.txt into .venv/ for Python) and builds
# allocmon into build/ (or $ALLOCMON_BUILD_DIR) with its Python module for .venv/bin/python.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/python-env.sh
build=${ALLOCMON_BUILD_DIR:-build}
python=$(realpath "${ALLOCMON_VENV:-.venv}")/bin/python
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLOCMON_WERROR=ON \
  -DALLOCMON_PYTHON="$python" >/dev/null
cmake --build "$build" -j"$(nproc)"
