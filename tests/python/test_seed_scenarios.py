"""The seed's scenario scripts, run as a user runs them, against a real server."""

import os
import subprocess
import sys


def run_example(repo_root, server, name, *args, env_extra=None):
    env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=server.socket)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, os.path.join(repo_root, "examples", name), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_mesh_allocation_scenario_passes_and_server_logs_all_eight_devices(repo_root, server):
    result = run_example(repo_root, server, "test_mesh_allocation.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED: all memory checks passed" in result.stdout
    for step in range(1, 7):
        assert f"[Step {step}]" in result.stdout
    server.stop()
    log = server.log_path.read_text()
    for device in range(8):
        assert f"Allocated 104857600 bytes of DRAM on device {device} " in log
        assert f"on device {device} (104857600 bytes)" in log  # its free
    assert "Active allocations: 0" in log


def test_not_enough_devices_is_a_clear_failure(repo_root, server):
    result = run_example(repo_root, server, "test_mesh_allocation.py", env_extra={"ALLOCMON_EMULATED_DEVICES": "4"})
    assert result.returncode == 1
    assert "Not enough devices: requested 8, system has 4" in result.stdout


def test_tracking_on_without_server_warns_once_and_runs(repo_root, server, tmp_path):
    env = {"TT_ALLOC_SERVER_SOCKET": str(tmp_path / "nobody.sock")}
    result = run_example(repo_root, server, "test_mesh_allocation.py", "--mib-per-device", "4",
                         "--socket", str(tmp_path / "nobody.sock"), env_extra=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.count("no allocation server answers") == 1
    assert "memory checks skipped" in result.stdout


def test_single_device_scenario(repo_root, server):
    result = run_example(repo_root, server, "test_ttnn_allocations.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("✓") == 5 and "PASSED" in result.stdout


def test_persistent_memory_scenario(repo_root, server):
    result = run_example(repo_root, server, "test_persistent_memory.py", "--seconds", "1.5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "✗" not in result.stdout
    assert result.stdout.count("✓") >= 3


def test_cpp_scenarios(server):
    from allocmon.server import find_binary

    env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1")
    for name, checks in (("test_tracking_cpp", 3), ("test_mesh_allocation_cpp", 6)):
        result = subprocess.run([find_binary(name), "--socket", server.socket], env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("✓") == checks, result.stdout
        assert result.stdout.rstrip().endswith("PASSED")
