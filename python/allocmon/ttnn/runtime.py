"""ttnn's run-time settings and machine description, as tt-metal's test harness reads them: ttnn.CONFIG and its
helpers, ttnn.database / ttnn.tracer (no report database or op graph is kept here: they stay empty), the cluster
type and fabric configuration of the emulated system, and distributed-environment queries."""

import contextlib as _contextlib
import dataclasses as _dataclasses
import enum as _enum
import json as _json
import os as _os
import pathlib as _pathlib
import types as _types

__all__ = ["Config", "CONFIG", "CONFIG_PATH", "CONFIG_OVERRIDES", "load_config_from_json_file",
           "load_config_from_dictionary", "manage_config", "FabricConfig", "FabricReliabilityMode",
           "FabricTensixConfig", "FabricUDMMode", "FabricManagerMode", "set_fabric_config", "using_distributed_env",
           "get_fabric_config"]


@_dataclasses.dataclass
class Config:
    """ttnn.Config's fields; the emulator reads none of them but keeps what a script sets."""

    cache_path: _pathlib.Path = _pathlib.Path.home() / ".cache" / "ttnn"
    model_cache_path: _pathlib.Path = _pathlib.Path.home() / ".cache" / "ttnn" / "models"
    tmp_dir: _pathlib.Path = _pathlib.Path("/tmp/ttnn")
    enable_model_cache: bool = False
    enable_fast_runtime_mode: bool = True
    throw_exception_on_fallback: bool = False
    enable_logging: bool = False
    enable_graph_report: bool = False
    enable_detailed_buffer_report: bool = False
    enable_detailed_tensor_report: bool = False
    enable_comparison_mode: bool = False
    comparison_mode_should_raise_exception: bool = False
    comparison_mode_pcc: float = 0.9999
    root_report_path: _pathlib.Path = _pathlib.Path("generated/ttnn/reports")
    report_name: str = None
    validate_program_args: bool = True

    def __init__(self, other=None, **fields):
        for field in _dataclasses.fields(Config):
            setattr(self, field.name, getattr(other, field.name) if other is not None else field.default)
        for name, value in fields.items():
            self._set(name, value)

    def _set(self, name, value):
        if name not in {f.name for f in _dataclasses.fields(Config)}:
            raise AttributeError(f"ttnn.Config has no field {name!r}")
        setattr(self, name, value)

    @property
    def report_path(self):
        return None if self.report_name is None else self.root_report_path / self.report_name


CONFIG = Config()
CONFIG_PATH = _os.environ.get("TTNN_CONFIG_PATH")
CONFIG_OVERRIDES = _os.environ.get("TTNN_CONFIG_OVERRIDES")


def _config():
    """ttnn.CONFIG as the script sees it now (tt-metal's conftest assigns ttnn.CONFIG = a saved copy)."""
    import sys

    return getattr(sys.modules[__package__], "CONFIG", CONFIG)


def load_config_from_dictionary(config):
    for name, value in config.items():
        _config()._set(name, value)


def load_config_from_json_file(path):
    with open(path) as f:
        load_config_from_dictionary(_json.load(f))


@_contextlib.contextmanager
def manage_config(name, value):
    config = _config()
    original = getattr(config, name)
    config._set(name, value)
    try:
        yield
    finally:
        config._set(name, original)


class FabricConfig(_enum.Enum):
    DISABLED = 0
    FABRIC_1D = 1
    FABRIC_1D_RING = 2
    FABRIC_2D = 3
    FABRIC_2D_DYNAMIC = 4
    CUSTOM = 5


class FabricReliabilityMode(_enum.Enum):
    STRICT_SYSTEM_HEALTH_SETUP_MODE = 0
    RELAXED_SYSTEM_HEALTH_SETUP_MODE = 1
    DYNAMIC_RECONFIGURATION_SETUP_MODE = 2
    STRICT_INIT = 0


class FabricTensixConfig(_enum.Enum):
    DISABLED = 0
    MUX = 1


class FabricUDMMode(_enum.Enum):
    DISABLED = 0
    ENABLED = 1


class FabricManagerMode(_enum.Enum):
    DEFAULT = 0
    ENABLED = 1
    INIT_FABRIC = 2
    TERMINATE_FABRIC = 3


_fabric = FabricConfig.DISABLED


def set_fabric_config(config, *ignored, **ignored_by_name):
    """Remembered only: fabric (chip-to-chip routing) carries no buffers the emulator allocates."""
    global _fabric
    _fabric = config


def get_fabric_config():
    return _fabric


def using_distributed_env():
    """Never: the emulated system is one host."""
    return False


class _ClusterType(_enum.Enum):
    INVALID = 0
    N150 = 1
    N300 = 2
    T3K = 3
    GALAXY = 4
    TG = 5
    P100 = 6
    P150 = 7
    P150_X2 = 8
    P150_X4 = 9
    SIMULATOR_WORMHOLE_B0 = 10
    N300_2x2 = 11
    BLACKHOLE_GALAXY = 12


def _cluster_type():
    """What tt-metal calls a system of the emulated size and architecture."""
    from .device import get_arch_name, get_num_devices

    n, arch = get_num_devices(), get_arch_name()
    if arch == "blackhole":
        return {1: _ClusterType.P150, 2: _ClusterType.P150_X2, 4: _ClusterType.P150_X4,
                32: _ClusterType.BLACKHOLE_GALAXY}.get(n, _ClusterType.INVALID)
    return {1: _ClusterType.N150, 2: _ClusterType.N300, 8: _ClusterType.T3K,
            32: _ClusterType.GALAXY}.get(n, _ClusterType.INVALID)


cluster = _types.ModuleType("ttnn.cluster", "ttnn.cluster: the kind of system the emulator stands for.")
cluster.ClusterType = _ClusterType
cluster.get_cluster_type = _cluster_type

database = _types.ModuleType("ttnn.database", "ttnn.database: the emulator keeps no report database.")
database.DEVICE_IDS_IN_DATABASE = set()
database.SQLITE_CONNECTION = None

tracer = _types.ModuleType("ttnn.tracer", "ttnn.tracer: no op graph is traced under the emulator.")
tracer.ENABLE_TRACER = False


def _enable_tracing():
    tracer.ENABLE_TRACER = True


def _disable_tracing():
    tracer.ENABLE_TRACER = False


tracer.enable_tracing = _enable_tracing
tracer.disable_tracing = _disable_tracing
tracer.is_tracing_enabled = lambda: tracer.ENABLE_TRACER
