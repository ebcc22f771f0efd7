"""`python3 -m allocmon.emulate -m pytest` runs tt-metal-style test files on the emulated mesh, and the server sees
their memory: every device of every mesh the fixtures open, and all of it freed by the end."""

import os
import subprocess
import sys


def test_ttnn_style_tests_under_emulate_report_their_memory(repo_root, server):
    env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=server.socket)
    tests = os.path.join(repo_root, "tests", "ttnn_style")
    result = subprocess.run([sys.executable, "-m", "allocmon.emulate", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             tests], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 passed" in result.stdout
    server.stop()
    log = server.log_path.read_text()
    for device in (0, 7, 31):  # single devices, the 2x4 mesh, the 4x8 Galaxy mesh
        assert f"on device {device} " in log
    assert "of L1 on device 0" in log  # test_linear_with_bias_in_l1's L1 tensors
    assert "Active allocations: 0" in log


def test_emulate_usage_errors_exit_2():
    for args, message in ((["-m"], "-m needs a module name"), (["--devices", "many", "x.py"], "--devices wants"),
                          (["--bogus"], "unknown option --bogus"), (["missing.py"], "no such script: missing.py")):
        result = subprocess.run([sys.executable, "-m", "allocmon.emulate", *args], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
