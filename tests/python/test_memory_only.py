"""python3 -m allocmon.emulate --no-data: the same allocation sequence, at the same addresses, as the run with data
(recorded by the server both times and compared event by event), in a fraction of the time."""

import os
import sqlite3
import subprocess
import sys
import tempfile
import time

from allocmon.server import Server

HERE = os.path.dirname(os.path.abspath(__file__))


def recorded_run(tmp_path, name, *flags):
    db = tmp_path / f"{name}.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-memonly-{name}-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=sock)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "allocmon.emulate", *flags,
                                 os.path.join(HERE, "scripts", "model_like.py")],
                                env=env, capture_output=True, text=True, timeout=600)
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stderr
    rows = sqlite3.connect(db).execute(
        "SELECT device, type, kind, size, address, page_size, layout, shard_count FROM events ORDER BY seq").fetchall()
    return rows, result, elapsed


def test_memory_only_run_allocates_exactly_like_the_run_with_data(tmp_path):
    with_data, run_data, seconds_data = recorded_run(tmp_path, "data")
    memory_only, run_memory, seconds_memory = recorded_run(tmp_path, "nodata", "--no-data")
    assert len(with_data) > 1000  # 32 devices, several ops: a real sequence
    assert memory_only == with_data  # every event: device, type, alloc/free, size, address, layout
    assert "result shape (32, 8, 256)" in run_data.stdout and "result shape (32, 8, 256)" in run_memory.stdout
    assert "hold no values; to_torch/to_numpy return zeros" in run_memory.stderr
    assert "hold no values" not in run_data.stderr
    print(f"with data {seconds_data:.1f} s, memory only {seconds_memory:.1f} s")
