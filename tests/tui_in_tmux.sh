#!/usr/bin/env bash
# The monitor's full-screen view in a real terminal (tmux, capture-pane) at 80x24, 120x40 and 200x60, with a T3000
# (2x4) and a Galaxy (4x8) mesh of the emulated runtime: every device in mesh order, the device view with its
# history and an address map whose largest free block is the allocator's, the help overlay, a resize mid-run, and
# the server killed and restarted. Processes are synchronised by their own output ("listening", "ready"); the
# screen is read until it shows what is expected (the only wait a terminal test has).
set -uo pipefail
build=${1:?usage: tui_in_tmux.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
command -v tmux >/dev/null || { echo "tmux is missing: run scripts/install-deps.sh"; exit 1; }
export PYTHONPATH=$build/python TT_ALLOC_TRACKING_ENABLED=1
sock_a=/tmp/allocmon-tui-a-$$.sock
sock_b=/tmp/allocmon-tui-b-$$.sock
tag=allocmon-tui-$$
pids=()
cleanup() {
  tm kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f "$sock_a" "$sock_b" "$tmux_socket"
}
trap cleanup EXIT
# A tmux server of the test's own (not the user's), kept alive by a placeholder session: killing the monitor's
# session never leaves it empty, so a new session never races the server's exit ("server exited unexpectedly").
tmux_socket=/tmp/allocmon-tui-$$.tmux
tm() { tmux -S "$tmux_socket" "$@"; }
tm new-session -d -s keep "sleep 3600" || { echo "FAIL: tmux could not start"; exit 1; }
screen=""
fail() { echo "FAIL: $1"; echo "--- screen ---"; echo "$screen"; exit 1; }

start_server() {  # SOCKET: returns when it listens
  local fifo
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  "$build/allocation_server" --socket "$1" --stats-interval 0 --quiet --clients-only >"$fifo" &
  pids+=($!)
  exec {fd}<"$fifo"
  rm -f "$fifo"
  read -r -t 10 line <&"$fd" || true
  [[ "$line" == *"listening on"* ]] || { echo "FAIL: server on $1 did not start: $line"; exit 1; }
}
start_workload() {  # ROWS COLS SOCKET: returns when the server has its buffers; stdin held open for its exit
  local fifo_in fifo_out
  fifo_in=$(mktemp -u) fifo_out=$(mktemp -u)
  mkfifo "$fifo_in" "$fifo_out"
  TT_ALLOC_SERVER_SOCKET=$3 "$ALLOCMON_PYTHON" "$here/tui_workload.py" "$1" "$2" <"$fifo_in" >"$fifo_out" &
  pids+=($!)
  exec {hold}>"$fifo_in"
  exec {out}<"$fifo_out"
  rm -f "$fifo_in" "$fifo_out"
  read -r -t 60 line <&"$out" || true
  [[ "$line" == "ready" ]] || { echo "FAIL: workload $1x$2 did not start: $line"; exit 1; }
}
monitor() {  # WIDTH HEIGHT SOCKET
  tm kill-session -t "$tag" 2>/dev/null || true
  tm new-session -d -s "$tag" -x "$1" -y "$2" \
    "TERM=xterm-256color $build/allocation_monitor_client -r 200 --socket $3; sleep 600"
}
wait_screen() {  # REGEX [SECONDS]: until the screen matches
  local tries=$(( ${2:-10} * 10 ))
  for _ in $(seq 1 "$tries"); do
    screen=$(tm capture-pane -p -t "$tag" 2>/dev/null || true)
    grep -qE -- "$1" <<<"$screen" && return 0
    sleep 0.1
  done
  return 1
}
wait_gone() {  # REGEX [SECONDS]: until the screen no longer matches
  local tries=$(( ${2:-10} * 10 ))
  for _ in $(seq 1 "$tries"); do
    screen=$(tm capture-pane -p -t "$tag" 2>/dev/null || true)
    grep -qE -- "$1" <<<"$screen" || return 0
    sleep 0.1
  done
  return 1
}
key() { tm send-keys -t "$tag" "$@"; }
in_mesh_order() {  # ROW-REGEX...: each row's ids on one line, the rows top to bottom
  local last=0 n
  for pattern in "$@"; do
    n=$(grep -nE -- "$pattern" <<<"$screen" | head -1 | cut -d: -f1)
    [ -n "$n" ] && [ "$n" -gt "$last" ] || return 1
    last=$n
  done
}

# ---- T3000 (2x4): ids 4 0 3 7 / 5 1 2 6 ----
start_server "$sock_a"
start_workload 2 4 "$sock_a"
for size in "80 24" "120 40" "200 60"; do
  set -- $size
  monitor "$1" "$2" "$sock_a"
  wait_screen "tui_workload.py 2 4" || fail "T3000 at $1x$2: no frame with the process table"
  in_mesh_order "#4 .*#0 .*#3 .*#7( |$)" "#5 .*#1 .*#2 .*#6( |$)" || fail "T3000 at $1x$2: devices not in mesh order"
  grep -q "tui_workload.py 2 4" <<<"$screen" || fail "T3000 at $1x$2: the process table lacks the command line"
  grep -q "more devices" <<<"$screen" && fail "T3000 at $1x$2: devices left out"
  [ -n "${TUI_SCREEN_DIR:-}" ] && echo "$screen" >"$TUI_SCREEN_DIR/t3000-mesh-$1x$2.txt"
done

# Keys (at 120x40): help, sort, the device view and back.
monitor 120 40 "$sock_a"
wait_screen "tui_workload.py 2 4" || fail "monitor did not start"
key '?'
wait_screen "allocmon monitor - keys" || fail "? shows no help"
[ -n "${TUI_SCREEN_DIR:-}" ] && echo "$screen" >"$TUI_SCREEN_DIR/help-120x40.txt"
key x
wait_gone "allocmon monitor - keys" || fail "help did not close"
key s
wait_screen "sort DRAM" || fail "s does not change the sort"
key Right Enter  # device 0, right of device 4
wait_screen "L1 map: largest free [0-9.]+ [KMG]?i?B \([0-9]+ B\), as the allocator's" || fail "Enter shows no device view with an address map that agrees with the allocator"
grep -q "^Device 0 " <<<"$screen" || fail "the device view is not device 0's"
grep -q "DRAM over the last" <<<"$screen" || fail "the device view has no history chart"
mapped=$(grep -E "L1 map: largest free" <<<"$screen" | sed -E 's/.*largest free [^(]*\(([0-9]+) B\).*/\1/')
server_says=$("$build/allocation_monitor_client" --socket "$sock_a" --query type,largest_free -d 0 | grep '^L1,' | cut -d, -f2)
[ "$mapped" = "$server_says" ] || fail "the map's largest free block $mapped is not the server's $server_says"
grep -qE "\[[#=-]*#[#=-]*=[#=-]*\]" <<<"$screen" || fail "the L1 strip shows no used block and free gap"
[ -n "${TUI_SCREEN_DIR:-}" ] && echo "$screen" >"$TUI_SCREEN_DIR/device-120x40.txt"
key Escape
wait_screen "#5 .*#1 .*#2 .*#6" || fail "Esc does not go back to the mesh"

# A resize mid-run: every device still there, still in order.
tm resize-window -t "$tag" -x 80 -y 24
wait_screen "#4 .*#0 .*#3 .*#7( |$)" && in_mesh_order "#4 .*#0" "#5 .*#1" || fail "after a resize to 80x24"

# The server killed and restarted on the same socket: a banner meanwhile, then the live view again (the
# workload's client library reconnects and sends its live buffers again).
kill -KILL "${pids[0]}"
wait_screen "server lost" || fail "no banner when the server is gone"
grep -q "#4" <<<"$screen" || fail "the last snapshot is not kept while the server is lost"
start_server "$sock_a"
wait_gone "server lost" 15 || fail "the monitor did not reconnect"
wait_screen "#6" 15 || fail "the workload's devices did not come back after the restart"
wait_screen "D 18M" 15 || fail "the workload's buffers did not come back after the restart"

# ---- Galaxy (4x8): ids 0-31, row by row ----
start_server "$sock_b"
start_workload 4 8 "$sock_b"
rows=("#0 .*#1 .*#2 .*#3 .*#4 .*#5 .*#6 .*#7( |$)" "#8 .*#9 .*#10 .*#15( |$)" "#16 .*#17 .*#23( |$)"
      "#24 .*#25 .*#26 .*#27 .*#28 .*#29 .*#30 .*#31( |$)")
for size in "80 24" "120 40" "200 60"; do
  set -- $size
  monitor "$1" "$2" "$sock_b"
  wait_screen "tui_workload.py 4 8" || fail "Galaxy at $1x$2: no frame with the process table"
  in_mesh_order "${rows[@]}" || fail "Galaxy at $1x$2: devices not in mesh order"
  grep -q "more devices" <<<"$screen" && fail "Galaxy at $1x$2: devices left out"
  [ -n "${TUI_SCREEN_DIR:-}" ] && echo "$screen" >"$TUI_SCREEN_DIR/galaxy-mesh-$1x$2.txt"
done
tm resize-window -t "$tag" -x 80 -y 24
wait_screen "#24 .*#31( |$)" && in_mesh_order "${rows[@]}" || fail "Galaxy after a resize to 80x24"

key q
for _ in $(seq 1 50); do
  screen=$(tm capture-pane -p -t "$tag" 2>/dev/null || true)
  grep -q "#31" <<<"$screen" || { echo "PASS: T3000 and Galaxy meshes at 80x24, 120x40, 200x60; device view, help, resize, server restart; q quits"; exit 0; }
  sleep 0.1
done
fail "q did not quit"
