#!/usr/bin/env bash
# The holders view ('w': what holds the memory by scope, op, site or tensor) in a real terminal (tmux of its own,
# capture-pane) at 80x24, 60x20 and 200x60, and the same table for scripts (--holders), against a server of its
# own and a ttnn workload under allocmon.emulate whose tensors are made in allocmon scopes
# (tests/holders_workload.py: per device, model/embed 1 MiB, model/decoder.N/attention (N+1) x 256 KiB of DRAM
# and 64 KiB of L1). Processes are synchronised by their own output ("listening", "ready" after the client's
# flush barrier); the screen is read until it shows what is expected (bounded).
set -uo pipefail
build=${1:?usage: tui_holders_in_tmux.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
python=${ALLOCMON_PYTHON:-python3}
command -v tmux >/dev/null || { echo "tmux is missing: run scripts/install-deps.sh"; exit 1; }
monitor_bin=$build/allocation_monitor_client
work=$(mktemp -d /tmp/allocmon-holders-XXXX)
sock=$work/server.sock
tag=holders
tmux_socket=$work/tmux
tm() { tmux -S "$tmux_socket" "$@"; }
pids=()
cleanup() {
  tm kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
screen=""
fail() { echo "FAIL: $1"; echo "--- screen ---"; echo "$screen"; exit 1; }
save() { [ -z "${TUI_SCREEN_DIR:-}" ] || echo "$screen" >"$TUI_SCREEN_DIR/holders-$1.txt"; }

# Usage errors need no server: exit 2 and a message that says what is wrong.
usage() {  # NEEDLE ARGS...: exit 2 with NEEDLE on stderr
  local needle=$1 out status
  shift
  out=$("$monitor_bin" --socket "$sock" "$@" 2>&1 </dev/null)
  status=$?
  [ "$status" -eq 2 ] && grep -qF -- "$needle" <<<"$out" || fail "$* -> exit $status: $out (want 2 and: $needle)"
}
usage "-t/--type goes with --holders" -t L1
usage "--sort goes with --holders" --sort name
usage "bogus not in {scope,op,site,tensor}" --holders bogus
usage "XYZ not in" --holders -t XYZ
usage "size not in {bytes,name,buffers}" --holders --sort size
usage "excludes" --holders --query device,type
usage "excludes" --holders --plain
usage "--json and --format csv ask for two formats" --holders --json --format csv
usage "--format goes with --query or --holders" --format csv
out=$("$monitor_bin" --socket "$sock" --holders 2>&1)
[ $? -eq 1 ] || fail "--holders without a server should exit 1: $out"

tm new-session -d -s keep "sleep 3600" || fail "tmux could not start"
exec 3< <(exec "$build/allocation_server" --socket "$sock" --stats-interval 0 --quiet --clients-only)
pids+=($!)
read -r -t 10 line <&3 || fail "the server did not start"
[[ "$line" == *"listening on"* ]] || fail "server: $line"
mkfifo "$work/in" "$work/out"
TT_ALLOC_TRACKING_ENABLED=1 TT_ALLOC_SERVER_SOCKET=$sock PYTHONPATH=$build/python \
  "$python" -m allocmon.emulate "$here/holders_workload.py" <"$work/in" >"$work/out" 2>&1 &
pids+=($!)
exec 4>"$work/in"  # the workload holds its tensors until this closes
exec 5<"$work/out"
read -r -t 120 line <&5 || true
[ "$line" = ready ] || fail "the workload did not start: $line $(timeout 1 cat <&5)"

# ---- for scripts: --holders ----
out=$("$monitor_bin" --socket "$sock" --holders) || fail "--holders failed: $out"
screen=$out
head -1 <<<"$out" | grep -qE "^What holds memory on all devices: [0-9.]+ MiB in [0-9]+ buffers, by scope \(sorted by bytes\)$" \
  || fail "--holders: no title line"
grep -qE "^ +8\.0 MiB +[0-9.]+% +8 0-7 +1\.0 MiB model/embed$" <<<"$out" || fail "--holders: model/embed is not 8.0 MiB, 1.0 MiB per device"
grep -qE "^ +6\.5 MiB +[0-9.]+% +16 0-7 +832\.0 KiB model/decoder\.2/attention$" <<<"$out" \
  || fail "--holders: model/decoder.2/attention is not 6.5 MiB in 16 buffers"
out=$("$monitor_bin" --socket "$sock" --holders op -d 0 -t l1 --format csv)
screen=$out
[ "$(head -1 <<<"$out")" = "time,op,bytes,buffers,devices,most_on_one_device" ] || fail "--format csv: header"
grep -qE "^[0-9]+,ttnn\.from_torch,196608,3,0,196608$" <<<"$out" || fail "--holders op -d 0 -t l1: ttnn.from_torch is not 3 x 64 KiB"
out=$("$monitor_bin" --socket "$sock" --holders site --sort name --json)
screen=$out
"$python" - "$out" <<'PY' || fail "--holders site --json"
import json, sys
doc = json.loads(sys.argv[1])
assert doc["schema"] == "allocmon.holders/1" and doc["by"] == "site" and doc["sort"] == "name", doc
names = [row["name"] for row in doc["rows"]]
assert names == sorted(names) and "holders_workload.py:15" in names, names  # open_mesh_device's line too
embed = next(row for row in doc["rows"] if row["name"] == "holders_workload.py:23")
assert (embed["bytes"], embed["buffers"], embed["devices"]) == (8 << 20, 8, list(range(8))), embed
PY
# By tensor: one row per tensor across the mesh, with what the emulated mesh said it is.
described="bfloat16 TILE \[8, 384, 1024\] DRAM interleaved, sharded dim 0 over 8"
out=$("$monitor_bin" --socket "$sock" --holders tensor) || fail "--holders tensor failed: $out"
screen=$out
grep -qE "^ +6\.0 MiB +[0-9.]+% +8 0-7 +768\.0 KiB DRAM +$described +model/decoder\.2/attention ttnn\.from_torch holders_workload\.py:26$" <<<"$out" \
  || fail "--holders tensor: decoder.2's weight is not one row of 8 devices saying what it is"
grep -qE "DESCRIPTION +TENSOR \(SCOPE OP SITE\)$" <<<"$out" || fail "--holders tensor: no DESCRIPTION heading"
out=$("$monitor_bin" --socket "$sock" --holders tensor -t L1 --format csv)
screen=$out
[ "$(head -1 <<<"$out")" = "time,tensor,bytes,buffers,devices,most_on_one_device,description,scope,op,site,type,size,address,pid" ] \
  || fail "--holders tensor --format csv: header"
[ "$(grep -cE '^[0-9]+,model/decoder\.[0-2]/attention ttnn\.from_torch holders_workload\.py:27,524288,8,0-7,65536,"bfloat16 TILE \[8, 128, 256\] L1 interleaved, sharded dim 0 over 8",model/decoder\.[0-2]/attention,ttnn\.from_torch,holders_workload\.py:27,L1,65536,[0-9]+,[0-9]+$' <<<"$out")" -eq 3 ] \
  || fail "--holders tensor -t L1 --format csv: three activations with their description"
out=$("$monitor_bin" --socket "$sock" --holders tensor --json)
screen=$out
"$python" - "$out" <<'PY' || fail "--holders tensor --json"
import json, sys
doc = json.loads(sys.argv[1])
row = next(r for r in doc["rows"] if r["scope"] == "model/decoder.2/attention" and r["type"] == "DRAM")
assert row["description"] == "bfloat16 TILE [8, 384, 1024] DRAM interleaved, sharded dim 0 over 8", row
assert (row["devices"], row["most_on_one_device"], row["buffers"]) == (list(range(8)), 768 << 10, 8), row
PY
samples=$(timeout -s INT 1 "$monitor_bin" --socket "$sock" --holders --loop 100 | grep -c "^What holds")
[ "$samples" -ge 2 ] || fail "--holders --loop 100 printed $samples tables in a second"
usage "the server knows no device 99" --holders -d 99

# ---- the full-screen view ----
monitor() {  # WIDTH HEIGHT
  tm kill-session -t "$tag" 2>/dev/null || true
  tm new-session -d -s "$tag" -x "$1" -y "$2" "TERM=xterm-256color $monitor_bin -r 200 --socket $sock; sleep 600"
}
wait_screen() {  # REGEX: until the screen matches (10 s)
  for _ in $(seq 1 100); do
    screen=$(tm capture-pane -p -t "$tag" 2>/dev/null || true)
    grep -qE -- "$1" <<<"$screen" && return 0
    read -r -t 0.1 <&3  # the server prints nothing (--quiet): a 0.1 s pause without sleep
  done
  return 1
}
key() { tm send-keys -t "$tag" "$@"; }
line_of() { grep -nE -- "$1" <<<"$screen" | head -1 | cut -d: -f1; }
in_order() {  # REGEX...: each on a line below the one before
  local last=0 n
  for pattern in "$@"; do
    n=$(line_of "$pattern")
    [ -n "$n" ] && [ "$n" -gt "$last" ] || return 1
    last=$n
  done
}

monitor 80 24
wait_screen "w:holders" || fail "80x24: the key line does not offer w:holders"
key '?'
wait_screen "w +what holds the memory" || fail "the help has no w"
key x
key w
wait_screen "model/decoder\.0/attention" || fail "w shows no holders view"
grep -q "^What holds memory on all devices: [0-9.]* MiB in [0-9]* buffers" <<<"$screen" || fail "80x24: no title"
grep -qE "^ +8\.0 MiB +[0-9.]+% +8 0-7 +1\.0 MiB model/embed$" <<<"$screen" || fail "80x24: model/embed's bytes"
grep -qE "^ +4\.5 MiB +[0-9.]+% +16 0-7 +576\.0 KiB model/decoder\.1/attention$" <<<"$screen" \
  || fail "80x24: model/decoder.1/attention's bytes"
grep -q "g:by scope" <<<"$screen" || fail "80x24: the key line does not say the grouping"
in_order "model/embed" "decoder\.2" "decoder\.1" "decoder\.0" "model/head" || fail "80x24: not largest first"
save scope-80x24
key s
wait_screen "\*SCOPE" || fail "s: no sort by name"
in_order "decoder\.0" "decoder\.1" "decoder\.2" "model/embed" "model/head" "\(no scope\)" || fail "s: not by name"
key s
wait_screen "\*BUFFERS" || fail "s s: no sort by buffers"
in_order "32 0-7 .*model/head" "16 0-7 .*decoder\.0" "8 0-7 .*model/embed" || fail "s s: not by buffers"
key s g
wait_screen "g:by op" || fail "g: not by op"
grep -qE "^ +22\.1 MiB .* 72 0-7 .*ttnn\.from_torch$" <<<"$screen" || fail "by op: ttnn.from_torch is not 22.1 MiB in 72 buffers"
grep -q "ttnn\.matmul$" <<<"$screen" || fail "by op: no ttnn.matmul"
save op-80x24
key g
wait_screen "g:by site" || fail "g g: not by site"
grep -qE "^ +8\.0 MiB .* 8 0-7 .*holders_workload\.py:23$" <<<"$screen" || fail "by site: the embedding's line"
key Tab  # Tab steps the grouping too
wait_screen "TENSOR \(SCOPE OP SITE\)" || fail "Tab: not by tensor"
# At 80 columns a tensor keeps its site whole and as much of its scope as fits, cut so decoders stay apart.
grep -qE "^ +6\.0 MiB +8 +768\.0 KiB DRAM +\.\.\.er\.2/attention holders_workload\.py:26$" <<<"$screen" \
  || fail "by tensor: the 768 KiB weight of decoder.2 on every device"
save tensor-80x24
key t
wait_screen "^What holds DRAM on all devices" || fail "t: not DRAM"
key t
wait_screen "^What holds L1 on all devices" || fail "t t: not L1"
[ "$(grep -cE "^ +512\.0 KiB +8 0-7 +64\.0 KiB .*er\.[0-2]/attention .*holders_workload\.py:27$" <<<"$screen")" -eq 3 ] \
  || fail "L1 by tensor: three 64 KiB activations per device"
key a
wait_screen "^What holds L1 on device [0-9]+: 214\.0 KiB in 4 buffers" || fail "a: not one device's L1"
first=$(grep -oE "^What holds L1 on device [0-9]+" <<<"$screen")
grep -q "DEVICES" <<<"$screen" && fail "one device: a DEVICES column"
save l1-device-80x24
key Right
wait_screen "^What holds L1 on device [0-9]+: 214\.0 KiB" && ! grep -q "^$first:" <<<"$screen" \
  || fail "Right: the device did not change"
key Escape
wait_screen "Enter:open" || fail "Esc: not back to the mesh"

# The device view's address maps labelled by scope ('g'), and its buffers with their op and site.
key Enter
wait_screen "L1 map: largest free" || fail "Enter: no device view"
key g
wait_screen "^  by scope: " || fail "g: no legend under the maps"
grep -qE "^  \[[-=#A-Z]*[A-Z][-=#A-Z]*\]" <<<"$screen" || fail "g: no letters in the maps"
grep -qE "^  by scope: .*[A-Z] model/decoder\.[0-9]/attention" <<<"$screen" || fail "g: the L1 legend names no decoder scope"
grep -q "g:map scope" <<<"$screen" || fail "g: the key line does not say the labels"
save device-labels-80x24
key g
wait_screen "^  by op: .*ttnn\.from_torch" || fail "g g: not by op"

# 60x20: numbers shrink to what fits, the names stay whole.
monitor 60 20
wait_screen "w:holders" || fail "60x20: no key line"
key w
wait_screen "model/decoder\.2/attention$" || fail "60x20: a scope name cut"
grep -qE "^ +6\.5 MiB +16 +832\.0 KiB model/decoder\.2/attention$" <<<"$screen" || fail "60x20: decoder.2's row"
grep -q "g:by scope" <<<"$screen" || fail "60x20: the key line lost the grouping"
save scope-60x20

# 80x12: more tensors than lines; j and ] scroll, and a line says how many are out of sight.
monitor 80 12
wait_screen "w:holders" || fail "80x12: no key line"
key w g g g
wait_screen "[0-9]+ more below, 0 above \(j k \[ \]\)$" || fail "80x12: no 'more below' line"
second=$(sed -n 6p <<<"$screen")  # the title bar, the title, the choices, the heading, then the rows
key j
wait_screen "more below, 1 above" || fail "80x12: j does not scroll"
[ "$(sed -n 5p <<<"$screen")" = "$second" ] || fail "80x12: j did not move the second row up"
key ] ]  # a page is the rows shown less one (one row of context)
wait_screen " 0 more below, [0-9]+ above" || fail "80x12: ] does not reach the end"
grep -qE "^ +128\.0 KiB .*holders_workload\.py:29$" <<<"$screen" || fail "80x12: the smallest tensor is not last"
save tensor-80x12

# 200x60: share bars, and tensors named by scope, op and line in full.
monitor 200 60
wait_screen "w:holders" || fail "200x60: no key line"
key w g g g
wait_screen "TENSOR \(SCOPE OP SITE\)" || fail "200x60: not by tensor"
grep -qE "\|+\.+ model/decoder\.2/attention ttnn\.from_torch holders_workload\.py:26$" <<<"$screen" \
  || fail "200x60: the tensor's full name after its share bar"
grep -qE "DRAM +bf16 \[8,384,1024\] DRAM dim 0/8 +\|+\.+ model/decoder\.2/attention ttnn\.from_torch holders_workload\.py:26$" <<<"$screen" \
  || fail "200x60: the tensor's description, compact, before its share bar"
save tensor-200x60

# 120x40: the share bar makes room for the description, cut after its shape; at 80 columns the numbers and the
# name keep the row (above) and the description is for --holders and wider terminals.
monitor 120 40
wait_screen "w:holders" || fail "120x40: no key line"
key w g g g
wait_screen "TENSOR \(SCOPE OP SITE\)" || fail "120x40: not by tensor"
grep -qE "^ +6\.0 MiB .* DRAM +bf16 \[8,384,1024\]\.\.\. +\.\.\..*er\.2/attention .*holders_workload\.py:26$" <<<"$screen" \
  || fail "120x40: decoder.2's weight with its shape"
save tensor-120x40
echo "PASS: holders view at 80x24, 60x20, 120x40, 200x60 (scope, op, site, tensor with its description; sort by bytes, name, buffers; memory types; one device and all; labelled address maps), --holders text/csv/json/--loop, usage errors"
