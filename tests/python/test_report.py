"""allocmon-report on a recorded run: the Perfetto trace, the summary and the plots match the recording."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import time

import numpy as np

import allocmon
from allocmon.server import Server, find_binary


def test_report_of_a_recorded_mesh_run(tmp_path):
    db = tmp_path / "run.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-report-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        mesh = allocmon.open_mesh(2, 4)
        a = allocmon.from_numpy(np.ones((2, 4, 512, 1024), np.float32), mesh, shard_dims=(0, 1))
        b = allocmon.add(a, a)
        allocmon.deallocate(a)
        allocmon.deallocate(b)
        mesh.close()
        # A process that dies holding memory: a leak in the report.
        env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=sock)
        victim = subprocess.Popen([find_binary("allocmon_test_client")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env)
        victim.stdin.write("register 9\nalloc 9 DRAM 777 1\nflush\n")
        victim.stdin.flush()
        for _ in range(3):
            victim.stdout.readline()
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert allocmon.flush() == allocmon.FLUSH_OK
    out = tmp_path / "report"
    result = subprocess.run([find_binary("allocmon-report"), str(db), "--out", str(out)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr

    # Peaks straight from the recording.
    conn = sqlite3.connect(db)
    peaks = {}
    for device, mtype in conn.execute("SELECT DISTINCT device, type FROM events"):
        running, best = 0, 0
        for kind, size in conn.execute("SELECT kind, size FROM events WHERE device=? AND type=? ORDER BY seq",
                                       (device, mtype)):
            running += size if kind == "alloc" else -size
            best = max(best, running)
        peaks[f"device {device} {mtype}"] = best

    trace = json.loads((out / "trace.json").read_text())
    # Perfetto: each device's tracks grouped under a process of its own, named after the device.
    groups = {}
    for event in trace["traceEvents"]:
        if event["ph"] == "C":
            groups.setdefault(event["pid"], set()).add(event["name"].split(" ")[1])
    assert all(len(devices) == 1 for devices in groups.values()) and len(groups) >= 8, groups
    named = {e["pid"]: e["args"]["name"] for e in trace["traceEvents"] if e.get("name") == "process_name"}
    assert all(named[pid] == f"device {next(iter(d))}" or named[pid].startswith(f"device {next(iter(d))} ")
               for pid, d in groups.items()), named
    counters = {}
    for event in trace["traceEvents"]:
        if event["ph"] == "C":
            counters.setdefault(event["name"], []).append(event["args"]["bytes"])
    assert set(counters) == set(peaks)
    for name, values in counters.items():
        assert max(values) == peaks[name], name  # no peak lost to downsampling
        assert values[-1] == 0, name  # everything was freed or reclaimed by the end
    assert peaks["device 4 DRAM"] == 15466496 + 2 * 1048576  # system buffer + two 1 MiB shards
    instants = [e["name"] for e in trace["traceEvents"] if e["ph"] == "i"]
    assert f"exit allocmon_test_c (pid {victim.pid})" in instants

    summary = (out / "summary.txt").read_text()
    # The mesh's 8 devices peak together on the same buffers: one line for all of them, ids in hex.
    assert f"8 devices (0-7, the same buffers at the same addresses) DRAM: {peaks['device 4 DRAM']} B" in summary
    assert summary.count(" DRAM: ") == 2  # the mesh's line and device 9's
    assert "(pid " in summary and ", buffer 0x" in summary
    assert max(len(line) for line in summary.splitlines()) <= 130, summary  # largest buffers one a line
    peak_lines = summary.split("Peaks:\n")[1].split("\n\n")[0].splitlines()
    firsts = [int(re.match(r"  (?:device (\d+)|\d+ devices \((\d+))", line).group(1) or
                  re.match(r"  (?:device (\d+)|\d+ devices \((\d+))", line).group(2))
              for line in peak_lines if not line.startswith("      ")]
    assert firsts == sorted(firsts), peak_lines  # in device order
    assert f"pid {victim.pid} allocmon_test_c: 1 buffer, 777 B (777 B) on device 9" in summary
    svg = (out / "memory.svg").read_text()
    assert svg.startswith("<svg") and "device 4 (0,0)" in svg and "device 6 (1,3)" in svg
    # Readable: seconds on the time axis, units on the byte axis, the capacity named, a legend of what is drawn.
    assert ">0 s</text>" in svg and " MiB</text>" in svg and "capacity 12.0 GiB" in svg
    legend = re.findall(r'height="11" fill="[^"]+"/><text x="\d+" y="44">(\w+)</text>', svg)
    assert legend == ["DRAM", "L1", "CB", "KERNEL"]
    png = out / "memory.png"
    if png.exists():  # rsvg-convert is installed by scripts/install-deps.sh
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_failures_name_the_path_and_exit_non_zero(tmp_path):
    db = tmp_path / "run.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-report-f-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        allocmon.register_device(3, "wormhole_b0", {"DRAM": 1 << 30})
        allocmon.report_alloc(3, "DRAM", 4096, 0, 1)
        allocmon.report_free(3, 1)
        assert allocmon.flush() == allocmon.FLUSH_OK
    a_file = tmp_path / "not_a_dir"
    a_file.write_text("x")
    for target, why in (("/proc/x", "No such file or directory"), (str(a_file), "Not a directory")):
        result = subprocess.run([find_binary("allocmon-report"), str(db), "--out", target], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 1, result.stdout
        assert f"cannot create the output directory {target}: {why}" in result.stderr
        assert "wrote" not in result.stdout
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    (read_only / "summary.txt").mkdir()  # a directory where a file must go: cannot be written, even as root
    result = subprocess.run([find_binary("allocmon-report"), str(db), "--out", str(read_only)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert f"cannot write {read_only}/summary.txt: Is a directory" in result.stderr


def test_a_recording_cut_by_a_killed_server_names_the_processes_still_running(tmp_path):
    db = tmp_path / "cut.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-report-cut-{os.getpid()}.sock")
    env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=sock)
    with Server(sock, extra_args=["--record", str(db)]) as server:
        running = subprocess.Popen([find_binary("allocmon_test_client")], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True, env=env)
        running.stdin.write("register 5\nalloc 5 DRAM 4096 1\nalloc 5 L1 2048 2\nflush\n")
        running.stdin.flush()
        for _ in range(4):
            running.stdout.readline()
        for _ in range(200):  # the recorder writes on its own thread: until both allocations are in the file
            try:
                with sqlite3.connect(db) as conn:
                    if conn.execute("SELECT COUNT(*) FROM events WHERE kind='alloc'").fetchone()[0] >= 2:
                        break
            except sqlite3.OperationalError:
                pass  # not created or locked yet
            time.sleep(0.05)
        server.process.send_signal(signal.SIGKILL)  # the recording ends while the process still runs
        server.process.wait()
    running.kill()
    running.wait()
    result = subprocess.run([find_binary("allocmon-report"), str(db), "--out", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "r" / "summary.txt").read_text()
    assert "Leaks (buffers still live when their process ended):\n  none among the processes that ended" in summary
    assert re.search(r"Still running when the recording ended .*\n  pid \d+ \S+: 2 buffers, 6144 B .* on device 5",
                     summary), summary


def test_an_empty_recording_says_no_data(tmp_path):
    db = tmp_path / "empty.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-report-empty-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        pass
    result = subprocess.run([find_binary("allocmon-report"), str(db), "--out", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "r" / "memory.svg").read_text()
    assert "no data" in svg
    width = int(re.search(r'<svg [^>]*width="(\d+)"', svg).group(1))
    title = re.search(r'font-size="15">([^<]*)<', svg).group(1)
    assert width >= 620 and len(title) * 8 < width  # the title fits (15 px text: under 8 px a character)


def test_shared_scale_puts_every_device_on_one_byte_axis(tmp_path):
    """Issue 24: 32 panels each on their own y scale cannot be compared at a glance; --shared-scale gives every
    device's off-chip chart the same axis (here 100 MiB and 1 MiB devices)."""
    import re

    db = tmp_path / "run.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-report-shared-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        for device in (20, 21):
            allocmon.register_device(device, "wormhole_b0", {"DRAM": 12 << 30})
        allocmon.report_alloc(20, "DRAM", 100 << 20, 0, 1)
        allocmon.report_alloc(21, "DRAM", 1 << 20, 0, 2)
        assert allocmon.flush() == allocmon.FLUSH_OK
        allocmon.report_free(20, 1)
        allocmon.report_free(21, 2)
        for device in (20, 21):
            allocmon.unregister_device(device)
        assert allocmon.flush() == allocmon.FLUSH_OK

    def top_ticks(*flags):
        out = tmp_path / ("shared" if flags else "own")
        done = subprocess.run([find_binary("allocmon-report"), str(db), "--out", str(out), *flags],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        svg = (out / "memory.svg").read_text()
        # Each device's panel starts with its bold title; its off-chip chart's last tick label is the top.
        tops = {}
        for panel in svg.split('font-weight="bold">device ')[1:]:
            device = int(panel.split()[0])
            labels = re.findall(r'text-anchor="end" font-size="9">([^<]+)<', panel)
            first_chart = labels[:labels.index("0 B", 1)] if "0 B" in labels[1:] else labels
            tops[device] = first_chart[-1]
        return tops[20], tops[21]

    own = top_ticks()
    shared = top_ticks("--shared-scale")
    assert own[0] != own[1], own  # each on its own scale: 100 MiB vs 1 MiB
    assert shared[0] == shared[1], shared  # one scale for both
