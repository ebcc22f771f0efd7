#!/usr/bin/env bash
# CTest real_ttnn_vs_emulator: tools/compare_real_ttnn.py --check: every buffer the emulator places for the
# kernel-free placements (examples/real_ttnn/placements.py) has tt-metal's size, page size and type, and its
# address differs from tt-metal's by no more than its family's constant offset (the emulator's open-time system
# buffers and DRAM base, docs/real-ttnn.md). Skips (77) as run_scenario.sh does.
set -uo pipefail
build=$1 source=$2 python=$3
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace with its own /dev/shm (unshare -m)"
unshare -m --propagation private true 2>/dev/null || skip "unshare -m is not permitted here"
env_log=$(mktemp)
trap 'rm -f "$env_log"' EXIT
bash "$source/scripts/real-ttnn-env.sh" >/dev/null 2>"$env_log"
case $? in
  0) ;;
  3) cat "$env_log"; skip "no Python the ttnn 0.81.1 wheel supports (3.12 or 3.10)" ;;
  4) cat "$env_log"; skip "pip could not install ttnn==0.81.1 (no index or network with the wheel)" ;;
  *) cat "$env_log"; echo "scripts/real-ttnn-env.sh failed"; exit 1 ;;
esac
PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH} ALLOCMON_BIN_DIR=$build ALLOCMON_BUILD_DIR=$build \
  "$python" "$source/tools/compare_real_ttnn.py" --summary --check
