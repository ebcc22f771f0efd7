"""Fixtures: every test gets its own allocation_server on a temporary socket, and this process reports to it."""

import os
import tempfile

import pytest

import allocmon
from allocmon.server import Server


@pytest.fixture
def server(tmp_path):
    socket = os.path.join(tempfile.gettempdir(), f"allocmon-py-{os.getpid()}-{tmp_path.name}.sock")
    log = tmp_path / "server.log"
    with Server(socket, quiet=False, log_path=str(log)) as running:
        running.log_path = log
        allocmon.configure(True, socket)
        yield running
        allocmon.flush(2000)


@pytest.fixture
def repo_root():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
