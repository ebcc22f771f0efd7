#!/usr/bin/env bash
# The monitor at the sizes people actually have (split tmux panes, small and very large windows), in a real
# terminal (tmux of its own, capture-pane): a Galaxy (4x8) below 80 columns keeps every id and position, a T3000
# keeps its ids at 40x12 and its bytes at 80x24, large screens are used (wider cells with history), the device view
# at 80x24 lists every buffer and a whole map heading, the server-lost banner is not cut, an empty server says
# what it waits for, closed devices, sort marker, refresh steps, the help's border, Ctrl-C and an unknown TERM.
set -uo pipefail
build=${1:?usage: tui_sizes_in_tmux.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
command -v tmux >/dev/null || { echo "tmux is missing: run scripts/install-deps.sh"; exit 1; }
export PYTHONPATH=$build/python TT_ALLOC_TRACKING_ENABLED=1
sock_a=/tmp/allocmon-tuis-a-$$.sock
sock_b=/tmp/allocmon-tuis-b-$$.sock
sock_e=/tmp/allocmon-tuis-e-$$.sock
tag=allocmon-tuis-$$
pids=()
holds=()
tmux_socket=/tmp/allocmon-tuis-$$.tmux
tm() { tmux -S "$tmux_socket" "$@"; }
cleanup() {
  tm kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f "$sock_a" "$sock_b" "$sock_e" "$tmux_socket"
}
trap cleanup EXIT
tm new-session -d -s keep "sleep 3600" || { echo "FAIL: tmux could not start"; exit 1; }
screen=""
fail() { echo "FAIL: $1"; echo "--- screen ---"; echo "$screen"; exit 1; }

start_server() {  # SOCKET: returns when it listens
  local fifo
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  "$build/allocation_server" --socket "$1" --stats-interval 0 --quiet --clients-only >"$fifo" &
  pids+=($!)
  server_pid=$!
  exec {fd}<"$fifo"
  rm -f "$fifo"
  read -r -t 10 line <&"$fd" || true
  [[ "$line" == *"listening on"* ]] || { echo "FAIL: server on $1 did not start: $line"; exit 1; }
}
start_workload() {  # ROWS COLS SOCKET [cb]: returns when the server has its buffers; stdin held open for its exit
  local fifo_in fifo_out
  fifo_in=$(mktemp -u) fifo_out=$(mktemp -u)
  mkfifo "$fifo_in" "$fifo_out"
  TT_ALLOC_SERVER_SOCKET=$3 "$ALLOCMON_PYTHON" "$here/tui_workload.py" "$1" "$2" ${4:-} <"$fifo_in" >"$fifo_out" &
  pids+=($!)
  workload_pid=$!
  exec {hold}>"$fifo_in"
  holds+=("$hold")
  exec {out}<"$fifo_out"
  rm -f "$fifo_in" "$fifo_out"
  read -r -t 60 line <&"$out" || true
  [[ "$line" == "ready" ]] || { echo "FAIL: workload $1x$2 did not start: $line"; exit 1; }
}
monitor() {  # WIDTH HEIGHT SOCKET [TERM]: the monitor, then its exit status on the screen
  tm kill-session -t "$tag" 2>/dev/null || true
  tm new-session -d -s "$tag" -x "$1" -y "$2" \
    "TERM=${4:-xterm-256color} $build/allocation_monitor_client -r 500 --socket $3; echo EXIT=\$?; sleep 600"
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
key() { tm send-keys -t "$tag" "$@"; }
in_mesh_order() {  # ROW-REGEX...: each row's ids on one line, the rows top to bottom
  local last=0 n
  for pattern in "$@"; do
    n=$(grep -nE -- "$pattern" <<<"$screen" | head -1 | cut -d: -f1)
    [ -n "$n" ] && [ "$n" -gt "$last" ] || return 1
    last=$n
  done
}
save() { [ -n "${TUI_SCREEN_DIR:-}" ] && echo "$screen" >"$TUI_SCREEN_DIR/$1.txt"; return 0; }

# ---- An empty server: says what it waits for ----
start_server "$sock_e"
monitor 80 24 "$sock_e"
wait_screen "waiting for devices" || fail "an empty server shows no 'waiting for devices'"

# ---- Galaxy (4x8) below 80 columns: every cell keeps its id and position ----
start_server "$sock_b"
start_workload 4 8 "$sock_b"
rows=("#0 .*#1 .*#2 .*#3 .*#4 .*#5 .*#6 .*#7( |$)" "#8 .*#9 .*#10 .*#15( |$)" "#16 .*#17 .*#23( |$)"
      "#24 .*#25 .*#26 .*#27 .*#28 .*#29 .*#30 .*#31( |$)")
for size in "79 24" "70 20" "64 24" "120 40"; do
  set -- $size
  monitor "$1" "$2" "$sock_b"
  wait_screen "0-31 +python" || fail "Galaxy at $1x$2: no frame with the process table"
  save "galaxy-mesh-$1x$2"
  in_mesh_order "${rows[@]}" || fail "Galaxy at $1x$2: devices not in mesh order"
  grep -q "#D" <<<"$screen" && fail "Galaxy at $1x$2: a cell's id is overwritten (#D...)"
  grep -q "more devices" <<<"$screen" && fail "Galaxy at $1x$2: devices left out"
  for id in $(seq 0 31); do
    grep -qE "#$id( |$)" <<<"$screen" || fail "Galaxy at $1x$2: no #$id"
  done
  grep -qE "#31 \(?3,7\)?" <<<"$screen" || fail "Galaxy at $1x$2: #31 without its position 3,7"
  grep -qE "#9 \(?1,1\)?" <<<"$screen" || fail "Galaxy at $1x$2: #9 without its position 1,1"
  [ "$(grep -cE "^D " <<<"$screen")" -ge 4 ] || fail "Galaxy at $1x$2: no DRAM line in the cells"
  [ "$(grep -cE "^L " <<<"$screen")" -ge 4 ] || fail "Galaxy at $1x$2: no L1 line in the cells"
done
grep -q "D 18M" <<<"$screen" || fail "Galaxy at 120x40: the cells have no bytes"

# ---- T3000 (2x4) with a circular buffer on every device ----
start_server "$sock_a"
start_workload 2 4 "$sock_a" cb
t3000=("#4 .*#0 .*#3 .*#7( |$)" "#5 .*#1 .*#2 .*#6( |$)")
monitor 40 12 "$sock_a"
wait_screen "#5 .*#6" || fail "T3000 at 40x12: no mesh"
save t3000-mesh-40x12
in_mesh_order "${t3000[@]}" || fail "T3000 at 40x12: ids lost or out of order"

monitor 80 24 "$sock_a"
wait_screen "tui_workload.py 2 4" || fail "T3000 at 80x24: no frame"
save t3000-mesh-80x24
in_mesh_order "${t3000[@]}" || fail "T3000 at 80x24: devices not in mesh order"
grep -qE "CB 1( |$)|CB 1[^2]" <<<"$screen" && fail "T3000 at 80x24: 'CB 12K' cut"
[ "$(grep -o "CB 12K" <<<"$screen" | wc -l)" -eq 8 ] || fail "T3000 at 80x24: not every cell shows CB 12K"
grep -q "(sorted by total bytes)" <<<"$screen" || fail "no sort marker"
key s
wait_screen "\*DRAM" || fail "s: the DRAM column has no sort marker"
# + and - step through 500 ms and back
key +
wait_screen "\+-:250ms" || fail "+ did not go to 250 ms"
key -
wait_screen "\+-:500ms" || fail "- did not return to 500 ms"
key '?'
wait_screen "allocmon monitor - keys" || fail "? shows no help"
grep -qE "[┌+l][─q-]{10}" <<<"$screen" || fail "the help overlay has no border"
save help-80x24
key x
# The device view at 80x24: every buffer listed, the map's heading whole.
key Right Enter
wait_screen "Largest live buffers \([0-9]+ of [0-9]+ on this device\)" || fail "80x24 device view: no buffer list"
save device-80x24
read -r listed total < <(grep -oE "Largest live buffers \([0-9]+ of [0-9]+" <<<"$screen" | grep -oE "[0-9]+" | xargs)
[ "$listed" -eq "$total" ] || [ "$listed" -ge 8 ] || fail "80x24 device view: $listed of $total buffers listed"
grep -qE "L1 map: largest free [0-9.]+ [KMG]?i?B.*banks of [0-9.]+ [KMG]?i?B *$" <<<"$screen" \
  || fail "80x24 device view: the L1 map heading is cut"
key Escape

monitor 200 60 "$sock_a"
wait_screen "tui_workload.py 2 4" || fail "T3000 at 200x60: no frame"
wait_screen "^D {20,}D {20,}D" || fail "T3000 at 200x60: no history in the cells"
save t3000-mesh-200x60
in_mesh_order "${t3000[@]}" || fail "T3000 at 200x60: devices not in mesh order"
widest=$(grep -E "#7 " <<<"$screen" | head -1 | sed -E 's/(#7 ).*/\1/' | wc -c)
[ "$widest" -ge 140 ] || fail "T3000 at 200x60: the mesh uses only $widest of 200 columns"
# The mesh uses the height too: the two rows of cells take at least 24 of the 60 lines.
mesh_end=$(grep -n "^fullest" <<<"$screen" | cut -d: -f1)
[ "${mesh_end:-0}" -ge 25 ] || fail "T3000 at 200x60: the mesh ends at line ${mesh_end:-?}"

# Closed devices: the workload leaves; i hides and shows them, and the header and the key line say so.
monitor 80 24 "$sock_a"
wait_screen "tui_workload.py 2 4" || fail "no frame"
eval "exec ${holds[1]}>&-"
wait_screen "i:hide closed" || fail "closed devices shown without 'i:hide closed'"
key i
wait_screen "0 of 8 devices \(8 closed hidden\)" || fail "i: the header does not count the hidden devices"
grep -q "i:show 8 closed" <<<"$screen" || fail "i: the key line does not offer to show them"
key i
wait_screen "#5 .*#6" || fail "i again: closed devices not shown"

# The server lost at 80x24: the reason is not cut.
kill -KILL "$server_pid"
wait_screen "server lost" || fail "no banner"
# Reconnecting fails with the long reason (no server on the socket): shown whole, over more than one line.
wait_screen "^ right socket\.|at the right socket\." || fail "the server-lost reason is cut"
save lost-80x24
# Ctrl-C leaves like q: exit status 0.
key C-c
wait_screen "EXIT=0" || fail "Ctrl-C: exit status is not 0"

# An unknown TERM: plain frames, not ncurses' "Error opening terminal".
monitor 100 20 "$sock_b" no-such-terminal
wait_screen "^Device [0-9]+ +wormhole_b0 mesh\(" || fail "unknown TERM: no plain frames"
grep -q "Error opening terminal" <<<"$screen" && fail "unknown TERM: ncurses' error"
echo "PASS: Galaxy at 79x24, 70x20, 64x24, 120x40; T3000 at 40x12, 80x24, 200x60; device view at 80x24; closed devices, banner, empty server, sort, refresh steps, help border, Ctrl-C, unknown TERM"
