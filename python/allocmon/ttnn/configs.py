"""Hardware tuning options scripts pass to ops (compute kernel configs, matmul / layernorm / softmax program
configs, math fidelity). The emulated devices accept them; they change how hardware splits and schedules work,
not the values, and the emulation does not model their effect on circular-buffer sizes."""

import enum as _enum

__all__ = ["MathFidelity", "WormholeComputeKernelConfig", "BlackholeComputeKernelConfig",
           "init_device_compute_kernel_config", "MatmulMultiCoreReuseProgramConfig",
           "MatmulMultiCoreReuseMultiCastProgramConfig", "MatmulMultiCoreReuseMultiCast1DProgramConfig",
           "LayerNormDefaultProgramConfig", "LayerNormShardedMultiCoreProgramConfig",
           "SoftmaxDefaultProgramConfig", "SoftmaxShardedMultiCoreProgramConfig", "UnaryOpType",
           "UnaryWithParam"]


class MathFidelity(_enum.Enum):
    LoFi = 0
    HiFi2 = 2
    HiFi3 = 3
    HiFi4 = 4


class UnaryOpType(_enum.Enum):
    RELU = "relu"
    GELU = "gelu"
    SILU = "silu"
    SIGMOID = "sigmoid"


class _Options:
    """Keeps what it was given, so scripts can read their options back."""

    def __init__(self, *args, **kwargs):
        self._args = args
        self.__dict__.update(kwargs)

    def __repr__(self):
        given = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"{type(self).__name__}({given})"


class WormholeComputeKernelConfig(_Options):
    pass


class BlackholeComputeKernelConfig(_Options):
    pass


class MatmulMultiCoreReuseProgramConfig(_Options):
    pass


class MatmulMultiCoreReuseMultiCastProgramConfig(_Options):
    pass


class MatmulMultiCoreReuseMultiCast1DProgramConfig(_Options):
    pass


class LayerNormDefaultProgramConfig(_Options):
    pass


class LayerNormShardedMultiCoreProgramConfig(_Options):
    pass


class SoftmaxDefaultProgramConfig(_Options):
    pass


class SoftmaxShardedMultiCoreProgramConfig(_Options):
    pass


class UnaryWithParam(_Options):
    pass


def init_device_compute_kernel_config(arch=None, **options):
    return WormholeComputeKernelConfig(**options)
