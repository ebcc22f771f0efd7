#!/usr/bin/env bash
# Runs COMMAND with the real ttnn (tt-metal) on a mock cluster, in a private mount namespace whose /dev/shm is a
# fresh tmpfs, with an allocation_server in the same namespace reading the regions tt-metal writes there
# (tt_device_<asic id>_memory). The machine's own /dev/shm is never read or written. Needs root (unshare -m).
#
#   examples/real_ttnn/run_in_private_shm.sh [--cluster t3k_2x4|n150] [--no-server] COMMAND [ARGS...]
#
# COMMAND sees: TT_METAL_MOCK_CLUSTER_DESC_PATH (the mock cluster, from scripts/real-ttnn-env.sh),
# ALLOCMON_REAL_TTNN_SOCKET (the server's socket), ALLOCMON_BIN_DIR (the build's programs), OMPI_MCA_btl=self
# (tt-metal's bundled OpenMPI otherwise leaves a 16 MiB sm_segment file in /dev/shm), and TT_METAL_CACHE /
# TT_METAL_LOGS_PATH in a temporary folder, TT_LOGGER_LEVEL=warn and LOGURU_LEVEL=INFO unless set.
# Exit status: COMMAND's; 70 when the namespace or server fails.
set -euo pipefail
root=$(realpath "$(dirname "$0")/../..")
if [ "${ALLOCMON_IN_PRIVATE_SHM:-}" != 1 ]; then
  cluster=t3k_2x4 server=1
  while [ $# -gt 0 ]; do
    case $1 in
      --cluster) cluster=$2; shift 2 ;;
      --no-server) server=0; shift ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
  venv=$(realpath -m "${ALLOCMON_TTNN_VENV:-$root/.venv-ttnn}")
  desc=$venv/allocmon-mock/$cluster.yaml
  [ -f "$desc" ] || { echo "run_in_private_shm: $desc missing: run scripts/real-ttnn-env.sh" >&2; exit 70; }
  build=$(realpath -m "${ALLOCMON_BUILD_DIR:-$root/build}")
  [ "$server" = 0 ] || [ -x "$build/allocation_server" ] ||
    { echo "run_in_private_shm: $build/allocation_server missing: run scripts/build.sh" >&2; exit 70; }
  work=$(mktemp -d /tmp/allocmon-real-ttnn-XXXX)
  trap 'rm -rf "$work"' EXIT
  export ALLOCMON_IN_PRIVATE_SHM=1 ALLOCMON_RT_SERVER=$server ALLOCMON_RT_WORK=$work ALLOCMON_BIN_DIR=$build
  export TT_METAL_MOCK_CLUSTER_DESC_PATH=$desc OMPI_MCA_btl=self
  export TT_METAL_CACHE=${TT_METAL_CACHE:-$work/cache/} TT_METAL_LOGS_PATH=${TT_METAL_LOGS_PATH:-$work/logs}
  export ALLOCMON_REAL_TTNN_SOCKET=$work/server.sock
  # tt-metal's own log: warnings and up (its info lines are hundreds of UMD/fabric lines); ttnn's Python log: INFO.
  export TT_LOGGER_LEVEL=${TT_LOGGER_LEVEL:-warn} LOGURU_LEVEL=${LOGURU_LEVEL:-INFO}
  status=0
  unshare -m --propagation private "$0" "$@" || status=$?
  exit $status
fi

# Inside the namespace.
mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm || { echo "run_in_private_shm: cannot mount a tmpfs on /dev/shm" >&2; exit 70; }
if [ -n "$(ls -A /dev/shm)" ]; then echo "run_in_private_shm: the private /dev/shm is not empty" >&2; exit 70; fi
server_pid=
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap stop_server EXIT
if [ "$ALLOCMON_RT_SERVER" = 1 ]; then
  "$ALLOCMON_BIN_DIR/allocation_server" --socket "$ALLOCMON_REAL_TTNN_SOCKET" --tt-shm-dir /dev/shm \
    --tt-arch wormhole_b0 --poll-interval 50 --no-device-holders --no-drm-fdinfo --stats-interval 0 \
    >"$ALLOCMON_RT_WORK/server.log" 2>&1 &
  server_pid=$!
  # Ready when its query API answers (bounded: 10 s).
  ok=0
  for _ in $(seq 500); do
    if "$ALLOCMON_BIN_DIR/allocation_monitor_client" --json --socket "$ALLOCMON_REAL_TTNN_SOCKET" >/dev/null 2>&1; then
      ok=1; break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.02
  done
  if [ $ok = 0 ]; then
    echo "run_in_private_shm: the allocation server did not answer within 10 s:" >&2
    cat "$ALLOCMON_RT_WORK/server.log" >&2
    exit 70
  fi
fi
status=0
"$@" || status=$?
stop_server
if [ $status != 0 ] && [ -s "$ALLOCMON_RT_WORK/server.log" ]; then
  echo "== allocation_server's log (last 20 lines):" >&2
  tail -20 "$ALLOCMON_RT_WORK/server.log" >&2
fi
exit $status
