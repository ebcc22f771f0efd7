"""What-if replay from Python: the engine behind `allocmon-replay` (docs/replay.md), results as Python objects.

    result = allocmon.replay("run.sqlite", arch="blackhole")          # a recording, on another architecture
    result = allocmon.replay([("alloc", "a", "L1", 65536, 2048, "shards=4"), ("free", "a")], grid=(4, 4))
    result.fits, result.first_oom, result.peaks["L1"], result.placements["a"]
"""

import os
from dataclasses import dataclass, field
import json as _json

from . import _allocmon


@dataclass
class ReplayResult:
    target: str  # the device replayed on, in words
    lines: list  # one dict per command: line, result (placed, out_of_memory, freed, cb, cb_clash, ...), ...
    summary: dict  # peaks, fragmentation, first failure with the buffers live then (as `--json` prints it)
    text_summary: str  # the same as allocmon-replay prints it
    source: str = ""  # recordings: which process and device
    notes: list = field(default_factory=list)  # what was not replayed, and why

    @property
    def fits(self):
        return self.summary["fits"]

    @property
    def first_oom(self):
        """The first failure: {"line", "message", "live": [buffers live then]}, or None."""
        return self.summary.get("first_oom")

    @property
    def peaks(self):
        return self.summary["peaks"]

    @property
    def placements(self):
        """id -> address of every buffer placed (the last placement for reused ids)."""
        return {r["id"]: r["address"] for r in self.lines if r["result"] == "placed"}


def _command_text(command):
    if isinstance(command, str):
        return command
    return " ".join(str(word) for word in command)


def replay(trace, arch=None, grid=None, l1_small=None, trace_region=None, pid=None, device=None):
    """Replays `trace` on a target and says whether it fits.

    trace: a path (text trace or `allocation_server --record` recording), or a list of commands, each a line of
    the text format or a tuple of its words, e.g. ("alloc", "a", "DRAM", 1048576, 2048).
    arch/grid/l1_small/trace_region override the trace's own target; grid is (x, y). pid/device select from a
    recording. Raises ValueError for bad input (the message names the line).
    """
    grid = tuple(grid) if grid is not None else None
    common = dict(arch=arch or "", grid=grid, l1_small=l1_small, trace_region=trace_region, pid=pid, device=device)
    if isinstance(trace, (str, os.PathLike)):
        raw = _allocmon.replay_run(path=os.fspath(trace), **common)
    else:
        raw = _allocmon.replay_run(text="\n".join(_command_text(c) for c in trace) + "\n", **common)
    return ReplayResult(target=raw["target"], lines=[_json.loads(line) for line in raw["lines"]],
                        summary=_json.loads(raw["summary"]), text_summary=raw["text_summary"],
                        source=raw["source"], notes=list(raw["notes"]))
