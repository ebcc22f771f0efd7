#!/usr/bin/env bash
# The monitor's full-screen view in a real terminal (tmux): it shows the registered devices with their bars and the
# process table, and quits on `q`. The server and client are synchronised by their own output, not by sleeping.
set -euo pipefail
build=${1:?usage: tui_in_tmux.sh BUILD_DIR}
command -v tmux >/dev/null || { echo "tmux is missing: run scripts/install-deps.sh"; exit 1; }
sock=/tmp/allocmon-tui-$$.sock
session=allocmon-tui-$$
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [ -n "${CLIENT_PID:-}" ] && kill "$CLIENT_PID" 2>/dev/null || true
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -f "$sock"
}
trap cleanup EXIT

coproc SERVER { exec "$build/allocation_server" --socket "$sock" --stats-interval 0 --quiet --clients-only; }
read -r -t 10 line <&"${SERVER[0]}"
[[ "$line" == *"listening on"* ]] || { echo "server did not start: $line"; exit 1; }

coproc CLIENT { TT_ALLOC_TRACKING_ENABLED=1 TT_ALLOC_SERVER_SOCKET=$sock exec "$build/allocmon_test_client"; }
ask() { echo "$1" >&"${CLIENT[1]}"; read -r -t 10 reply <&"${CLIENT[0]}"; echo "$reply"; }
for d in 0 1 2; do ask "register $d" >/dev/null; done
ask "alloc 1 DRAM 6442450944 1" >/dev/null   # half of device 1's DRAM
ask "alloc 2 L1 85000000 2" >/dev/null       # ~95 % of device 2's L1: red bar
[[ "$(ask flush)" == "ok 0" ]] || { echo "flush failed"; exit 1; }

tmux new-session -d -s "$session" -x 120 -y 40 \
  "TERM=xterm-256color $build/allocation_monitor_client -a -r 200 --socket $sock"
screen=""
for _ in $(seq 1 100); do  # wait for the monitor's first full frame (up to 10 s)
  screen=$(tmux capture-pane -p -t "$session" 2>/dev/null || true)
  [[ "$screen" == *"Device 2"* && "$screen" == *"allocmon_test_c"* ]] && break
  sleep 0.1
done
fail() { echo "FAIL: $1"; echo "$screen"; exit 1; }
[[ "$screen" == *"Device 0"* ]] || fail "device 0 not shown"
[[ "$screen" == *"Device 1"* ]] || fail "device 1 not shown"
[[ "$screen" == *"Device 2"* ]] || fail "device 2 not shown"
grep -q "DRAM .*6.0 GiB / 12.0 GiB .*50.0%" <<<"$screen" || fail "device 1 DRAM bar not at 50 %"
grep -q "L1 .*95.2%" <<<"$screen" || fail "device 2 L1 bar not at 95 %"
[[ "$screen" == *"allocmon_test_c"* ]] || fail "process table missing"

[ -n "${TUI_SCREEN_DUMP:-}" ] && echo "$screen" > "$TUI_SCREEN_DUMP"
tmux send-keys -t "$session" q
for _ in $(seq 1 50); do
  tmux has-session -t "$session" 2>/dev/null || { echo "PASS: monitor drew 3 devices and quit on q"; exit 0; }
  sleep 0.1
done
fail "monitor did not quit on q"
