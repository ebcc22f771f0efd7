#!/usr/bin/env bash
# CTest real_ttnn_graph_capture: per-buffer and per-op records from the real ttnn wheel (mock T3000) through its
# graph capture and allocmon.tt_metal, checked on the server's leak report, holders and totals and against
# tt-metal's own shared-memory counters (examples/real_ttnn/test_graph_capture.py). Skips (exit 77, with the
# reason) as run_scenario.sh does: not root, no unshare, no Python 3.12/3.10, pip cannot get the wheel.
set -uo pipefail
build=$1 source=$2
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace with its own /dev/shm (unshare -m)"
command -v unshare >/dev/null || skip "no unshare (util-linux)"
unshare -m --propagation private true 2>/dev/null || skip "unshare -m is not permitted here"
[ -e "$build/liballocmon.so.1" ] || { echo "$build/liballocmon.so.1 missing: build allocmon first"; exit 1; }
env_log=$(mktemp)
trap 'rm -f "$env_log"' EXIT
python=$(bash "$source/scripts/real-ttnn-env.sh" 2>"$env_log" | tail -1)
case $? in
  0) ;;
  3) cat "$env_log"; skip "no Python the ttnn 0.81.1 wheel supports (3.12 or 3.10)" ;;
  4) cat "$env_log"; skip "pip could not install ttnn==0.81.1 (no index or network with the wheel)" ;;
  *) cat "$env_log"; echo "scripts/real-ttnn-env.sh failed"; exit 1 ;;
esac
# ALLOCMON_LIBRARY: this build's liballocmon, whatever else the environment has.
out=$(ALLOCMON_BUILD_DIR=$build ALLOCMON_LIBRARY=$build/liballocmon.so.1 \
      ALLOCMON_TTNN_VENV=$(dirname "$(dirname "$python")") \
      "$source/examples/real_ttnn/run_in_private_shm.sh" "$python" \
      "$source/examples/real_ttnn/test_graph_capture.py" 2>&1)
status=$?
# tt-metal's own errors for the ttnn.add that cannot compile its kernels here are expected: shown once, folded.
grep -v -e '^ --- ' <<<"$out"
[ $status = 0 ] || { echo "the real-ttnn graph capture scenario failed (exit $status)"; exit 1; }
check() { grep -q -- "$1" <<<"$out" || { echo "missing from the scenario's output: $1"; exit 1; }; }
check "Currently using mock cluster descriptor"   # tt-metal itself says it runs on the mock cluster
check "the capture changed no allocation: .*: yes"
check "per-chip totals from the events = tt-metal's own counters before the send: yes"
check "records on devices \[4, 5, 6, 7\]"
check "PASSED: real ttnn's buffers and ops through its graph capture"
echo "real_ttnn_graph_capture: ok"
