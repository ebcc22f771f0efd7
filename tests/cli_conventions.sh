#!/usr/bin/env bash
# Every binary follows the shell's conventions: --version answers (exit 0), a usage error exits 2 with a clear
# message (not CLI11's 100+ codes, not a 300-digit range), and a strict parse accepts only what it will do.
set -uo pipefail
build=$1
failures=0
expect() {  # expect STATUS NEEDLE COMMAND...
  local status=$1 needle=$2
  shift 2
  local out
  out=$("$@" 2>&1 </dev/null)
  local got=$?
  if [ "$got" -ne "$status" ] || ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: $* -> exit $got (want $status), output: $out (want: $needle)"
    failures=$((failures + 1))
  elif [ ${#out} -gt 400 ]; then
    echo "FAIL: $* -> a message of ${#out} characters: $out"
    failures=$((failures + 1))
  fi
}
sock=/tmp/allocmon-cli-$$.sock
for b in allocation_server allocation_monitor_client allocmon-replay allocmon-report allocmon_demo; do
  expect 0 "$b 0." "$build/$b" --version
  expect 2 "Run with --help" "$build/$b" --no-such-option
done
# An unknown option is named even when a required argument is missing too (CLI11 would say the latter).
expect 2 "allocmon-report: unknown option --bogus" "$build/allocmon-report" --bogus
expect 2 "allocmon-replay: unknown option --bogus" "$build/allocmon-replay" --bogus
expect 2 "recording is required" "$build/allocmon-report" --out /tmp/allocmon-cli-$$-none
expect 2 "not in range 0 to 86400" "$build/allocation_server" --socket "$sock" --stats-interval -3
expect 2 "the port must be a number from 0 to 65535" "$build/allocation_server" --socket "$sock" --metrics-address 127.0.0.1:99999
expect 2 "expected HOST:PORT" "$build/allocation_server" --socket "$sock" --metrics-address 127.0.0.1
expect 2 "the port must be a number" "$build/allocation_server" --socket "$sock" --metrics-address :9464x
expect 2 "IPv6 address goes in brackets" "$build/allocation_server" --socket "$sock" --metrics-address ::1:9464
expect 2 "octal mode" "$build/allocation_server" --socket "$sock" --socket-mode 99
expect 2 "not in range 0 to" "$build/allocation_monitor_client" --socket "$sock" -d -1
expect 2 "excludes" "$build/allocation_monitor_client" --socket "$sock" --json --plain
expect 2 "not in range 0 to" "$build/allocation_monitor_client" --socket "$sock" --frames -2
expect 2 "-a and -d exclude each other" "$build/allocation_monitor_client" --socket "$sock" -a -d 1
expect 2 "--grid wants XxY" "$build/allocmon-replay" "$(dirname "$0")/../examples/replay/conv_l1.trace" --grid 8y8
expect 2 "--arch" "$build/allocmon-replay" "$(dirname "$0")/../examples/replay/conv_l1.trace" --arch foo

# A device the server does not know, asked for in a one-shot query: a clear message, exit 2.
coproc SERVER { exec "$build/allocation_server" --socket "$sock" --clients-only --quiet --stats-interval 0; }
server=$SERVER_PID
read -r -t 10 ready <&"${SERVER[0]}"  # its "listening" line: ready
grep -q "listening on" <<<"$ready" || { echo "FAIL: the server did not start: $ready"; exit 1; }
expect 2 "the server knows no device 99" "$build/allocation_monitor_client" --socket "$sock" -d 99 --once
expect 2 "the server knows no device 99" "$build/allocation_monitor_client" --socket "$sock" -d 99 --json
kill $server
wait $server 2>/dev/null
[ "$failures" -eq 0 ] && echo "cli conventions: ok"
exit $((failures > 0))
