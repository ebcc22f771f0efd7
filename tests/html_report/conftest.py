"""A recorded T3000 run (2x4 emulated mesh) with scopes, ttnn ops, marks and a tensor leaked each iteration, and
its page from allocmon-report --html: what the data tests and the browser tests read."""

import json
import os
import random
import sqlite3
import re
import subprocess
import tempfile
from dataclasses import dataclass

import pytest

import allocmon
from allocmon.server import Server, find_binary

MARKS = ["weights-loaded", "iter-1", "iter-2", "iter-3"]
LAYERS = 4
LEAKY_LAYER = 2  # its ttnn.add output is kept every iteration


@dataclass
class Run:
    db: str
    html: str
    page: str
    data: dict


def page_data(page):
    """The JSON the page embeds."""
    block = re.search(r'<script type="application/json" id="allocmon-data">(.*?)</script>', page, re.S)
    assert block, "no data block in the page"
    return json.loads(block.group(1))


def write_html(db, html):
    done = subprocess.run([find_binary("allocmon-report"), str(db), "--html", str(html)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"wrote {html}" in done.stdout
    return open(html, encoding="utf-8").read()


def record_t3000_run(db):
    import torch

    from allocmon import ttnn

    sock = os.path.join(tempfile.gettempdir(), f"allocmon-html-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))

        def sharded(*shape):
            return ttnn.from_torch(torch.randn(*shape), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                                   mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=3))

        kept = []
        with allocmon.scope("model"):
            with allocmon.scope("weights"):
                weights = [sharded(1, 1, 1024, 2048) for _ in range(4)]
            allocmon.mark(MARKS[0])
            for i in range(3):
                with allocmon.scope("iter"):
                    x = sharded(1, 1, 512, 1024)
                    for layer in range(LAYERS):
                        with allocmon.scope(f"decoder.{layer}"):
                            y = ttnn.multiply(x, x)
                            z = ttnn.add(y, x)
                            ttnn.deallocate(y)
                            (kept.append if layer == LEAKY_LAYER else ttnn.deallocate)(z)
                    ttnn.deallocate(x)
                allocmon.mark(MARKS[i + 1])
        for t in kept + weights:
            ttnn.deallocate(t)
        ttnn.close_mesh_device(mesh)
        assert allocmon.flush() == allocmon.FLUSH_OK


@pytest.fixture(scope="session")
def t3000_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("t3000")
    db, html = folder / "t3000.sqlite", folder / "t3000.html"
    record_t3000_run(db)
    page = write_html(db, html)
    return Run(str(db), str(html), page, page_data(page))


@dataclass
class BigRun(Run):
    dram_peak: int


@pytest.fixture(scope="session")
def million_run(tmp_path_factory):
    """A million events on 32 devices out of lock-step (random sizes and lifetimes, 400 contexts, a mark every 200
    events), written into a recording the server started (its schema, devices and process)."""
    folder = tmp_path_factory.mktemp("million")
    db, html = folder / "big.sqlite", folder / "big.html"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-html-big-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        for device in range(32):
            allocmon.register_device(device, "wormhole_b0", {"DRAM": 12 << 30, "L1": 1 << 30}, mesh_row=device // 8,
                                     mesh_col=device % 8)
        assert allocmon.flush() == allocmon.FLUSH_OK
        for device in range(32):  # or this process registers them again with the next test's server
            allocmon.unregister_device(device)
        assert allocmon.flush() == allocmon.FLUSH_OK
    conn = sqlite3.connect(db)
    client, pid = conn.execute("SELECT client, pid FROM processes").fetchone()
    conn.executemany("INSERT INTO contexts(id, scope, op, site) VALUES(?,?,?,?)",
                     [(i, f"model/layer.{i % 60}", f"ttnn.op{i % 20}", f"model.py:{i}") for i in range(1, 401)])
    rng = random.Random(7)
    rows, marks, live, t = [], [], [], 1_000_000
    dram_now = dram_peak = 0
    for seq in range(1, 1_000_001):
        t += rng.random() < 0.05
        if live and (rng.random() < 0.5 or len(live) > 5000):
            k = rng.randrange(len(live))
            live[k], live[-1] = live[-1], live[k]
            device, mtype, size, buffer = live.pop()
            rows.append((seq, t, client, pid, device, mtype, "free", size, 0, buffer, None))
            dram_now -= size if mtype == "DRAM" else 0
        else:
            device, mtype = rng.randrange(32), rng.choice(["DRAM", "L1", "CB", "KERNEL"])
            size = rng.choice([2048, 65536, 1 << 20, 3 << 20]) * rng.randint(1, 8)
            live.append((device, mtype, size, seq))
            rows.append((seq, t, client, pid, device, mtype, "alloc", size, seq * 32, seq, rng.randrange(1, 401)))
            dram_now += size if mtype == "DRAM" else 0
            dram_peak = max(dram_peak, dram_now)
        if seq % 200 == 0:
            marks.append((seq, t, client, pid, f"step-{seq // 200}"))
    conn.executemany("INSERT INTO events(seq, time_ms, client, pid, device, type, kind, size, address, buffer_id, "
                     "context) VALUES(?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.executemany("INSERT INTO marks VALUES(?,?,?,?,?)", marks)
    conn.commit()
    conn.close()
    page = write_html(db, html)
    return BigRun(str(db), str(html), page, page_data(page), dram_peak)
