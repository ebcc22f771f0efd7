#!/usr/bin/env bash
# The main job: the seed's 8-device mesh scenario on the emulated 2x4 mesh, with the allocation server and a
# monitor frame after every step. Installs what is missing and builds first.
#   scripts/demo.sh            one terminal: test output with monitor frames, then the server's log
#   scripts/demo.sh --live     tmux: server log, live monitor and the test side by side (Ctrl-b d to leave)
#   scripts/demo.sh --ttnn     the same scenario written as a plain ttnn script, run by python3 -m allocmon.emulate
#   scripts/demo.sh --real-ttnn  the scenario on the real ttnn wheel (tt-metal on a mock T3000), watched through
#                              tt-metal's own shared-memory regions (docs/real-ttnn.md)
#   scripts/demo.sh --tt-shm   the unmodified-tt-metal path: liballocmon reporting off, the emulated mesh
#                              publishes tt-metal's shared-memory counters and the server reads only those
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--real-ttnn" ]; then shift; exec bash scripts/demo-real-ttnn.sh "$@"; fi
bash scripts/build.sh >/dev/null
build=$(realpath -m "${ALLOCMON_BUILD_DIR:-build}")
python=$(sed -n 's/^ALLOCMON_PYTHON:[A-Z]*=//p' "$build/CMakeCache.txt")  # .venv/bin/python (scripts/build.sh)
export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}
export ALLOCMON_BIN_DIR=$build
export TT_ALLOC_SERVER_SOCKET=${TT_ALLOC_SERVER_SOCKET:-/tmp/allocmon-demo-$$.sock}
export TT_ALLOC_TRACKING_ENABLED=1
# numpy advises huge pages for large arrays; where the kernel cannot form them (this project's VMs) every page
# fault then tries to compact memory, and faulting in the scenario's 3 GB of host arrays takes 4-7x longer.
export NUMPY_MADVISE_HUGEPAGE=${NUMPY_MADVISE_HUGEPAGE:-0}
mode=${1:-}
sources=(--clients-only)  # the normal demo: what liballocmon reports, nothing read from this machine
if [ "$mode" = "--tt-shm" ]; then
  unset TT_ALLOC_TRACKING_ENABLED
  shm_dir=$(mktemp -d /tmp/allocmon-demo-shm-XXXX)
  export ALLOCMON_EMULATED_TT_SHM_DIR=$shm_dir
  sources=(--tt-shm-dir "$shm_dir" --tt-arch wormhole_b0)
fi
log=$(mktemp /tmp/allocmon-demo-server-XXXX.log)
recording=$(mktemp -u /tmp/allocmon-demo-XXXX.sqlite)

if [ "${1:-}" = "--live" ]; then
  session=allocmon-demo
  tmux kill-session -t $session 2>/dev/null || true
  tmux new-session -d -s $session -x 200 -y 60 "$build/allocation_server --stats-interval 5 ${sources[*]} | tee $log"
  tmux split-window -h -t $session "sleep 0.5; $build/allocation_monitor_client -a -r 250"
  tmux split-window -v -t $session.0 "sleep 1; $python examples/test_mesh_allocation.py --pause 2; read -p 'done: press enter'"
  exec tmux attach -t $session
fi

fifo=$(mktemp -u /tmp/allocmon-demo-fifo-XXXX)
mkfifo "$fifo"
# A plain ttnn script cannot ask for a statistics block mid-run, so the server prints one every second there.
interval=0
[ "${1:-}" = "--ttnn" ] && interval=1
"$build/allocation_server" --stats-interval "$interval" --record "$recording" "${sources[@]}" >"$fifo" &
server_pid=$!
exec 3<"$fifo"
rm -f "$fifo"
read -r -t 10 first <&3  # the server's "listening" line: it is ready
echo "$first" >"$log"
cat <&3 >>"$log" &
cat_pid=$!
trap 'kill $server_pid 2>/dev/null || true; [ -z "${shm_dir:-}" ] || rm -rf "$shm_dir"' EXIT

echo "== allocation_server started: $first"
[ "$mode" = "--tt-shm" ] && echo "== liballocmon reporting is OFF: the server reads tt-metal's shared-memory regions in $shm_dir"
echo "== monitor: allocation_monitor_client -a -r 500   (frames printed after each step below)"
status=0
if [ "$mode" = "--ttnn" ]; then
  # Just before the script frees its tensors: what holds the memory, as allocation_monitor_client --holders says.
  "$python" -m allocmon.emulate scripts/demo_ttnn_holders.py examples/ttnn/test_mesh_allocation.py || status=$?
  kill -USR1 $server_pid
else
  "$python" examples/test_mesh_allocation.py --monitor --server-stats || status=$?
fi

kill -TERM $server_pid
wait $cat_pid 2>/dev/null || true
echo
if [ "$mode" = "--tt-shm" ]; then
  echo "== The server's log ($log): no client reported a buffer; what it read from the regions:"
  grep -m 3 "⚠" "$log" || echo "(no unreadable region)"
  echo
  echo "== The recorded run (totals read from the regions) as a report: allocmon-report $recording"
  "$build/allocmon-report" "$recording" --out "${recording%.sqlite}-report" | grep -E " DRAM: |^wrote" || true
  exit $status
fi
echo "== In the allocation server's log ($log):"
grep -m 8 "Allocated 104857600 bytes of DRAM" "$log" || true
echo "... ($(grep -c 'Allocated' "$log") allocations in all)"
# The statistics block taken when the most buffers were live (the seed shows it with both tensors allocated).
awk '/📊 Current Statistics/{block=""; inside=1}
     inside{block=block $0 "\n"}
     inside && /Active allocations/{inside=0; split($0, f, ": "); if (f[2]+0 > best) {best=f[2]+0; keep=block}}
     END{printf "%s", keep}' "$log"
grep -m 8 "(104857600 bytes)" "$log" || true
echo "... ($(grep -c 'Freed buffer' "$log") frees in all)"
echo
echo "== What if? The recorded run ($recording) replayed on a Blackhole device (allocmon-replay, docs/replay.md):"
"$build/allocmon-replay" "$recording" --compare blackhole | sed -n '/^A: /,$p' || true
exit $status
