#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds tests/consumer against it with find_package(allocmon) and
# pkg-config, and checks that the consumer's report reaches the installed allocation_server.
set -euo pipefail
build=${1:?usage: install_consumer.sh BUILD_DIR SOURCE_DIR}
source=${2:?}
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
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
PYTHONPATH=$work/prefix/lib/python3/dist-packages /usr/bin/python3 -c "import allocmon, allocmon.ttnn
assert allocmon.replay(['alloc a L1 65536 2048 shards=8']).lines[0]['banks'] == 8" \
  || { echo "FAIL: installed Python package does not import"; exit 1; }
"$work/consumer_pc" </dev/null >/dev/null
echo "PASS: installed package builds C and C++ consumers (CMake and pkg-config); they report to the installed server"
