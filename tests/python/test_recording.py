"""allocation_server --record: every applied event in SQLite, reclaims of killed processes included; failures to
write are reported without stopping tracking."""

import os
import signal
import sqlite3
import subprocess
import tempfile

import allocmon
from allocmon.server import Server, find_binary


def test_recording_has_every_event_and_the_reclaims(tmp_path):
    db = tmp_path / "run.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-rec-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        allocmon.register_device(2, "wormhole_b0", {"DRAM": 1 << 30}, 0, 1)
        allocmon.report_alloc(2, "DRAM", 1000, 32, 1)
        allocmon.report_alloc(2, "L1", 64, 128, 2)
        allocmon.report_free(2, 1)
        assert allocmon.flush() == allocmon.FLUSH_OK
        # Another process dies holding a CB buffer: its reclaim is recorded buffer by buffer.
        env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=sock)
        victim = subprocess.Popen([find_binary("allocmon_test_client")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env)
        victim.stdin.write("register 5\nalloc 5 CB 4096 9\nflush\n")
        victim.stdin.flush()
        assert victim.stdout.readline() == "ok\n" and victim.stdout.readline() == "ok\n"
        assert victim.stdout.readline() == "ok 0\n"
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        allocmon.report_free(2, 2)
        allocmon.unregister_device(2)
        assert allocmon.flush() == allocmon.FLUSH_OK
    rows = sqlite3.connect(db).execute(
        "SELECT pid, device, type, kind, size, buffer_id FROM events ORDER BY seq").fetchall()
    me = os.getpid()
    assert rows == [(me, 2, "DRAM", "alloc", 1000, 1), (me, 2, "L1", "alloc", 64, 2), (me, 2, "DRAM", "free", 1000, 1),
                    (victim.pid, 5, "CB", "alloc", 4096, 9), (victim.pid, 5, "CB", "reclaim", 4096, 9),
                    (me, 2, "L1", "free", 64, 2)]
    conn = sqlite3.connect(db)
    processes = dict(conn.execute("SELECT pid, end_ms IS NOT NULL FROM processes").fetchall())
    assert processes[victim.pid] == 1
    assert conn.execute("SELECT device, architecture, mesh_row, mesh_col FROM devices WHERE client IN "
                        "(SELECT client FROM processes WHERE pid=?)", (me,)).fetchall() == [(2, "wormhole_b0", 0, 1)]
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("2",)


def test_recording_keeps_page_size_layout_and_grid_for_replay(tmp_path):
    db = tmp_path / "layout.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-rec4-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        allocmon.register_device(1, "blackhole", {"L1": 1}, grid=(13, 10))
        allocmon.report_alloc(1, "DRAM", 8192, 64, 1, page_size=2048)
        allocmon.report_alloc(1, "L1", 4096, 1000000, 2, page_size=1024, layout="sharded", shard_count=4,
                              bottom_up=True)
        allocmon.report_alloc(1, "CB", 512, 111104, 3)  # no layout given: NULL columns
        allocmon.report_free(1, 1)
        allocmon.report_free(1, 2)
        allocmon.report_free(1, 3)
        allocmon.unregister_device(1)
        assert allocmon.flush() == allocmon.FLUSH_OK
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT buffer_id, page_size, layout, shard_count, direction FROM events "
                        "WHERE kind='alloc' ORDER BY seq").fetchall() == [
        (1, 2048, "interleaved", None, None), (2, 1024, "sharded", 4, "bottom_up"),
        (3, None, "interleaved", None, None)]
    assert conn.execute("SELECT architecture, grid_x, grid_y FROM devices").fetchall() == [("blackhole", 13, 10)]


def test_appending_to_a_schema_1_recording_upgrades_it(tmp_path):
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript("""
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES('schema_version', '1');
        CREATE TABLE processes(client INTEGER PRIMARY KEY, pid INTEGER, uid INTEGER, name TEXT, start_ms INTEGER,
                               end_ms INTEGER);
        CREATE TABLE devices(time_ms INTEGER, client INTEGER, device INTEGER, architecture TEXT, mesh_row INTEGER,
                             mesh_col INTEGER, capacity TEXT);
        CREATE TABLE events(seq INTEGER PRIMARY KEY, time_ms INTEGER, client INTEGER, pid INTEGER, device INTEGER,
                            type TEXT, kind TEXT, size INTEGER, address INTEGER, buffer_id INTEGER);
        INSERT INTO events VALUES(1, 0, 1, 1, 0, 'DRAM', 'alloc', 64, 32, 5);
    """)
    conn.close()
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-rec5-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        allocmon.register_device(0, "wormhole_b0", grid=(8, 8))
        allocmon.report_alloc(0, "DRAM", 2048, 32, 6, page_size=2048)
        allocmon.report_free(0, 6)
        allocmon.unregister_device(0)
        assert allocmon.flush() == allocmon.FLUSH_OK
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT buffer_id, kind, page_size FROM events ORDER BY seq").fetchall() == [
        (5, "alloc", None), (6, "alloc", 2048), (6, "free", None)]
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("2",)


def test_recorded_contexts_name_the_tensor_and_older_recordings_gain_the_column(tmp_path):
    db = tmp_path / "tensors.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-rec6-{os.getpid()}.sock")
    described = "bfloat16 TILE [1, 1, 32, 64] DRAM interleaved, sharded dim 3 over 2"

    def run():
        with Server(sock, extra_args=["--record", str(db)]):
            allocmon.configure(True, sock)
            allocmon.register_device(3, "wormhole_b0", {"DRAM": 1 << 30})
            with allocmon.scope("model"), allocmon.op("ttnn.from_torch", "m.py:1"):
                with allocmon.tensor(described):
                    allocmon.report_alloc(3, "DRAM", 2048, 0, 1)
                allocmon.report_alloc(3, "DRAM", 64, 4096, 2)
            allocmon.report_free(3, 1)
            allocmon.report_free(3, 2)
            allocmon.unregister_device(3)
            assert allocmon.flush() == allocmon.FLUSH_OK

    run()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT e.buffer_id, c.scope, c.op, c.site, c.tensor FROM events e JOIN contexts c "
                        "ON c.id = e.context WHERE e.kind='alloc' ORDER BY e.seq").fetchall() == [
        (1, "model", "ttnn.from_torch", "m.py:1", described), (2, "model", "ttnn.from_torch", "m.py:1", "")]
    # A recording made before tensors (no contexts.tensor): allocmon-report reads it as before, and appending to
    # it adds the column.
    conn.execute("ALTER TABLE contexts DROP COLUMN tensor")
    conn.execute("INSERT INTO marks VALUES(0, 0, 0, 0, 'start')")
    conn.commit()
    conn.close()
    report = find_binary("allocmon-report")
    old = subprocess.run([report, str(db), "--diff", "start", "start"], capture_output=True, text=True)
    assert old.returncode == 0, old.stderr
    run()
    conn = sqlite3.connect(db)
    # The second run's contexts are written above the first's (its server numbers them from 1 again): each run's
    # events keep their own names; the first run's lost their tensor with the dropped column (NULL).
    assert conn.execute("SELECT e.buffer_id, c.scope, c.tensor FROM events e JOIN contexts c ON c.id = e.context "
                        "WHERE e.kind='alloc' ORDER BY e.seq").fetchall() == [
        (1, "model", None), (2, "model", None), (1, "model", described), (2, "model", "")]
    assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT context) FROM events WHERE kind='alloc'").fetchone() == (4, 4)
    new = subprocess.run([report, str(db), "--diff", "start", "start"], capture_output=True, text=True)
    assert new.returncode == 0, new.stderr


def test_unwritable_recording_is_reported_and_tracking_goes_on(tmp_path):
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-rec2-{os.getpid()}.sock")
    log = tmp_path / "server.log"
    with Server(sock, quiet=True, log_path=str(log), extra_args=["--record", "/proc/no/such/dir/run.sqlite"]):
        allocmon.configure(True, sock)
        allocmon.register_device(1)
        allocmon.report_alloc(1, "DRAM", 4096, 0, 1)
        assert allocmon.flush() == allocmon.FLUSH_OK
        assert allocmon.device_bytes(allocmon.snapshot(sock), "DRAM")[1] == 4096
        allocmon.report_free(1, 1)
        allocmon.unregister_device(1)
        allocmon.flush()
    assert "recording disabled; tracking continues" in log.read_text()


def test_recording_that_hits_the_file_size_limit_stops_cleanly(tmp_path):
    db = tmp_path / "small.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-rec3-{os.getpid()}.sock")
    server = subprocess.Popen(["prlimit", "--fsize=300000", find_binary("allocation_server"), "--socket", sock,
                               "--quiet", "--stats-interval", "0", "--record", str(db)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while "listening on" not in server.stdout.readline():
            pass
        env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=sock)
        client = subprocess.run([find_binary("allocmon_test_client")], input="register 0\nbulk 0 50000 1 64\nflush\n",
                                capture_output=True, text=True, env=env, timeout=60)
        assert client.stdout.splitlines()[-1] == "ok 0"
        snap = allocmon.snapshot(sock)  # the server is alive and exact although the recording failed
        assert snap["counters"]["events_applied"] >= 50000
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "recording to" in err and "stopped" in err and "Tracking continues" in err
