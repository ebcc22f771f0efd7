#!/usr/bin/env bash
# Installs every C++ build, test and demo dependency of allocmon from Debian packages (the Python ones come from
# requirements.txt into .venv/: scripts/python-env.sh). Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format  # toolchain
  clang libclang-rt-14-dev                                   # sanitizers (ASan, UBSan, TSan) and libFuzzer
  libgtest-dev libgmock-dev libbenchmark-dev                 # tests and benchmarks
  nlohmann-json3-dev libcli11-dev libncurses-dev             # server snapshot JSON, CLI parsing, monitor TUI
  pybind11-dev python3-dev python3-venv                      # Python module (for .venv's interpreter)
  libopenblas-dev                                            # emulated mesh matmul
  tmux                                                       # TUI test drives the monitor in a terminal
  libcpp-httplib-dev prometheus                              # metrics endpoint; its test scrapes with real Prometheus
  libsqlite3-dev librsvg2-bin                                # recording; its reports (SVG to PNG)
  chromium                                                   # HTML report test loads the page in headless Chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
