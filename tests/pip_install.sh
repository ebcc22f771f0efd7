#!/usr/bin/env bash
# `pip install .` as a tt-metal user types it in their own environment: a fresh venv, the checkout installed with
# pip's build isolation (scikit-build-core), then, from a folder outside the checkout: the four programs on PATH,
# a server started by its entry point, the tracking client reporting to it, the monitor showing the bytes, and
# allocmon.server finding the programs the package carries.
set -euo pipefail
source_dir=$(realpath "${1:?usage: pip_install.sh SOURCE_DIR}")
python=${ALLOCMON_PYTHON:-python3}
work=$(mktemp -d /tmp/allocmon-pip-XXXX)
server=""
trap '{ [ -z "$server" ] || kill "$server"; } 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$python" -m venv "$work/venv"
# A venv made from another venv's interpreter gets the base installation; its pip is its own.
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$source_dir" \
  2> >(grep -v "^WARNING: Location" >&2) || fail "pip install $source_dir"
cd "$work"  # outside the checkout: nothing may come from its build tree
unset PYTHONPATH ALLOCMON_BIN_DIR LD_LIBRARY_PATH
export PATH=$work/venv/bin:$PATH

for program in allocation_server allocation_monitor_client allocmon-replay allocmon-report; do
  [ "$(command -v "$program")" = "$work/venv/bin/$program" ] || fail "$program is not on the venv's PATH"
  "$program" --version | grep -q "0\." || fail "$program --version"
done
version=$(python -c "import allocmon; print(allocmon.__version__)")
[ "$(pip show allocmon | sed -n "s/^Version: //p")" = "$version" ] || fail "the package's version is not allocmon.__version__ ($version)"

sock=$work/server.sock
exec 3< <(exec allocation_server --socket "$sock" --stats-interval 0 --quiet --clients-only)
server=$!
read -r -t 20 line <&3 || fail "the server did not start"
[[ "$line" == *"listening on $sock"* ]] || fail "server: $line"

TT_ALLOC_TRACKING_ENABLED=1 TT_ALLOC_SERVER_SOCKET=$sock python - <<'PY' || fail "the tracking client"
import allocmon
from allocmon.server import find_binary
assert allocmon.tracking_enabled()
allocmon.register_device(3, "wormhole_b0", {"DRAM": 1 << 30})
allocmon.report_alloc(3, "DRAM", 7340032, 4096, 1)
assert allocmon.flush() == allocmon.FLUSH_OK
held = allocmon.snapshot()["devices"]
assert [d["memory"]["DRAM"]["allocated"] for d in held if d["id"] == 3] == [7340032], held
# The package carries its programs: found there, not through PATH's entry points.
assert "/allocmon/bin/allocation_server" in find_binary("allocation_server"), find_binary("allocation_server")
PY
allocation_monitor_client --socket "$sock" --once --plain | grep -q "DRAM" || fail "the monitor's frame"
allocmon-replay <(printf 'alloc a L1 65536 2048 shards=8\n') | grep -q "fits" || fail "allocmon-replay"
echo "pip install: ok ($version)"
