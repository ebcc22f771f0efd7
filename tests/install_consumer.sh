#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds tests/consumer against it with find_package(allocmon) and
# pkg-config, and checks that the consumer's report reaches the installed allocation_server; the installed
# programs and Python package run from that prefix without LD_LIBRARY_PATH; the systemd units are installed and
# the server runs socket-activated from them.
set -euo pipefail
build=${1:?usage: install_consumer.sh BUILD_DIR SOURCE_DIR}
source=${2:?}
work=$(mktemp -d)
server=""
trap '{ [ -n "$server" ] && kill $server; } 2>/dev/null || true; rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$source/tests/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
# pkg-config works too
PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig cc "$source/tests/consumer/consumer.c" -o "$work/consumer_pc" \
  $(PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig pkg-config --cflags --libs allocmon)

sock=$work/s.sock
exec 3< <("$work/prefix/bin/allocation_server" --socket "$sock" --stats-interval 0 --quiet --clients-only)
server=$!
read -r line <&3
[[ "$line" == *"listening on"* ]] || { echo "FAIL: installed server did not start"; exit 1; }
export TT_ALLOC_TRACKING_ENABLED=1 TT_ALLOC_SERVER_SOCKET=$sock LD_LIBRARY_PATH=$work/prefix/lib
[[ "$("$work/consumer/consumer_cxx")" == "flush 0" ]] || { echo "FAIL: C++ consumer"; exit 1; }
coproc C { "$work/consumer/consumer_c"; }
read -r reply <&"${C[0]}"
[[ "$reply" == "flush 0" ]] || { echo "FAIL: C consumer said '$reply'"; exit 1; }
snapshot=$("$work/prefix/bin/allocation_monitor_client" --json --socket "$sock")
echo >&"${C[1]}"; wait "$C_PID" || true
grep -q '"id":6' <<<"$snapshot" && grep -q '"allocated":12345' <<<"$snapshot" \
  && grep -q '"allocated":65536' <<<"$snapshot" \
  || { echo "FAIL: the installed server did not show the consumer's 12345 + 65536 bytes on device 6"; exit 1; }
"$work/consumer_pc" </dev/null >/dev/null
unset LD_LIBRARY_PATH  # what follows must find liballocmon by itself (RUNPATH)
PYTHONPATH=$work/prefix/lib/python3/dist-packages "$ALLOCMON_PYTHON" -c "import allocmon, allocmon.ttnn
assert allocmon.replay(['alloc a L1 65536 2048 shards=8']).lines[0]['banks'] == 8" \
  || { echo "FAIL: installed Python package does not import"; exit 1; }
"$work/prefix/bin/allocmon_demo" --devices 2 --phase-ms 0 >/dev/null \
  || { echo "FAIL: the installed allocmon_demo does not run from $work/prefix"; exit 1; }
for b in allocation_server allocation_monitor_client allocmon-replay allocmon-report allocmon_demo; do
  readelf -d "$work/prefix/bin/$b" | grep -q 'RUNPATH.*\$ORIGIN/../lib' || { echo "FAIL: $b has no relative RUNPATH"; exit 1; }
done

# The systemd units: installed, pointing at this prefix, and the server runs with the socket they describe.
units=$work/prefix/lib/systemd/system
grep -q "ExecStart=$work/prefix/bin/allocation_server" "$units/allocation_server.service" \
  || { echo "FAIL: allocation_server.service does not start the installed server"; exit 1; }
grep -q "ListenStream=/tmp/tt_allocation_server.sock" "$units/allocation_server.socket" \
  || { echo "FAIL: allocation_server.socket does not listen on the clients' default socket"; exit 1; }
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$units/allocation_server.socket" "$units/allocation_server.service" \
    || { echo "FAIL: systemd-analyze verify"; exit 1; }
  # Least privilege: its own user, two capabilities, the file system read-only but for its state directory.
  exposure=$(systemd-analyze security --offline=true "$units/allocation_server.service" 2>&1 \
    | sed -n 's/.*Overall exposure level for allocation_server.service: \([0-9.]*\).*/\1/p')
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 4.0) }' \
    || { echo "FAIL: systemd-analyze security: exposure '$exposure' (at most 4.0 expected)"; exit 1; }
fi
# The library's file carries its SONAME's version (liballocmon.so.1 -> liballocmon.so.1.x.y).
real=$(basename "$(readlink -f "$work/prefix/lib/liballocmon.so")")
soname=$(objdump -p "$work/prefix/lib/$real" | awk '/SONAME/ { print $2 }')
[[ -n "$soname" && "$real" == "$soname".* ]] || { echo "FAIL: $real has SONAME $soname"; exit 1; }
# Man pages and the documentation are installed.
for program in allocation_server allocation_monitor_client allocmon-replay allocmon-report; do
  grep -q "^\.TH" "$work/prefix/share/man/man1/$program.1" || { echo "FAIL: no man page for $program"; exit 1; }
done
[ -f "$work/prefix/share/doc/allocmon/README.md" ] && [ -f "$work/prefix/share/doc/allocmon/docs/install.md" ] \
  || { echo "FAIL: the documentation is not installed"; exit 1; }
grep -qx "User=allocmon" "$units/allocation_server.service" || { echo "FAIL: the service runs as root"; exit 1; }
grep -q "^u allocmon " "$work/prefix/lib/sysusers.d/allocmon.conf" || { echo "FAIL: no sysusers.d entry for allocmon"; exit 1; }
# docs/install.md's --record path is writable under ProtectSystem=strict: inside the unit's StateDirectory.
record=$(grep -o -- '--record /[^ `]*' "$source/docs/install.md" | head -1 | cut -d' ' -f2)
state=$(sed -n 's/^StateDirectory=//p' "$units/allocation_server.service")
[[ -n "$record" && -n "$state" && "$record" == /var/lib/$state/* ]] \
  || { echo "FAIL: --record $record (docs/install.md) is not in the unit's StateDirectory=$state"; exit 1; }
# Socket activation as systemd does it: a listening socket as descriptor 3, LISTEN_PID and LISTEN_FDS set.
activated=$work/activated.sock
cat >"$work/activate.py" <<'PY'
import os, socket, sys
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[2])
listener.listen(16)
os.dup2(listener.fileno(), 3)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))  # exec keeps the pid
os.execv(sys.argv[1], [sys.argv[1], "--quiet", "--stats-interval", "0", "--clients-only"])
PY
exec 4< <(exec "$ALLOCMON_PYTHON" "$work/activate.py" "$work/prefix/bin/allocation_server" "$activated")
activated_server=$!
read -r line <&4
[[ "$line" == *"listening on $activated (from systemd)"* ]] || { echo "FAIL: socket activation: $line"; exit 1; }
trap '{ [ -n "$server" ] && kill $server; } 2>/dev/null || true; kill $activated_server 2>/dev/null || true; rm -rf "$work"' EXIT
TT_ALLOC_SERVER_SOCKET=$activated "$work/consumer/consumer_cxx" >/dev/null  # connects: the socket was passed
snapshot=$("$work/prefix/bin/allocation_monitor_client" --json --socket "$activated")
grep -q "\"socket\":\"$activated\"" <<<"$snapshot" || { echo "FAIL: socket-activated server: $snapshot"; exit 1; }
kill $activated_server; wait $activated_server 2>/dev/null || true
[ -S "$activated" ] || { echo "FAIL: the server removed systemd's socket"; exit 1; }
echo "PASS: installed package builds C and C++ consumers (CMake and pkg-config); they report to the installed server;"
echo "      programs and Python run from the prefix without LD_LIBRARY_PATH; systemd units and socket activation work"
exit 0
