"""Four hosts through a real Prometheus (issue: clusters): four allocation servers, each with its own host label
and an emulated 4x8 Galaxy workload, scraped by Debian's prometheus with allocmon's rules loaded. Checks that every
dashboard and rule expression returns data, that the alerts fire, and the monitor's cluster view in tmux."""

import json
import os
import re
import shutil
import socket as socketlib
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from allocmon.server import Server, find_binary

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RULES = os.path.join(REPO, "deploy", "prometheus", "allocmon-rules.yml")
DASHBOARDS = os.path.join(REPO, "deploy", "grafana", "dashboards")
HOSTS = ["galaxy-a", "galaxy-b", "galaxy-c", "galaxy-d"]
FULL_HOST = "galaxy-d"  # its workload fills 95 % of every chip's DRAM: above the alert threshold
STOPPED_HOST = "galaxy-b"
SHM_HOST = "galaxy-c"  # its server also reads tt-metal's regions, where a killed process left 1 chip's bytes


def free_port():
    with socketlib.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, workdir, targets):
        # The shipped rules with their `for:` durations cut to two seconds, so the alerts fire within the test.
        with open(RULES) as f:
            rules = re.sub(r"for: \d+m", "for: 2s", f.read())
        (workdir / "rules.yml").write_text(rules)
        static = "\n".join(f"          - '{t}'" for t in targets)
        (workdir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n"
            f"scrape_configs:\n  - job_name: allocmon\n    static_configs:\n      - targets:\n{static}\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [shutil.which("prometheus"), f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=open(workdir / "prometheus.log", "w"))

    def query(self, expr):
        """The reply's status and result of an instant query (errors included, never raised)."""
        url = f"{self.url}/api/v1/query?query={urllib.parse.quote(expr)}"
        try:
            reply = json.load(urllib.request.urlopen(url, timeout=10))
        except urllib.error.HTTPError as error:
            reply = json.load(error)
        return reply["status"], reply.get("data", {}).get("result", []), reply.get("error")

    def wait_for(self, expr, predicate, what, timeout=90):
        """Ask until `predicate(result)` holds: Prometheus scrapes and evaluates on its own schedule."""
        deadline, result = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                status, result, _ = self.query(expr)
                if status == "success" and predicate(result):
                    return result
            except OSError:
                pass  # still starting
            time.sleep(0.5)
        pytest.fail(f"{what}: {expr} gave {result}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)


class Host:
    """One "host": an allocation server with its host label and a Galaxy workload reporting to it."""

    def __init__(self, name, share, shm_dir=None):
        self.name = name
        self.socket = os.path.join(tempfile.gettempdir(), f"allocmon-cluster-{name}-{os.getpid()}.sock")
        sources = ["--tt-shm-dir", shm_dir, "--no-device-holders", "--no-drm-fdinfo"] if shm_dir else []
        self.server = Server(self.socket, extra_args=["--metrics-address", "127.0.0.1:0", "--metrics-processes",
                                                      "--metrics-host-label", name, *sources])
        self.target = urllib.parse.urlparse(self.server.metrics_url).netloc
        env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=self.socket)
        self.workload = subprocess.Popen(
            [sys.executable, "-m", "allocmon.emulate", "--no-data", os.path.join(HERE, "galaxy_workload.py"),
             str(share)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def wait_ready(self):
        line = self.workload.stdout.readline()
        assert line.strip() == "ready", f"{self.name}'s workload did not start: {line!r}"

    def stop(self):
        if self.workload.poll() is None:
            self.workload.stdin.close()
            self.workload.wait(timeout=60)
        self.server.stop()


def leave_stale_bytes(shm_dir):
    """A tt-metal-like process (the emulator publishing its counters as tt-metal does) killed with its tensor
    still on chip 0: its bytes stay listed in the region, for a process that no longer exists."""
    env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="0", ALLOCMON_EMULATED_TT_SHM_DIR=shm_dir)
    victim = subprocess.Popen([sys.executable, "-m", "allocmon.emulate", "--no-data",
                               os.path.join(HERE, "galaxy_workload.py"), "0.01", "1", "1"],
                              env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert victim.stdout.readline().strip() == "ready"
    victim.kill()
    victim.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if shutil.which("prometheus") is None:
        pytest.fail("Debian's prometheus is missing: run scripts/install-deps.sh")
    shm_dir = str(tmp_path_factory.mktemp("tt-shm"))
    leave_stale_bytes(shm_dir)
    hosts = {name: Host(name, 0.95 if name == FULL_HOST else 0.3, shm_dir if name == SHM_HOST else None)
             for name in HOSTS}
    prometheus = None
    try:
        for host in hosts.values():
            host.wait_ready()
        prometheus = Prometheus(tmp_path_factory.mktemp("prometheus"), [h.target for h in hosts.values()])
        prometheus.hosts = hosts
        # Every chip of every host scraped, with its workload's bytes.
        prometheus.wait_for('count(allocmon_device_allocated_bytes{type="DRAM"} > 0)',
                            lambda r: r and r[0]["value"][1] == "128", "128 chips holding DRAM")
        yield prometheus
    finally:
        if prometheus:
            prometheus.stop()
        for host in hosts.values():
            host.stop()


def rule_expressions():
    """Each rule's expression; an alert's without its threshold (what it watches must exist even when it is not
    firing)."""
    import yaml

    with open(RULES) as f:
        groups = yaml.safe_load(f)["groups"]
    exprs = []
    for group in groups:
        for rule in group["rules"]:
            expr = rule["expr"]
            if "alert" in rule:
                expr = re.split(r"\s(?:>|==|<)\s", expr)[0]
            exprs.append((f"rule {rule.get('record') or rule['alert']}", expr))
    return exprs


def dashboard_expressions():
    exprs = []
    for name in sorted(os.listdir(DASHBOARDS)):
        with open(os.path.join(DASHBOARDS, name)) as f:
            board = json.load(f)
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                exprs.append((f"{name}: {panel['title']}", target["expr"]))
    return exprs


def test_a_chip_over_the_threshold_fires_an_alert(cluster):
    firing = cluster.wait_for('ALERTS{alertname="AllocmonChipMemoryHigh",alertstate="firing"}',
                              lambda r: len(r) == 32, "DRAM alert for every chip of the full host")
    assert {a["metric"]["host"] for a in firing} == {FULL_HOST}
    assert {a["metric"]["type"] for a in firing} == {"DRAM"}
    assert sorted(int(a["metric"]["device"]) for a in firing) == list(range(32))


def test_every_dashboard_and_rule_expression_returns_data(cluster):
    checked = 0
    for where, expr in dashboard_expressions():
        expr = expr.replace("$host", HOSTS[0])
        status, result, error = cluster.query(expr)
        assert status == "success", f"{where}: {expr}: {error}"
        assert result, f"{where}: {expr} returns no series"
        checked += 1
    for where, expr in rule_expressions():
        status, result, error = cluster.query(expr)
        assert status == "success", f"{where}: {expr}: {error}"
        assert result, f"{where}: {expr} returns no series"
        checked += 1
    assert checked >= 30
    # The dashboards' host variable lists the four hosts.
    reply = json.load(urllib.request.urlopen(
        f"{cluster.url}/api/v1/label/host/values?match[]=allocmon_device_info", timeout=10))
    assert reply["data"] == HOSTS


def test_mesh_positions_join_onto_usage(cluster):
    status, result, _ = cluster.query("count by (host) (allocmon_device_info)")
    assert {r["metric"]["host"]: r["value"][1] for r in result} == {h: "32" for h in HOSTS}
    status, result, _ = cluster.query(
        f'device_type:allocmon_used_ratio{{host="{FULL_HOST}",type="DRAM"}} * on (host, device) '
        f'group_left (mesh_row, mesh_col) allocmon_device_info{{host="{FULL_HOST}"}}')
    assert status == "success"
    cells = {(int(r["metric"]["mesh_row"]), int(r["metric"]["mesh_col"])) for r in result}
    assert cells == {(r, c) for r in range(4) for c in range(8)}
    assert all(0.9 < float(r["value"][1]) < 1.0 for r in result)


def test_bytes_of_a_killed_process_fire_the_stale_alert(cluster):
    firing = cluster.wait_for('ALERTS{alertname="AllocmonStaleBytes",alertstate="firing"}',
                              lambda r: len(r) >= 1, "stale-bytes alert")
    assert {(a["metric"]["host"], a["metric"]["device"]) for a in firing} == {(SHM_HOST, "0")}


class Tmux:
    """The monitor's cluster view in a real terminal of a given size (a private tmux server)."""

    def __init__(self, cluster, width, height):
        self.socket = f"allocmon-cluster-{os.getpid()}-{width}x{height}"
        # The terminal's own size, not one inherited through LINES/COLUMNS.
        command = f"env -u LINES -u COLUMNS {find_binary('allocation_monitor_client')} --prometheus {cluster.url} -r 300"
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "monitor", "-x", str(width), "-y",
                        str(height), command], check=True)

    def screen(self):
        return subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p", "-t", "monitor"],
                              capture_output=True, text=True, check=True).stdout

    def wait_for(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)  # the monitor redraws on its own schedule: look again
        pytest.fail(f"{what}; the screen shows:\n{text}")

    def keys(self, *keys):
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", "monitor", *keys], check=True)

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False)


WIDE_CELL = re.compile(r"\b\d{1,2} D +\d+% L +\d+%")
COMPACT_CELL = re.compile(r"\b\d{1,2} +\d+%(?! L)")


def host_lines(text):
    return {m.group(1): m.group(2) for m in re.finditer(r"(galaxy-[a-d]) +(up|DOWN)", text)}


def test_monitor_shows_the_cluster_as_meshes_in_tmux(cluster):
    term = Tmux(cluster, 120, 40)
    try:
        text = term.wait_for(lambda t: len(WIDE_CELL.findall(t)) == 128, "128 chips in wide cells at 120x40")
        assert host_lines(text) == {h: "up" for h in HOSTS}
        assert "4 hosts (0 down)  128 chips" in text
        # the full host's chips are 95 % full, the others 30 %
        assert len(re.findall(r"D +95%", text)) == 32 and len(re.findall(r"D +30%", text)) == 96
    finally:
        term.close()
    term = Tmux(cluster, 80, 24)
    try:
        text = term.wait_for(lambda t: len(COMPACT_CELL.findall(t)) == 128, "128 chips in compact cells at 80x24")
        assert host_lines(text) == {h: "up" for h in HOSTS}
        assert all(len(line) <= 80 for line in text.splitlines())
    finally:
        term.close()


def test_monitor_summary_and_one_hosts_mesh_on_a_small_terminal(cluster):
    term = Tmux(cluster, 70, 16)
    try:
        text = term.wait_for(lambda t: len(host_lines(t)) == 4, "one line per host at 70x16")
        assert not COMPACT_CELL.findall(text)  # no room for 4 meshes: a summary
        term.keys("Down", "Down", "Down", "Enter")  # galaxy-d, the full one
        text = term.wait_for(lambda t: len(COMPACT_CELL.findall(t)) == 32, "galaxy-d's mesh after Enter")
        assert host_lines(text) == {FULL_HOST: "up"}
        assert len(re.findall(r"\b95%", text)) >= 32
        term.keys("Escape")
        term.wait_for(lambda t: len(host_lines(t)) == 4, "back to the summary after Esc")
    finally:
        term.close()


def test_a_stopped_server_fires_an_alert(cluster):
    cluster.hosts[STOPPED_HOST].stop()
    target = cluster.hosts[STOPPED_HOST].target
    firing = cluster.wait_for('ALERTS{alertname="AllocmonServerDown",alertstate="firing"}',
                              lambda r: len(r) == 1, "server-down alert")
    assert firing[0]["metric"]["instance"] == target
    status, result, _ = cluster.query('sum(1 - up{job="allocmon"})')
    assert result[0]["value"][1] == "1"


def test_monitor_marks_the_stopped_host_down_and_keeps_its_chips(cluster):
    term = Tmux(cluster, 120, 40)
    try:
        text = term.wait_for(lambda t: host_lines(t).get(STOPPED_HOST) == "DOWN", "the stopped host marked down")
        assert host_lines(text) == {h: ("DOWN" if h == STOPPED_HOST else "up") for h in HOSTS}
        assert "4 hosts (1 down)  128 chips" in text
        assert len(WIDE_CELL.findall(text)) == 128  # its chips stay, with their last values
    finally:
        term.close()


def test_cluster_json_for_scripts(cluster):
    result = subprocess.run([find_binary("allocation_monitor_client"), "--prometheus", cluster.url, "--json"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "allocmon.cluster/1" and document["chips"] == 128
    hosts = {h["host"]: h for h in document["hosts"]}
    assert sorted(hosts) == HOSTS
    assert not hosts[STOPPED_HOST]["up"] and hosts[FULL_HOST]["up"]
    assert hosts[FULL_HOST]["mesh"] == {"rows": 4, "cols": 8}
    full = hosts[FULL_HOST]["DRAM"]
    assert 0.9 < full["allocated"] / full["capacity"] < 1.0


def test_cluster_usage_errors_exit_2():
    monitor = find_binary("allocation_monitor_client")
    for args, message in ((["--prometheus", "localhost:9090"], "http://HOST:PORT"),
                          (["--prometheus", "http://127.0.0.1:9", "-d", "3"], "--prometheus shows every host")):
        result = subprocess.run([monitor, *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
    # Nothing listening: a runtime failure, with the reason.
    result = subprocess.run([monitor, "--prometheus", f"http://127.0.0.1:{free_port()}", "--once"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "Prometheus at http://127.0.0.1:" in result.stderr
