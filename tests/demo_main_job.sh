#!/usr/bin/env bash
# The README's main command, as a test: scripts/demo.sh must pass the seed's checks, show monitor frames and the
# server's log, and end with the recorded run's replay fitting on both targets.
set -euo pipefail
build=$1
out=$(ALLOCMON_BUILD_DIR=$build TT_ALLOC_SERVER_SOCKET=$(mktemp -u /tmp/allocmon-demo-test-XXXX.sock) \
      bash "$(dirname "$0")/../scripts/demo.sh" 2>&1) || { echo "$out"; echo "demo.sh failed"; exit 1; }
check() { grep -q -- "$1" <<<"$out" || { echo "$out"; echo "missing from the demo's output: $1"; exit 1; }; }
check "PASSED: all memory checks passed"
check "Allocated 104857600 bytes of DRAM on device"
check "recorded addresses reproduced: 8 of 8"
check "Summary for blackhole (grid 13x10"
check "what the bytes are: holders by scope"
check "seed/tensor_a .* 800.0 MiB    8 buffers on 8 devices (100.0 MiB each)"
check "seed/add .* 16 buffers on 8 devices (100.0 MiB each)"  # its output and its kernels
[ "$(grep -c 'result: fits' <<<"$out")" -eq 2 ] || { echo "$out"; echo "both replays must fit"; exit 1; }
echo "demo.sh: ok"
