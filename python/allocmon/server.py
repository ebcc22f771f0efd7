"""Start and stop an allocation_server from Python (tests, examples, the demo)."""

import ctypes
import os
import shutil
import signal
import subprocess


def find_binary(name, search_path=True):
    """The allocmon program `name`: $ALLOCMON_BIN_DIR, the programs this package carries (pip install .), the
    build tree it sits in (build/python/allocmon), the prefix it was installed to (prefix/bin beside
    prefix/lib/python3/dist-packages/allocmon), then PATH unless search_path is False."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(here, "bin", name),
        os.path.join(here, "..", "..", name),
        os.path.join(here, "..", "..", "..", "..", "bin", name),
    ]
    if os.environ.get("ALLOCMON_BIN_DIR"):
        candidates.insert(0, os.path.join(os.environ["ALLOCMON_BIN_DIR"], name))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    found = shutil.which(name) if search_path else None
    if found:
        return found
    raise FileNotFoundError(f"{name} not found: build allocmon (scripts/build.sh), pip install it, or set "
                            "ALLOCMON_BIN_DIR")


_libc = ctypes.CDLL(None)


def _end_with_parent():
    """In the server's child process before exec: SIGTERM when the process that started it dies, so a crashed
    test or script never leaves a server behind (Linux's PR_SET_PDEATHSIG)."""
    _libc.prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG


class Server:
    """An allocation_server on `socket`; ready when the constructor returns (it waits for the listening line)."""

    def __init__(self, socket, quiet=True, log_path=None, stats_interval=0, extra_args=(), machine_sources=False):
        """machine_sources=False keeps this machine's own /dev/shm regions, /proc scans and GPUs out of what the
        server shows (tests and examples see only what they report); True reads them as a real server does."""
        args = [find_binary("allocation_server"), "--socket", socket, "--stats-interval", str(stats_interval)]
        if quiet:
            args.append("--quiet")
        if not machine_sources and not any(a in ("--tt-shm-dir", "--proc-root") for a in extra_args):
            args += ["--clients-only"]
        args += list(extra_args)
        self.socket = socket
        self.metrics_url = None
        self._log = open(log_path, "w") if log_path else None
        self._pump = None
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, bufsize=1,
                                        preexec_fn=_end_with_parent)
        while True:  # start-up lines, up to the one that says it is ready
            line = self.process.stdout.readline()
            if self._log:
                self._log.write(line)
            if " metrics on " in line:
                self.metrics_url = line.split(" metrics on ", 1)[1].strip()
            if "listening on" in line:
                break
            if not line:
                self.stop()
                raise RuntimeError("allocation_server did not start")
        if self._log:
            import threading

            self._pump = threading.Thread(target=self._copy_log, daemon=True)
            self._pump.start()

    def _copy_log(self):
        for line in self.process.stdout:
            self._log.write(line)
            self._log.flush()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._pump:
            self._pump.join(timeout=5)
        if self._log:
            self._log.close()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
