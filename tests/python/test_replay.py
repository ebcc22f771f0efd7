"""What-if replay of recorded runs: the seed's mesh scenario recorded by the server replays to the live run's
addresses and peaks on every device; the Python API gives the same engine's results as objects."""

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

import pytest
import torch

import allocmon
from allocmon.server import Server, find_binary

T3000_IDS = [4, 0, 3, 7, 5, 1, 2, 6]


def replay_cli(*args):
    result = subprocess.run([find_binary("allocmon-replay"), *map(str, args)], capture_output=True, text=True,
                            timeout=120)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def seed_recording(tmp_path_factory, repo_root_module):
    """The seed's mesh scenario, run as a user runs it, against a server that records; the live peaks per
    device and type from the server at the end."""
    db = tmp_path_factory.mktemp("seed") / "seed.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-replay-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=sock)
        run = subprocess.run([sys.executable, os.path.join(repo_root_module, "examples", "test_mesh_allocation.py")],
                             env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        snap = allocmon.snapshot(sock)
    live_peaks = {d["id"]: {t: m["peak"] for t, m in d["memory"].items()} for d in snap["devices"]}
    return db, live_peaks


@pytest.fixture(scope="module")
def repo_root_module():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_recorded_seed_scenario_replays_to_the_live_addresses_and_peaks(seed_recording):
    db, live_peaks = seed_recording
    assert sorted(live_peaks) == sorted(T3000_IDS)
    code, out, _ = replay_cli(db, "--list")  # the mesh's devices as a range, not in the order first used
    assert code == 0 and out.rstrip().endswith(" allocations on devices 0-7"), out
    recorded = sqlite3.connect(db)
    for device in T3000_IDS:
        code, out, err = replay_cli(db, "--device", device, "--json")
        assert code == 0, err
        rows = [json.loads(line) for line in out.splitlines()]
        assert f"device {device} (wormhole_b0, 8x8)" in rows[0]["source"]
        placed = [r for r in rows[1:-1] if r.get("result") == "placed"]
        # The live run's own addresses, straight from the recording, in order.
        live = recorded.execute("SELECT buffer_id, address FROM events WHERE device=? AND kind='alloc' AND "
                                "type IN ('DRAM','L1','L1_SMALL','TRACE') ORDER BY seq", (device,)).fetchall()
        assert [(int(r["id"]), r["address"]) for r in placed] == live
        assert len(live) >= 8  # system buffers, three 100 MiB tensors, the add and matmul outputs
        summary = rows[-1]
        assert summary["fits"] and summary["out_of_memory"] == 0 and summary["cb_clashes"] == 0
        assert summary["recorded_addresses"] == {"checked": len(live), "matched": len(live)}
        for memory_type in ("DRAM", "L1"):
            assert summary["peaks"][memory_type]["requested"] == live_peaks[device][memory_type], memory_type
        assert summary["peak_cb_per_core"]["bytes"] == live_peaks[device]["CB"]
        assert any("KERNEL" in note for note in summary["notes"])  # said, not silently dropped


def test_recording_replayed_on_blackhole_and_a_small_grid(seed_recording):
    db, live_peaks = seed_recording
    code, out, _ = replay_cli(db, "--arch", "blackhole")
    assert code == 0
    assert "Summary for blackhole (grid 13x10, 130 L1 banks, 8 DRAM banks" in out
    assert "recorded addresses reproduced" not in out  # another target: differences are the point
    assert "a mesh in lock-step" in out
    code, out, _ = replay_cli(db, "--compare", "wormhole_b0:2x2")
    assert code == 0 and out.count("result: fits") == 2


def test_python_api_replays_a_recording_like_the_cli(seed_recording):
    db, live_peaks = seed_recording
    result = allocmon.replay(db, device=5)
    assert result.fits
    assert result.peaks["DRAM"]["requested"] == live_peaks[5]["DRAM"]
    assert result.summary["recorded_addresses"]["matched"] == result.summary["recorded_addresses"]["checked"]
    assert "device 5" in result.source
    code, out, _ = replay_cli(db, "--device", 5)
    assert result.text_summary in out


def test_python_api_replays_a_list_of_commands():
    result = allocmon.replay([("alloc", "keep", "L1", 8388608, 2048), "alloc huge L1 134217728 2048",
                              ("alloc", "s", "L1", 65536, 2048, "shards=4"), ("free", "huge")], grid=(8, 8))
    assert not result.fits
    assert result.lines[0]["address"] == 1499136 - 131072
    assert result.lines[1]["result"] == "out_of_memory"
    assert result.first_oom["message"].startswith("Out of Memory: Not enough space to allocate 134217728 B L1")
    assert [b["id"] for b in result.first_oom["live"]] == ["keep"]
    assert result.placements["s"] == 1499136 - 131072 - 16384
    assert result.lines[2]["banks"] == 4
    assert result.lines[3]["result"] == "skipped_free"
    with pytest.raises(ValueError, match="line 1: unknown buffer type 'HBM'"):
        allocmon.replay(["alloc a HBM 64 64"])
    with pytest.raises(ValueError, match="unknown architecture"):
        allocmon.replay(["alloc a L1 64 64"], arch="grayskull")


def test_several_processes_need_a_choice_and_old_recordings_replay_with_a_note(tmp_path):
    db = tmp_path / "two.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-replay2-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        allocmon.register_device(0, "wormhole_b0", grid=(8, 8))
        allocmon.report_alloc(0, "DRAM", 1048576, 32, 1, page_size=2048)
        assert allocmon.flush() == allocmon.FLUSH_OK
        env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=sock)
        other = subprocess.run([find_binary("allocmon_test_client")],
                               input="register 0\nalloc 0 DRAM 4096 64 7\nflush\n",
                               capture_output=True, text=True, env=env, timeout=60)
        assert other.stdout.splitlines()[-1] == "ok 0"
        allocmon.report_free(0, 1)
        allocmon.unregister_device(0)
        assert allocmon.flush() == allocmon.FLUSH_OK
    code, _, err = replay_cli(db)
    assert code == 1
    assert "2 processes allocated in" in err and "choose one with --pid" in err and f"pid {os.getpid()}" in err
    code, out, _ = replay_cli(db, "--list")
    assert code == 0 and out.splitlines()[0].startswith(f"pid {os.getpid()} (") and len(out.splitlines()) == 2
    assert out.splitlines()[0].endswith("): 1 allocation on device 0")
    code, out, _ = replay_cli(db, "--pid", os.getpid())
    assert code == 0
    assert "alloc 1 DRAM 1048576 -> address 32 (88064 B in each of 12 banks)" in out
    assert "alloc 7" not in out  # the other process's buffer is not part of this replay
    # The test client reports without a page size, as a version-1 client would: replayed, and said so.
    code, out, _ = replay_cli(db, "--pid", _pid_of(db, exclude=os.getpid()))
    assert code == 0
    assert "[page size unknown: spread evenly]" in out and "page size unknown for 1 allocation(s)" in out


def _pid_of(db, exclude):
    pids = [p for (p,) in sqlite3.connect(db).execute("SELECT DISTINCT pid FROM events") if p != exclude]
    assert len(pids) == 1
    return pids[0]


def test_sqlite_files_that_are_not_recordings_are_refused_clearly(tmp_path):
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t(x)").connection.commit()
    code, _, err = replay_cli(other)
    assert code == 1 and "is an SQLite file but not an allocmon recording" in err
    empty = tmp_path / "empty.sqlite"
    conn = sqlite3.connect(empty)
    conn.executescript("CREATE TABLE events(seq INTEGER PRIMARY KEY, time_ms, client, pid, device, type, kind, size, "
                       "address, buffer_id); CREATE TABLE devices(x); CREATE TABLE processes(client, pid, name, "
                       "start_ms);")
    conn.commit()
    code, _, err = replay_cli(empty)
    assert code == 1 and "has no allocations recorded" in err
    code, _, err = replay_cli(tmp_path / "missing.sqlite")
    assert code == 1 and "cannot read" in err


def test_sharded_ttnn_run_records_its_layouts_and_replays_exactly(tmp_path):
    from allocmon import ttnn

    db = tmp_path / "sharded.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-replay3-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        mesh = ttnn.open_mesh_device(ttnn.MeshShape(1, 2))
        config = ttnn.create_sharded_memory_config((1, 1, 1024, 256), ttnn.CoreGrid(y=2, x=4),
                                                   ttnn.ShardStrategy.HEIGHT)
        t = ttnn.from_torch(torch.ones(1, 1, 1024, 256), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                            device=mesh, memory_config=config)
        ttnn.deallocate(ttnn.add(t, t))
        ttnn.deallocate(t)
        ttnn.close_mesh_device(mesh)
        assert allocmon.flush() == allocmon.FLUSH_OK
    rows = sqlite3.connect(db).execute("SELECT page_size, layout, shard_count FROM events WHERE kind='alloc' AND "
                                       "type='L1' AND device=0 ORDER BY seq").fetchall()
    assert rows == [(2048, "interleaved", None), (2048, "sharded", 8), (2048, "sharded", 8)]  # system buffer first
    result = allocmon.replay(db)
    assert result.fits
    assert result.summary["recorded_addresses"]["matched"] == result.summary["recorded_addresses"]["checked"] == 4
    sharded = [r for r in result.lines if r.get("shards") == 8]
    assert [r["banks"] for r in sharded] == [8, 8] and sharded[0]["bytes_per_bank"] == 65536
    # The same run on a 2x2 grid: 8 shards cannot go on 4 cores.
    small = allocmon.replay(db, grid=(2, 2))
    assert not small.fits
    assert small.first_oom["message"] == "a L1 buffer sharded over 8 cores, but there are only 4 L1 banks"


def test_readme_compare_example_reports_the_first_oom_and_the_buffers_live_then(repo_root_module):
    code, out, _ = replay_cli(os.path.join(repo_root_module, "examples", "replay", "conv_l1.trace"),
                              "--compare", "wormhole_b0:4x4")
    assert code == 3  # fits on A, not on B
    a, b = out.split("\nA: ")[1].split("\nB: ")
    assert "grid 8x8" in a and "result: fits" in a
    assert "grid 4x4" in b
    assert "result: DOES NOT FIT (1 allocation(s) out of memory, 0 CB clash(es)); first at line 14: " \
        "Out of Memory: Not enough space to allocate 33554432 B L1 buffer across 16 banks" in b
    assert "live at the first failure (5 buffers):\n    act0 (DRAM, 1048576 B, line 4)\n    next (DRAM, 4096 B, line 5)\n" \
        "    weights (L1, 65536 B, line 6)\n    partial (L1, 8388608 B, line 9)\n    halo (L1, 65536 B, line 10)\n" in b
    # Columns named after their targets, addresses in hex, cells apart however long.
    assert out.splitlines()[0].split() == ["line", "command", "A:", "wormhole_b0", "8x8", "B:", "wormhole_b0", "4x4"]
    assert re.search(r"^L14 +alloc big L1 33554432 +@0xbb800 +OUT OF MEMORY$", out, re.M)
    assert re.search(r"^L8 +stats L1 +largest free 1327840, free 1327840  +largest free 1129184", out, re.M)


def test_compare_says_why_it_refuses(tmp_path, repo_root_module):
    trace = os.path.join(repo_root_module, "examples", "replay", "conv_l1.trace")
    code, _, err = replay_cli(trace, "--grid", "100x100")
    assert code == 2 and "does not fit wormhole_b0's worker grid of 8x8" in err
    code, _, err = replay_cli(trace, "--compare", "blackhole:100x100")
    assert code == 2 and "--compare: grid 100x100 does not fit blackhole" in err
    code, _, err = replay_cli(str(tmp_path / "missing.trace"))
    assert code == 1 and "No such file or directory" in err
