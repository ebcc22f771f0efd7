#!/usr/bin/env bash
# CTest real_ttnn_mesh_scenario: the seed's scenario on the real ttnn wheel (mock T3000), checked through the
# allocation server reading tt-metal's regions (examples/real_ttnn/test_mesh_allocation.py). Skips (exit 77, with
# the reason) where it cannot run here: not root, no unshare, no Python 3.12/3.10, pip cannot get the wheel.
set -uo pipefail
build=$1 source=$2
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace with its own /dev/shm (unshare -m)"
command -v unshare >/dev/null || skip "no unshare (util-linux)"
unshare -m --propagation private true 2>/dev/null || skip "unshare -m is not permitted here"
env_log=$(mktemp)
trap 'rm -f "$env_log"' EXIT
python=$(bash "$source/scripts/real-ttnn-env.sh" 2>"$env_log" | tail -1)
case $? in
  0) ;;
  3) cat "$env_log"; skip "no Python the ttnn 0.81.1 wheel supports (3.12 or 3.10)" ;;
  4) cat "$env_log"; skip "pip could not install ttnn==0.81.1 (no index or network with the wheel)" ;;
  *) cat "$env_log"; echo "scripts/real-ttnn-env.sh failed"; exit 1 ;;
esac
out=$(ALLOCMON_BUILD_DIR=$build ALLOCMON_TTNN_VENV=$(dirname "$(dirname "$python")") \
      "$source/examples/real_ttnn/run_in_private_shm.sh" "$python" \
      "$source/examples/real_ttnn/test_mesh_allocation.py" 2>&1)
status=$?
echo "$out"
[ $status = 0 ] || { echo "the real-ttnn scenario failed (exit $status)"; exit 1; }
check() { grep -q -- "$1" <<<"$out" || { echo "missing from the scenario's output: $1"; exit 1; }; }
check "Currently using mock cluster descriptor"   # tt-metal itself says it runs on the mock cluster
check "DRAM per chip 209715200 B = baseline + 200.0 MiB on each of 8 chips"
check "Device 7  wormhole_b0"                      # the monitor frames show every chip
check "PASSED: real ttnn on the mock T3000"
echo "real_ttnn_mesh_scenario: ok"
