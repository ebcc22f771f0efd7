"""allocmon-report --html: the page is self-contained, and the data it embeds matches the recording (devices,
memory types, scopes, ops, marks, byte peaks, the buffers behind every column), bounded for a million events."""

import json
import os
import re
import sqlite3
import subprocess
import tempfile

from allocmon.server import Server, find_binary
from conftest import LAYERS, MARKS, page_data, write_html


def decode(data, pooled):
    """A pooled run-length array: [value, count, value, count, ...]."""
    runs = data["pool"][pooled]
    values = []
    for value, count in zip(runs[::2], runs[1::2]):
        values += [value] * count
    assert len(values) == data["columns"]
    return values


def recorded_peaks(db):
    """Per (device, type), and per type over all devices summed: the highest bytes, from the events table."""
    conn = sqlite3.connect(db)
    per_device, summed = {}, {}
    now, total = {}, {}
    for device, mtype, kind, size in conn.execute("SELECT device, type, kind, size FROM events ORDER BY seq"):
        delta = size if kind == "alloc" else -size
        now[device, mtype] = now.get((device, mtype), 0) + delta
        total[mtype] = total.get(mtype, 0) + delta
        per_device[device, mtype] = max(per_device.get((device, mtype), 0), now[device, mtype])
        summed[mtype] = max(summed.get(mtype, 0), total[mtype])
    return per_device, summed


def test_the_page_is_self_contained(t3000_run):
    page = t3000_run.page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # Nothing fetched from anywhere: no external script, style, image or font.
    assert not re.search(r"<script[^>]*\ssrc\s*=", page, re.I)
    assert not re.search(r"<link\b", page, re.I)
    assert not re.search(r"""\b(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", page, re.I)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    # One data block, which nothing in the recording can close early.
    assert page.count("</script>") == 3 and page.count('id="allocmon-data"') == 1


def test_the_data_holds_the_mesh_its_types_scopes_ops_and_marks(t3000_run):
    data = t3000_run.data
    assert data["recording"] == "t3000.sqlite" and data["columns"] == 600
    devices = {d["id"]: d for d in data["devices"]}
    assert sorted(devices) == list(range(8))
    # The T3000 layout: 4 0 3 7 / 5 1 2 6.
    layout = {(d["row"], d["col"]): i for i, d in devices.items()}
    assert [layout[0, c] for c in range(4)] == [4, 0, 3, 7] and [layout[1, c] for c in range(4)] == [5, 1, 2, 6]
    conn = sqlite3.connect(t3000_run.db)
    for device, arch, capacity in conn.execute("SELECT device, architecture, capacity FROM devices"):
        assert devices[device]["arch"] == arch == "wormhole_b0"
        assert devices[device]["capacity"] == json.loads(capacity) and capacity.startswith("[1288490")  # 12 GiB
    views = data["views"]
    assert views[0]["device"] is None and [v["device"] for v in views[1:]] == list(range(8))
    assert {"DRAM", "L1", "CB", "KERNEL"} <= set(views[0]["types"])
    scopes, ops = data["groupings"]["scope"], data["groupings"]["op"]
    expected_scopes = {"model/weights", "model/iter"} | {f"model/iter/decoder.{i}" for i in range(LAYERS)}
    assert expected_scopes <= set(scopes), scopes
    assert {"ttnn.from_torch", "ttnn.multiply", "ttnn.add", "ttnn.open_mesh_device"} <= set(ops), ops
    assert scopes[-1] == "other" and ops[-1] == "other"
    recorded = [(name, t) for name, t in conn.execute("SELECT name, time_ms FROM marks ORDER BY rowid")]
    assert [m["name"] for m in data["marks"]] == MARKS == [name for name, _ in recorded]
    assert [m["t_ms"] for m in data["marks"]] == [t - data["start_unix_ms"] for _, t in recorded]
    # Kept: the buffers live at some column's moment (its peak). Which short-lived ones (a circular buffer freed
    # within one column) are live then depends on the run's timing; the buffers behind every column's bytes are
    # checked exactly below.
    limits = data["limits"]
    assert 0 < limits["buffers_kept"] <= limits["buffers_recorded"]


def test_every_peak_is_the_recordings_and_every_stack_adds_up(t3000_run):
    data = t3000_run.data
    per_device, summed = recorded_peaks(t3000_run.db)
    for view in data["views"]:
        for mtype, chart in view["types"].items():
            expected = summed[mtype] if view["device"] is None else per_device[view["device"], mtype]
            total = decode(data, chart["total"])
            assert chart["peak"] == max(total) == expected, (view["device"], mtype)  # no peak lost to columns
            for grouping in ("scope", "op"):
                stacked = [0] * data["columns"]
                for _, pooled in chart[grouping]:
                    stacked = [a + b for a, b in zip(stacked, decode(data, pooled))]
                assert stacked == total, (view["device"], mtype, grouping)
    # A mesh in lock-step: the eight devices' DRAM series are one array in the pool.
    assert len({v["types"]["DRAM"]["total"] for v in data["views"][1:]}) == 1


def test_the_buffers_live_at_each_columns_moment_make_its_bytes(t3000_run):
    data = t3000_run.data
    b = data["buffers"]
    for view in data["views"]:
        for mtype, chart in view["types"].items():
            code = data["types"].index(mtype)
            moments, total = decode(data, chart["moments"]), decode(data, chart["total"])
            for column in range(0, data["columns"], 7):
                m = moments[column]
                live = sum(b["size"][i] for i in range(len(b["size"]))
                           if b["type"][i] == code and (view["device"] is None or b["device"][i] == view["device"])
                           and b["from"][i] <= m < b["to"][i])
                assert live == total[column], (view["device"], mtype, column)
    # What a buffer is: its context names the scope, op and call site of this test's conftest.
    contexts = {tuple(c) for c in data["contexts"]}
    assert any(scope == "model/iter/decoder.2" and op == "ttnn.add" and site.startswith("conftest.py:")
               and tensor.startswith("bfloat16 TILE [") and "over 8" in tensor
               for scope, op, site, tensor in contexts), contexts


def test_a_million_events_give_a_bounded_page(million_run):
    """32 devices out of lock-step, 400 contexts, 500k buffers, 5000 marks: the page stays a size a browser
    opens (test_html_in_chromium.py opens it)."""
    assert len(million_run.page) < 12 << 20, len(million_run.page)
    data = million_run.data
    assert data["events"] == 1_000_000 and data["columns"] == 600 and len(data["devices"]) == 32
    assert data["limits"]["buffers_kept"] == len(data["buffers"]["size"]) <= 60_000
    assert data["limits"]["buffers_recorded"] > 400_000
    assert data["views"][0]["types"]["DRAM"]["peak"] == million_run.dram_peak  # the peak survives 600 columns
    most = data["limits"]["groups"] + 1  # and "other"
    charts = [chart for view in data["views"] for chart in view["types"].values()]
    assert all(len(c["scope"]) <= most and len(c["op"]) <= most for c in charts)
    assert any(len(c["scope"]) == most for c in charts)
    # 1000 of the 5000 marks, evenly chosen, the first and the last among them.
    names = [m["name"] for m in data["marks"]]
    assert data["limits"]["marks_recorded"] == 5000 and len(names) == 1000
    assert names[0] == "step-1" and names[-1] == "step-5000" and len(set(names)) == 1000


def test_devices_read_from_tt_metal_regions_show_totals_without_buffers(tmp_path):
    db = tmp_path / "regions.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-html-r-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        pass
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO devices(time_ms, client, device, architecture, mesh_row, mesh_col, capacity) "
                 "VALUES(1000, 0, 6, 'wormhole_b0', -1, -1, '[12884901888,0,0,0,0,0]')")
    samples = [(1000, 6, "DRAM", 1 << 20), (1100, 6, "DRAM", 5 << 20), (1200, 6, "DRAM", 2 << 20),
               (1300, 6, "L1", 4096)]
    conn.executemany("INSERT INTO samples(time_ms, device, type, bytes, source) VALUES(?,?,?,?,'tt_shm')", samples)
    conn.commit()
    conn.close()
    data = page_data(write_html(db, tmp_path / "regions.html"))
    (device,) = data["devices"]
    assert device["id"] == 6 and device["polled"]
    dram = data["views"][1]["types"]["DRAM"]
    assert dram["peak"] == 5 << 20 and decode(data, dram["total"])[-1] == 2 << 20
    assert [data["groupings"]["scope"][g] for g, _ in dram["scope"]] == ["(tt-metal region totals)"]
    assert data["buffers"]["size"] == []


def test_bad_input_is_named_and_exits_non_zero(tmp_path, t3000_run):
    report = find_binary("allocmon-report")

    def run(*args, cwd=None):
        return subprocess.run([report, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd)

    missing = run(tmp_path / "none.sqlite", "--html", tmp_path / "a.html")
    assert missing.returncode == 1 and "cannot open the recording" in missing.stderr, missing.stderr
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    not_db = run(text, "--html", tmp_path / "b.html")
    assert not_db.returncode == 1 and f"{text} is not an allocmon recording" in not_db.stderr, not_db.stderr
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t(x)").connection.commit()
    not_ours = run(other, "--html", tmp_path / "c.html")
    assert not_ours.returncode == 1 and "is not an allocmon recording" in not_ours.stderr, not_ours.stderr
    assert not any((tmp_path / name).exists() for name in ("a.html", "b.html", "c.html"))
    unwritable = run(t3000_run.db, "--html", tmp_path / "no" / "such" / "dir.html")
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr
    assert "No such file or directory" in unwritable.stderr
    usage = run(t3000_run.db, "--html", tmp_path / "d.html", "--diff", "iter-1", "iter-2")
    assert usage.returncode == 2 and "excludes" in usage.stderr, usage.stderr
    # Without a file name: RUN.html in the current directory, and nothing else written.
    default = run(t3000_run.db, "--html", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert (tmp_path / "t3000.html").exists() and not (tmp_path / "allocmon-report").exists()
    assert page_data((tmp_path / "t3000.html").read_text())["recording"] == "t3000.sqlite"


def test_with_out_the_other_outputs_are_written_too(tmp_path, t3000_run):
    done = subprocess.run([find_binary("allocmon-report"), t3000_run.db, "--html", str(tmp_path / "t.html"), "--out",
                           str(tmp_path / "report")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.html").exists() and (tmp_path / "report" / "summary.txt").exists()
    assert (tmp_path / "report" / "memory.svg").exists() and (tmp_path / "report" / "trace.json").exists()
