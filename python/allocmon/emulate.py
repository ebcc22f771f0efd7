"""Run unmodified ttnn scripts and tests on allocmon's emulated mesh:

    TT_ALLOC_TRACKING_ENABLED=1 python3 -m allocmon.emulate [options] script.py [args]
    TT_ALLOC_TRACKING_ENABLED=1 python3 -m allocmon.emulate [options] -m pytest [pytest args]

`import ttnn` (and ttnn.device, ttnn.distributed, ttnn.model_preprocessing, ...) resolve to allocmon.ttnn;
everything else runs as usual. Under `-m pytest`, tt-metal's fixtures (device, mesh_device, device_params, ...)
come from allocmon.pytest_plugin unless a conftest.py defines them (a tt-metal checkout's own).

Options:
  --mesh-shape RxC  open that mesh wherever the script opens one (e.g. 1x8 instead of its 2x4); mappers that
                    name the script's shape mean the whole mesh
  --arch ARCH       emulate wormhole_b0 (default) or blackhole devices
  --devices N       the emulated system has N devices (default 32, a Galaxy; 8 is a T3000)
  --no-data         memory only: device tensors carry shapes, dtypes, layouts and buffers but no values; ops
                    allocate and free exactly as with data and compute nothing (a Galaxy-sized model's
                    allocation sequence in seconds); to_torch returns zeros
"""

import os
import runpy
import sys

_VALUE_OPTIONS = {"--mesh-shape": "ALLOCMON_MESH_SHAPE", "--arch": "ALLOCMON_ARCH",
                  "--devices": "ALLOCMON_EMULATED_DEVICES"}


def _install_ttnn():
    """`import ttnn` and `import ttnn.<module>` give the facade's modules."""
    from . import ttnn as facade  # noqa: F401 (imports every submodule)

    for name, module in list(sys.modules.items()):
        if name == "allocmon.ttnn" or name.startswith("allocmon.ttnn."):
            sys.modules[name[len("allocmon."):]] = module
    for name in ("device", "distributed", "model_preprocessing", "transformer", "types", "operations", "cluster",
                 "database", "tracer", "_ttnn"):
        sys.modules[f"ttnn.{name}"] = getattr(facade, name)


def _usage_error(message):
    print(f"allocmon.emulate: {message}\n(python3 -m allocmon.emulate --help)", file=sys.stderr)
    return 2


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    while argv and (argv[0] in _VALUE_OPTIONS or argv[0] == "--no-data"):
        if argv[0] == "--no-data":
            os.environ["ALLOCMON_MEMORY_ONLY"] = "1"
            argv = argv[1:]
            continue
        if len(argv) < 2:
            return _usage_error(f"{argv[0]} needs a value")
        if argv[0] == "--devices" and not argv[1].isdigit():
            return _usage_error(f"--devices wants a number of devices, got {argv[1]!r}")
        os.environ[_VALUE_OPTIONS[argv[0]]] = argv[1]
        argv = argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv[0] == "--version":
        from . import __version__

        print(f"allocmon.emulate {__version__}")
        return 0
    if argv[0].startswith("-") and argv[0] != "-m":
        return _usage_error(f"unknown option {argv[0]}")
    # tt-metal's environment names the architecture; its test helpers (tests/scripts/common.py) read it.
    os.environ.setdefault("ARCH_NAME", os.environ.get("ALLOCMON_ARCH", "wormhole_b0"))
    _install_ttnn()
    if argv[0] == "-m":
        if len(argv) < 2:
            return _usage_error("-m needs a module name (e.g. -m pytest)")
        module, rest = argv[1], argv[2:]
        if module == "pytest":
            rest = ["-p", "allocmon.pytest_plugin"] + rest
        sys.argv = [module] + rest
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        return 0
    if not os.path.isfile(argv[0]):
        return _usage_error(f"no such script: {argv[0]}")
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
