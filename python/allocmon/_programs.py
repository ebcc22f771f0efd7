"""Console entry points of an installed allocmon (pip install .): each runs the program of the same name that the
package carries (allocmon/bin), or the one allocmon.server.find_binary finds, with the same arguments."""

import os
import sys

from .server import find_binary


def _run(name):
    try:
        path = find_binary(name, search_path=False)  # on PATH is this entry point itself
    except FileNotFoundError as error:
        sys.stderr.write(f"{error}\n")
        return 127
    os.execv(path, [name] + sys.argv[1:])


def allocation_server():
    return _run("allocation_server")


def allocation_monitor_client():
    return _run("allocation_monitor_client")


def allocmon_replay():
    return _run("allocmon-replay")


def allocmon_report():
    return _run("allocmon-report")
