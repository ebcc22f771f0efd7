"""A recorded T3000 run (2x4 emulated mesh) with scopes, ttnn ops, marks and a tensor leaked each iteration, and
its page from allocmon-report --html: what the data tests and the browser tests read."""

import json
import os
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
