#!/usr/bin/env bash
# scripts/demo.sh --tt-shm as a test: with liballocmon reporting off, the server sees the seed's mesh scenario
# only through tt-metal's shared-memory regions (written by the emulated mesh), and the seed's per-device checks
# pass on what it reads; the recording of those totals becomes a report.
set -euo pipefail
build=$1
out=$(ALLOCMON_BUILD_DIR=$build TT_ALLOC_SERVER_SOCKET=$(mktemp -u /tmp/allocmon-demo-shm-test-XXXX.sock) \
      bash "$(dirname "$0")/../scripts/demo.sh" --tt-shm 2>&1) || { echo "$out"; echo "demo.sh --tt-shm failed"; exit 1; }
check() { grep -q -- "$1" <<<"$out" || { echo "$out"; echo "missing from the demo's output: $1"; exit 1; }; }
check "liballocmon reporting is OFF"
check "PASSED: all memory checks passed"
check "Each device shows 200 MiB of DRAM above its baseline"
check "Device 7 | DRAM 314.8 MiB"
check "8 devices (0-7, each) DRAM: 332136448 B (316.8 MiB)"
! grep -q "Allocated 104857600" <<<"$out" || { echo "$out"; echo "a liballocmon client reported: not the shm path"; exit 1; }
echo "demo.sh --tt-shm: ok"
