#!/usr/bin/env bash
# The mesh view shows stale bytes (issue 24): a process that held memory in tt-metal's shared-memory regions is
# SIGKILLed; the server reads its slot as stale (held by no live process) and the monitor's mesh cell, in a real
# terminal (tmux of its own, 80x24), says so beside the device's bytes.
set -uo pipefail
build=${1:?usage: tui_stale_in_tmux.sh BUILD_DIR}
python=${ALLOCMON_PYTHON:-python3}
command -v tmux >/dev/null || { echo "tmux is missing: run scripts/install-deps.sh"; exit 1; }
work=$(mktemp -d /tmp/allocmon-stale-XXXX)
sock=$work/server.sock
tmux_socket=$work/tmux
tm() { tmux -S "$tmux_socket" "$@"; }
pids=()
cleanup() {
  tm kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $1"; [ -n "${screen:-}" ] && { echo "--- screen ---"; echo "$screen"; }; exit 1; }

mkdir "$work/shm"
exec 3< <(exec "$build/allocation_server" --socket "$sock" --stats-interval 0 --quiet --tt-shm-dir "$work/shm" \
  --tt-arch wormhole_b0 --poll-interval 50)
pids+=($!)
read -r -t 10 line <&3 || fail "the server did not start"
[[ "$line" == *"listening on"* ]] || fail "server: $line"

# The holder: the emulated mesh publishing tt-metal's regions (liballocmon reporting off), a 4 MiB tensor per
# device beside the mesh's 15 MB of system buffers (19.7 MB of DRAM per device), then waiting to be killed.
coproc HOLDER {
  exec env -u TT_ALLOC_TRACKING_ENABLED ALLOCMON_EMULATED_TT_SHM_DIR="$work/shm" PYTHONPATH="$build/python" \
    "$python" -c "
import sys, numpy as np, allocmon
mesh = allocmon.open_mesh(1, 2)
t = allocmon.from_numpy(np.zeros((2, 2048, 1024), np.float32), mesh, flat_dim=0)
print('ready', flush=True)
sys.stdin.readline()"
}
holder=$HOLDER_PID  # bash unsets HOLDER_PID once the coprocess is gone
pids+=("$holder")
read -r -t 30 ready <&"${HOLDER[0]}" || fail "the holder did not start"
[ "$ready" = ready ] || fail "holder said: $ready"
kill -9 "$holder"
wait "$holder" 2>/dev/null

# The server's view once it has read the regions after the kill (its SyncSources barrier, bounded).
PYTHONPATH="$build/python" "$python" - "$sock" <<'PY' || fail "the server did not show the killed holder's bytes as stale"
import sys, allocmon
sock = sys.argv[1]
for attempt in range(100):  # each sync is a completed read of every region; the first few may predate the kill
    allocmon.sync_sources(sock)
    devices = allocmon.snapshot(sock)["devices"]
    stale = [sum(m.get("stale", 0) for m in d["memory"].values()) for d in devices]
    if len(stale) == 2 and all(s >= 4 << 20 for s in stale):
        sys.exit(0)
sys.exit(f"stale bytes per device: {stale}")
PY

tm new-session -d -s stale -x 80 -y 24 "TERM=xterm-256color '$build/allocation_monitor_client' --socket '$sock' -a -r 100"
screen=""
for attempt in $(seq 1 100); do  # the monitor's first frames; bounded
  screen=$(tm capture-pane -p -t stale)
  grep -q "stale" <<<"$screen" && break
  tm send-keys -t stale "" 2>/dev/null || true
  read -r -t 0.1 <&3 || true
done
[ "$(grep -o "stale 19M" <<<"$screen" | wc -l)" -eq 2 ] || fail "each mesh cell should say 'stale 19M' (the killed holder's bytes)"
echo "stale bytes in the mesh view: ok"
