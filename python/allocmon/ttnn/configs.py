"""Hardware tuning options scripts pass to ops (compute kernel configs, matmul / layernorm / softmax program
configs, math fidelity). The emulated devices accept them; they change how hardware splits and schedules work,
not the values, and the emulation does not model their effect on circular-buffer sizes."""

import enum as _enum

__all__ = ["MathFidelity", "WormholeComputeKernelConfig", "BlackholeComputeKernelConfig",
           "init_device_compute_kernel_config", "MatmulMultiCoreReuseProgramConfig",
           "MatmulMultiCoreReuseMultiCastProgramConfig", "MatmulMultiCoreReuseMultiCast1DProgramConfig",
           "LayerNormDefaultProgramConfig", "LayerNormShardedMultiCoreProgramConfig",
           "SoftmaxDefaultProgramConfig", "SoftmaxShardedMultiCoreProgramConfig", "UnaryOpType",
           "UnaryWithParam", "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig",
           "layernorm_default_compute_config", "rmsnorm_default_compute_config"]


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

    def __repr__(self):  # ttnn's reflection prints booleans as 1 / 0
        def text(v):
            return str(int(v)) if isinstance(v, bool) else repr(v)

        given = ", ".join(f"{k}={text(v)}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"{type(self).__name__}({given})"


class WormholeComputeKernelConfig(_Options):
    pass


class BlackholeComputeKernelConfig(_Options):
    pass


class MatmulMultiCoreReuseProgramConfig(_Options):
    pass


class MatmulMultiCoreReuseMultiCastProgramConfig(_Options):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("diagonal_in1_senders", False)  # ttnn's default: in1 senders on one line of cores
        super().__init__(*args, **kwargs)


class MatmulMultiCoreReuseMultiCast1DProgramConfig(_Options):
    pass


class MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig(_Options):
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


def layernorm_default_compute_config(arch=None):
    """ttnn's default compute kernel config for layer_norm: HiFi4, exact math, fp32 accumulation."""
    return init_device_compute_kernel_config(arch, math_fidelity=MathFidelity.HiFi4, math_approx_mode=False,
                                             fp32_dest_acc_en=True, packer_l1_acc=False)


rmsnorm_default_compute_config = layernorm_default_compute_config
