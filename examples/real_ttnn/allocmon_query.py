"""The two allocmon queries the real-ttnn scenario needs, over the server's socket in pure Python.

The scenario runs under the ttnn wheel's Python (3.12 or 3.10), which cannot load allocmon's compiled module
(built for the checkout's .venv). The wire format is small and documented (docs/protocol.md): an 8-byte frame
header (type u16, version u16, payload size u32, native byte order), SyncSources (9, an 8-byte token) answered
by FlushAck (100) once every polled source was read after it, and QuerySnapshot (7) answered by SnapshotJson (101).
"""

import json
import socket as _socket
import struct
import time

_HEADER = struct.Struct("=HHI")
_VERSION = 2
SYNC_SOURCES, QUERY_SNAPSHOT, FLUSH_ACK, SNAPSHOT_JSON, ERROR = 9, 7, 100, 101, 103


class QueryError(RuntimeError):
    pass


def _read_exactly(conn, size):
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise QueryError("the allocation server closed the connection")
        data += chunk
    return bytes(data)


def _ask(path, message_type, payload, want, timeout_s):
    with _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        conn.connect(path)
        conn.sendall(_HEADER.pack(message_type, _VERSION, len(payload)) + payload)
        while True:
            kind, _version, size = _HEADER.unpack(_read_exactly(conn, _HEADER.size))
            body = _read_exactly(conn, size)
            if kind == ERROR:
                raise QueryError(f"server error {struct.unpack_from('=I', body)[0]}: {body[4:].decode(errors='replace')}")
            if kind == want:
                return body


def sync_sources(path, timeout_s=10.0):
    """Returns once the server has read tt-metal's regions as they are now (docs/sources.md)."""
    token = time.monotonic_ns() & ((1 << 64) - 1)
    body = _ask(path, SYNC_SOURCES, struct.pack("=Q", token), FLUSH_ACK, timeout_s)
    if struct.unpack("=Q", body)[0] != token:
        raise QueryError("FlushAck with another token")


def snapshot(path, timeout_s=10.0):
    """The server's snapshot (schema allocmon.snapshot/1, docs/snapshot.md) as a dict."""
    return json.loads(_ask(path, QUERY_SNAPSHOT, b"", SNAPSHOT_JSON, timeout_s))


def synced_snapshot(path, timeout_s=10.0):
    sync_sources(path, timeout_s)
    return snapshot(path, timeout_s)


def wait_ready(path, deadline_s=10.0):
    """Polls the query API until the server answers (bounded: raises QueryError after deadline_s)."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            return snapshot(path, timeout_s=1.0)
        except (OSError, QueryError) as error:
            if time.monotonic() > end:
                raise QueryError(f"no allocation server answered on {path} within {deadline_s} s: {error}")
            time.sleep(0.02)


if __name__ == "__main__":  # python3 allocmon_query.py SOCKET [--wait S]: waits for the server, prints a snapshot
    import sys

    if len(sys.argv) == 4 and sys.argv[2] == "--wait":
        wait_ready(sys.argv[1], float(sys.argv[3]))
    print(json.dumps(synced_snapshot(sys.argv[1]), indent=1))
