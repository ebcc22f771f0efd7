#!/usr/bin/env bash
# The monitor's and the server's command lines as scripts use them: exit statuses (1 for a runtime failure such
# as no server, 2 for a usage error, 0 after Ctrl-C), --json --loop, the order of --query's JSON keys, --once's
# event figure, an over-long socket path; a second server on a taken --metrics-address exits 1; /metrics read as
# another user carries totals only unless the server is started with --metrics-processes.
set -uo pipefail
build=${1:?usage: monitor_server_cli.sh BUILD_DIR}
export PYTHONPATH=$build/python
mon=$build/allocation_monitor_client
sock=/tmp/allocmon-mscli-$$.sock
sock2=/tmp/allocmon-mscli2-$$.sock
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$sock" "$sock2"; }
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }
expect() {  # STATUS NEEDLE COMMAND...
  local status=$1 needle=$2 out got
  shift 2
  out=$("$@" 2>&1 </dev/null)
  got=$?
  [ "$got" -eq "$status" ] && grep -qF -- "$needle" <<<"$out" || fail "$* -> exit $got (want $status): $out (want: $needle)"
}
start_server() {  # SOCKET ARGS...: sets $listening to the server's first line
  local s=$1 fifo
  shift
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  "$build/allocation_server" --socket "$s" --stats-interval 0 --quiet --clients-only "$@" >"$fifo" 2>&1 &
  pids+=($!)
  exec {fd}<"$fifo"
  rm -f "$fifo"
  listening=""
  while read -r -t 10 line <&"$fd"; do
    listening+="$line"$'\n'
    [[ "$line" == *"listening on"* ]] && return 0
  done
  echo "FAIL: server did not start: $listening"
  exit 1
}

# No server: a runtime failure (1), not a usage error (2).
expect 1 "no allocation server" "$mon" --socket "$sock" --once
expect 2 "--format goes with --query" "$mon" --socket "$sock" --json --format json
long=/tmp/$(printf 'x%.0s' $(seq 1 200)).sock
expect 2 "holds at most 107" "$mon" --socket "$long" --once

# A server with one device held by a process of ours.
start_server "$sock" --metrics-address 127.0.0.1:0
metrics=$(grep -oE "http://[0-9.:]+/metrics" <<<"$listening")
exec {hold}> >(TT_ALLOC_TRACKING_ENABLED=1 "$ALLOCMON_PYTHON" -c "
import sys, allocmon
allocmon.configure(True, '$sock')
allocmon.register_device(3, 'wormhole_b0', {'DRAM': 1 << 30})
allocmon.report_alloc(3, 'DRAM', 4096, 0, 1)
assert allocmon.flush() == allocmon.FLUSH_OK
open('/tmp/allocmon-mscli-$$.ready', 'w').close()
sys.stdin.readline()")
for _ in $(seq 1 600); do [ -e /tmp/allocmon-mscli-$$.ready ] && break; sleep 0.1; done
rm -f /tmp/allocmon-mscli-$$.ready

out=$("$mon" --socket "$sock" --query type,device,allocated --format json)
[[ "$out" == '[{"type":"DRAM","device":3,"allocated":4096}'* ]] || fail "--query keys not in the order asked: $out"
out=$("$mon" --socket "$sock" --once)
grep -q "events applied" <<<"$out" && ! grep -q " 0 events/s" <<<"$out" || fail "--once: $out"
out=$(timeout --preserve-status -s INT 3 "$mon" --socket "$sock" --json --loop 100)
status=$?
[ "$status" -eq 0 ] || fail "--json --loop ended by Ctrl-C (SIGINT): exit $status"
[ "$(grep -c '"devices"' <<<"$out")" -ge 2 ] || fail "--json --loop printed $(grep -c '"devices"' <<<"$out") documents"
out=$(timeout --preserve-status -s INT 1 "$mon" --socket "$sock" --plain)
status=$?
[ "$status" -eq 0 ] || fail "--plain ended by Ctrl-C: exit $status"

# /metrics: totals to anyone; who holds what only with --metrics-processes. Read as another user (nobody).
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
read_metrics() { as_nobody /usr/bin/python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())" "$1"; }
text=$(read_metrics "$metrics")
grep -qE 'allocmon_device_allocated_bytes\{device="3",source="allocmon",type="DRAM",host="[^"]+"\} 4096' <<<"$text" \
  || fail "/metrics as nobody: no device totals: $text"
grep -q "allocmon_process_allocated_bytes" <<<"$text" && fail "/metrics as nobody: per-process series by default"
grep -q "pid=" <<<"$text" && fail "/metrics as nobody: a pid label by default"

# The same address again: refused, exit 1; the first server still answers.
port=${metrics#http://127.0.0.1:}
port=${port%/metrics}
out=$(timeout 10 "$build/allocation_server" --socket "$sock2" --stats-interval 0 --quiet --clients-only \
  --metrics-address "127.0.0.1:$port" 2>&1)
status=$?
[ "$status" -eq 1 ] || fail "a second server on 127.0.0.1:$port: exit $status (want 1): $out"
grep -q "address in use" <<<"$out" || fail "a second server on a taken address: $out"
text=$(read_metrics "$metrics")
grep -q 'device="3"' <<<"$text" || fail "the first server stopped answering: $text"
exec {hold}>&-

start_server "$sock2" --metrics-address 127.0.0.1:0 --metrics-processes
metrics2=$(grep -oE "http://[0-9.:]+/metrics" <<<"$listening")
TT_ALLOC_TRACKING_ENABLED=1 "$ALLOCMON_PYTHON" -c "
import allocmon, urllib.request
allocmon.configure(True, '$sock2')
allocmon.register_device(4, 'wormhole_b0', {'DRAM': 1 << 30})
allocmon.report_alloc(4, 'DRAM', 8192, 0, 1)
assert allocmon.flush() == allocmon.FLUSH_OK
open('/tmp/allocmon-mscli-$$.go', 'w').close()
import time
for _ in range(600):
    import os
    if os.path.exists('/tmp/allocmon-mscli-$$.done'): break
    time.sleep(0.1)
" &
writer=$!
for _ in $(seq 1 600); do [ -e /tmp/allocmon-mscli-$$.go ] && break; sleep 0.1; done
text=$(read_metrics "$metrics2")
touch /tmp/allocmon-mscli-$$.done
wait $writer
rm -f /tmp/allocmon-mscli-$$.go /tmp/allocmon-mscli-$$.done
grep -qE 'allocmon_process_allocated_bytes\{pid="[0-9]+",.*device="4",host="[^"]+"\} 8192' <<<"$text" \
  || fail "--metrics-processes: no per-process series: $text"

[ "$failures" -eq 0 ] && echo "PASS: monitor exit statuses and formats, metrics address in use, /metrics totals only by default"
exit $((failures > 0))
