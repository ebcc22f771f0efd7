"""ttnn.operations.moreh: the moreh implementations of ops tests compare the fused ones with. Emulated ops
compute what the op computes, so a moreh op and its fused counterpart give the same values here."""

from . import normalization as _normalization

__all__ = ["softmax_backward"]


def softmax_backward(output_tensor, output_grad_tensor, dim, *, input_grad_tensor=None, memory_config=None,
                     compute_kernel_config=None, **ignored):
    """y * (grad - sum(y * grad, dim)) from softmax's output y and its gradient."""
    if input_grad_tensor is not None:
        from ..errors import not_emulated

        raise not_emulated("ttnn.operations.moreh.softmax_backward(..., input_grad_tensor=)")
    return _normalization._softmax_backward("moreh_softmax_backward", output_tensor, output_grad_tensor, dim,
                                            memory_config)
