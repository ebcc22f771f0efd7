"""allocmon.server.Server, the helper tests and scripts start servers with."""

import os
import select
import signal
import subprocess
import sys
import tempfile


def test_a_server_ends_when_the_process_that_started_it_is_killed(tmp_path):
    # A script that starts a server, says its pid, then waits to be killed: SIGKILL runs no cleanup of its own.
    socket = os.path.join(tempfile.gettempdir(), f"allocmon-py-{os.getpid()}-orphan.sock")
    script = ("import sys; from allocmon.server import Server\n"
              f"s = Server({socket!r})\n"
              "print(s.process.pid, flush=True)\n"
              "sys.stdin.read()\n")
    starter = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    server_pid = int(starter.stdout.readline())
    server = os.pidfd_open(server_pid)
    try:
        starter.kill()
        starter.wait()
        # The server must end by itself: wait for its pidfd to become readable (it exits), at most 10 s.
        ready, _, _ = select.select([server], [], [], 10)
        assert ready, f"allocation_server {server_pid} outlived the process that started it"
    finally:
        if not select.select([server], [], [], 0)[0]:
            os.kill(server_pid, signal.SIGKILL)
        os.close(server)
