"""The metrics endpoint against the real thing: Debian's prometheus scrapes allocation_server, and its query API
must report the exact bytes this process allocated."""

import json
import os
import shutil
import socket as socketlib
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

import allocmon
from allocmon.server import Server


def free_port():
    with socketlib.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_text_format(tmp_path):
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-metrics-{os.getpid()}.sock")
    with Server(sock, extra_args=["--metrics-address", "127.0.0.1:0", "--metrics-processes",
                                        "--metrics-host-label", "rack1-host2"]) as server:
        allocmon.configure(True, sock)
        allocmon.register_device(5, "wormhole_b0", {"DRAM": 1 << 30})
        allocmon.report_alloc(5, "DRAM", 123456, 64, 1)
        assert allocmon.flush() == allocmon.FLUSH_OK
        text = urllib.request.urlopen(server.metrics_url, timeout=10).read().decode()
        allocmon.report_free(5, 1)
        allocmon.unregister_device(5)
        allocmon.flush()
    assert "# TYPE allocmon_device_allocated_bytes gauge" in text
    assert 'allocmon_device_allocated_bytes{device="5",source="allocmon",type="DRAM",host="rack1-host2"} 123456' in text
    assert 'allocmon_device_capacity_bytes{device="5",source="allocmon",type="DRAM",host="rack1-host2"} 1073741824' in text
    with open("/proc/self/comm") as comm:  # "python3" or "python" (a venv's), as the server reads it
        name = comm.read().strip()
    assert f'allocmon_process_allocated_bytes{{pid="{os.getpid()}",name="{name}",source="allocmon",device="5",host="rack1-host2"}} 123456' in text
    assert "# TYPE allocmon_events_applied_total counter" in text
    assert 'allocmon_build_info{version="' in text


def test_prometheus_scrapes_the_exact_bytes(tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.skip("Debian's prometheus binary is missing: run scripts/install-deps.sh")
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-prom-{os.getpid()}.sock")
    with Server(sock, extra_args=["--metrics-address", "127.0.0.1:0"]) as server:
        target = urllib.parse.urlparse(server.metrics_url).netloc
        config = tmp_path / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                          f"  - job_name: allocmon\n    static_configs:\n      - targets: ['{target}']\n")
        port = free_port()
        prom = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            allocmon.configure(True, sock)
            allocmon.register_device(3, "wormhole_b0", {"DRAM": 12 << 30})
            allocmon.report_alloc(3, "DRAM", 104857600, 32, 77)
            assert allocmon.flush() == allocmon.FLUSH_OK
            query = urllib.parse.quote('allocmon_device_allocated_bytes{device="3",type="DRAM"}')
            value, deadline = None, time.monotonic() + 60
            while time.monotonic() < deadline:  # Prometheus scrapes on its own schedule: ask until it has it
                try:
                    reply = json.load(urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/v1/query?query={query}", timeout=5))
                    results = reply["data"]["result"]
                    if results:
                        value = results[0]["value"][1]
                        if value == "104857600":
                            break
                except OSError:
                    pass  # Prometheus still starting
                time.sleep(0.5)
            assert value == "104857600"
        finally:
            prom.terminate()
            prom.wait(timeout=30)
            allocmon.report_free(3, 77)
            allocmon.unregister_device(3)
            allocmon.flush()
