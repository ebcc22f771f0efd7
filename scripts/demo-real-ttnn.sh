#!/usr/bin/env bash
# The seed's 8-device mesh scenario on the REAL ttnn (tt-metal's own code: the PyPI wheel ttnn==0.81.1) on a mock
# T3000, watched by allocmon's server through the shared-memory regions tt-metal writes (docs/real-ttnn.md).
# No hardware and no kernel compiler: the mesh opens, tensors are placed, moved and freed; ops that need a kernel
# (add, matmul) cannot run, so the six steps are open, two ~100 MB-per-chip tensors, deallocate one, the other,
# close. Then the same steps inside ttnn's graph capture, whose buffers and ops allocmon.tt_metal forwards to the
# server: per-chip records with op names, holders by op. Makes .venv-ttnn/ (scripts/real-ttnn-env.sh) and builds
# allocmon if build/ has no server.
# Needs root: tt-metal and the server run in a private mount namespace with their own /dev/shm.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
python=$(bash scripts/real-ttnn-env.sh | tail -1) || status=$?
if [ $status != 0 ]; then
  echo "demo-real-ttnn: the real ttnn environment could not be made (exit $status, reason above)" >&2
  exit $status
fi
build=$(realpath -m "${ALLOCMON_BUILD_DIR:-build}")
if [ ! -x "$build/allocation_server" ] || [ ! -x "$build/allocation_monitor_client" ]; then
  bash scripts/build.sh >/dev/null
fi
if [ "$(id -u)" != 0 ]; then
  echo "demo-real-ttnn: needs root (unshare -m and a tmpfs on the namespace's /dev/shm)" >&2
  exit 1
fi
echo "== real ttnn: $("$python" -c 'import importlib.metadata as m; print("ttnn", m.version("ttnn"))') in $(dirname "$(dirname "$python")")"
echo "== mock cluster: .venv-ttnn/allocmon-mock/t3k_2x4.yaml (8 Wormhole chips, 4 n300 boards);" \
     "SFPI: a --version stub, no kernel compiler"
echo "== private /dev/shm; allocation_server --tt-shm-dir /dev/shm there (reads only tt-metal's regions)"
venv=$(dirname "$(dirname "$python")")
ALLOCMON_BUILD_DIR=$build ALLOCMON_TTNN_VENV=$venv \
  examples/real_ttnn/run_in_private_shm.sh --cluster t3k_2x4 "$python" examples/real_ttnn/test_mesh_allocation.py "$@"

# Part 2: the regions give totals per chip; ttnn's own graph capture gives the buffers and the functions that made
# them. allocmon.tt_metal forwards them to the server (after the capture, not live): per-chip records with op
# names, and the holders by op after the first send. tt-metal's log is off for this part: the ttnn.add that cannot
# build its kernels here would print pages of compile errors (the scenario says that it failed, as expected).
echo
echo "== part 2: the same steps inside ttnn's graph capture, forwarded by allocmon.tt_metal (per buffer, per op)"
ALLOCMON_BUILD_DIR=$build ALLOCMON_LIBRARY=$build/liballocmon.so.1 ALLOCMON_TTNN_VENV=$venv \
  TT_LOGGER_LEVEL=${TT_LOGGER_LEVEL:-off} \
  examples/real_ttnn/run_in_private_shm.sh --cluster t3k_2x4 "$python" examples/real_ttnn/test_graph_capture.py
