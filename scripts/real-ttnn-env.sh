#!/usr/bin/env bash
# Makes .venv-ttnn/ in the checkout: the real ttnn (PyPI wheel ttnn==0.81.1, tt-metal's own code) set up to run on
# a MOCK cluster on a machine without Tenstorrent hardware (docs/real-ttnn.md). Three things:
#   1. a venv with a Python the wheel exists for (cp312 or cp310 only): $ALLOCMON_TTNN_PYTHON, else python3.12 /
#      python3.10 on PATH, else pyenv's ~/.pyenv/versions/3.12.*/3.10.*; `pip install ttnn==0.81.1` (no torch:
#      allocmon's real-ttnn scripts give ttnn numpy arrays);
#   2. mock cluster descriptors (.venv-ttnn/allocmon-mock/{n150,t3k_2x4}.yaml, written by
#      examples/real_ttnn/mock_cluster_desc.py) for TT_METAL_MOCK_CLUSTER_DESC_PATH;
#   3. a STUB at the wheel's SFPI compiler path (examples/real_ttnn/sfpi-version-stub.sh): it answers only
#      `--version` so that devices open with the wheel's pre-compiled firmware; it compiles nothing, and every op
#      that needs a kernel fails ("Failed to generate binaries for ...").
# Idempotent: a stamp holds the hash of what made it. Exit status: 0 ready; 3 no Python the wheel supports;
# 4 pip could not install the wheel; 1 anything else. Prints the venv's python on success (last line).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${ALLOCMON_TTNN_VENV:-.venv-ttnn}
pin=ttnn==0.81.1
stamp=$venv/.allocmon-real-ttnn
want=$( { echo "$pin"; cat scripts/real-ttnn-env.sh examples/real_ttnn/mock_cluster_desc.py \
          examples/real_ttnn/sfpi-version-stub.sh; } | sha256sum | cut -d' ' -f1)
ready() { [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; }
if ready; then
  echo "$(cd "$venv" && pwd)/bin/python"
  exit 0
fi
# One maker at a time (CTest runs the two real-ttnn tests in parallel): the others wait, then find it ready.
exec 9>"/tmp/allocmon-real-ttnn-$(realpath -m "$venv" | sha256sum | cut -c1-16).lock"
flock 9
if ready; then
  echo "$(cd "$venv" && pwd)/bin/python"
  exit 0
fi

supported() {  # prints the interpreter's path when it runs and is 3.12 or 3.10 with venv and ensurepip
  "$1" -c 'import sys, venv, ensurepip; assert sys.version_info[:2] in ((3, 12), (3, 10)); print(sys.executable)' \
    2>/dev/null
}
base=
if [ -n "${ALLOCMON_TTNN_PYTHON:-}" ]; then
  base=$(supported "$ALLOCMON_TTNN_PYTHON") || {
    echo "real-ttnn-env: ALLOCMON_TTNN_PYTHON=$ALLOCMON_TTNN_PYTHON is not a working Python 3.12 or 3.10 with venv" >&2
    exit 3
  }
else
  for candidate in python3.12 python3.10 python3 ~/.pyenv/versions/3.12*/bin/python ~/.pyenv/versions/3.10*/bin/python; do
    if base=$(supported "$candidate"); then break; fi  # pyenv's shims exist on PATH but may refuse to run
    base=
  done
fi
if [ -z "$base" ]; then
  echo "real-ttnn-env: no Python 3.12 or 3.10 found (the ttnn 0.81.1 wheel exists only for cp312 and cp310);" \
       "set ALLOCMON_TTNN_PYTHON to one" >&2
  exit 3
fi

if [ -e "$venv" ] && ! supported "$venv/bin/python" >/dev/null; then
  rm -rf "$venv"  # made by another interpreter or half made: start again
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "real-ttnn-env: making $venv with $base ($("$base" --version 2>&1))" >&2
  "$base" -m venv "$venv" || { echo "real-ttnn-env: '$base -m venv $venv' failed" >&2; exit 1; }
fi
echo "real-ttnn-env: pip install $pin into $venv (~100 MB wheel, 350 MB installed; pip's cache makes it quick)" >&2
if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check --progress-bar off "$pin" 2> >(grep -v "^WARNING: Location" >&2) >&2; then
  echo "real-ttnn-env: pip could not install $pin (no network or index with the cp312/cp310 wheel?)" >&2
  exit 4
fi

site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[ -f "$site/ttnn/__init__.py" ] || { echo "real-ttnn-env: $site/ttnn is missing after pip install" >&2; exit 4; }
"$venv/bin/python" examples/real_ttnn/mock_cluster_desc.py "$venv/allocmon-mock" >/dev/null

# The SFPI stub (see its header): a plain file at the path tt-metal checks, with a note beside it.
sfpi=$site/ttnn/runtime/sfpi
if [ -e "$sfpi" ] && [ ! -f "$sfpi/ALLOCMON-STUB.txt" ]; then
  echo "real-ttnn-env: $sfpi exists and is not allocmon's stub (a real SFPI?): left as it is" >&2
else
  mkdir -p "$sfpi/compiler/bin" "$sfpi/include"
  install -m 0755 examples/real_ttnn/sfpi-version-stub.sh "$sfpi/compiler/bin/riscv-tt-elf-g++"
  cat >"$sfpi/ALLOCMON-STUB.txt" <<'NOTE'
This is NOT SFPI. allocmon's scripts/real-ttnn-env.sh put a stub here (examples/real_ttnn/sfpi-version-stub.sh)
that only answers `riscv-tt-elf-g++ --version`, so that tt-metal opens (mock) devices with the firmware the ttnn
wheel ships pre-compiled. It compiles nothing: every op that needs a kernel fails. Remove this folder to undo it.
NOTE
fi
echo "$want" >"$stamp"
echo "$(cd "$venv" && pwd)/bin/python"
