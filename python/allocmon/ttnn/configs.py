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
           "layernorm_default_compute_config", "rmsnorm_default_compute_config", "MatmulMultiCoreProgramConfig"]


class MathFidelity(_enum.Enum):
    LoFi = 0
    HiFi2 = 2
    HiFi3 = 3
    HiFi4 = 4


class UnaryOpType(_enum.Enum):
    """The unary ops an op can fuse (matmul's fused_activation, a binary op's activations=); what each computes is
    operations.eltwise.activation_function."""
    RELU = "relu"
    RELU6 = "relu6"
    RELU_MAX = "relu_max"
    RELU_MIN = "relu_min"
    LEAKY_RELU = "leaky_relu"
    ELU = "elu"
    GELU = "gelu"
    SILU = "silu"
    SIGMOID = "sigmoid"
    HARDSIGMOID = "hardsigmoid"
    TANH = "tanh"
    EXP = "exp"
    EXP2 = "exp2"
    EXPM1 = "expm1"
    LOG = "log"
    LOG2 = "log2"
    LOG10 = "log10"
    SQRT = "sqrt"
    RSQRT = "rsqrt"
    RECIP = "recip"
    SQUARE = "square"
    POWER = "power"
    ABS = "abs"
    NEG = "neg"
    SIGN = "sign"
    SIN = "sin"
    COS = "cos"
    ERF = "erf"
    SOFTPLUS = "softplus"
    MISH = "mish"
    FLOOR = "floor"
    CEIL = "ceil"
    EQZ = "eqz"
    NEZ = "nez"
    GTZ = "gtz"
    LTZ = "ltz"
    GEZ = "gez"
    LEZ = "lez"
    IDENTITY = "identity"
    ADD_UNARY_SFPU = "add_unary_sfpu"
    SUB_UNARY_SFPU = "sub_unary_sfpu"
    MUL_UNARY_SFPU = "mul_unary_sfpu"
    DIV_UNARY_SFPU = "div_unary_sfpu"


class UnaryWithParam:
    """A unary op with its parameters (a number or a list of them), as ops take it to fuse."""

    def __init__(self, op_type, param=None, *more):
        if isinstance(op_type, str):
            op_type = UnaryOpType(op_type.lower())
        self.op_type = op_type
        if param is None:
            params = []
        elif isinstance(param, (list, tuple)):
            params = [float(p) for p in param]
        else:
            params = [float(param)]
        self.params = params + [float(p) for p in more]

    def __eq__(self, other):
        if isinstance(other, UnaryOpType):
            return self.op_type == other and not self.params
        return isinstance(other, UnaryWithParam) and (self.op_type, self.params) == (other.op_type, other.params)

    def __hash__(self):
        return hash((self.op_type, tuple(self.params)))

    def __repr__(self):
        return f"UnaryWithParam(op_type={self.op_type}, params={self.params})"


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


class _MatmulProgramConfig(_Options):
    """A matmul program config; allowed_worker_cores (a CoreRangeSet, default None: the whole grid) is where
    the program's cores start and how many it may use."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allowed_worker_cores", None)
        super().__init__(*args, **kwargs)


class MatmulMultiCoreProgramConfig(_MatmulProgramConfig):
    pass


class MatmulMultiCoreReuseProgramConfig(_MatmulProgramConfig):
    pass


class MatmulMultiCoreReuseMultiCastProgramConfig(_MatmulProgramConfig):
    """fuse_swiglu: in1's tiles of columns alternate gate and up (tile 2p gate p, 2p+1 up p) and the output is
    silu(gate) * up, half in1's width (glu_last_block / glu_sfpu_on_pack only choose where the kernel does it).
    in1_dual_sender: two in1 senders per column, the same values (see matmul._check_in1_dual_sender)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("diagonal_in1_senders", False)  # ttnn's default: in1 senders on one line of cores
        for option in ("fuse_swiglu", "glu_last_block", "glu_sfpu_on_pack", "in0_single_buffer", "in1_dual_sender"):
            kwargs.setdefault(option, False)
        super().__init__(*args, **kwargs)


class MatmulMultiCoreReuseMultiCast1DProgramConfig(_MatmulProgramConfig):
    pass


class MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig(_MatmulProgramConfig):
    pass


class LayerNormDefaultProgramConfig(_Options):
    pass


class LayerNormShardedMultiCoreProgramConfig(_Options):
    pass


class SoftmaxDefaultProgramConfig(_Options):
    pass


class SoftmaxShardedMultiCoreProgramConfig(_Options):
    pass


def init_device_compute_kernel_config(arch=None, **options):
    return WormholeComputeKernelConfig(**options)


def layernorm_default_compute_config(arch=None):
    """ttnn's default compute kernel config for layer_norm: HiFi4, exact math, fp32 accumulation."""
    return init_device_compute_kernel_config(arch, math_fidelity=MathFidelity.HiFi4, math_approx_mode=False,
                                             fp32_dest_acc_en=True, packer_l1_acc=False)


rmsnorm_default_compute_config = layernorm_default_compute_config
