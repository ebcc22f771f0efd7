"""ttnn's comparison helpers that tests call on host results."""

__all__ = ["pearson_correlation_coefficient", "get_golden_function"]


def _as_torch(value):
    import torch

    if isinstance(value, torch.Tensor):
        return value
    from .operations.core import to_torch

    return to_torch(value)


def pearson_correlation_coefficient(expected, actual):
    """ttnn's PCC of two tensors (torch or ttnn): 1.0 when both are equal, including all-equal constants."""
    import numpy as np
    import torch

    expected, actual = _as_torch(expected), _as_torch(actual)
    if expected.shape != actual.shape:
        raise RuntimeError(f"list(expected.shape)={list(expected.shape)} vs list(actual.shape)={list(actual.shape)}")
    a = expected.detach().to(torch.float64).flatten().numpy()
    b = actual.detach().to(torch.float64).flatten().numpy()
    if np.array_equal(a, b, equal_nan=True):
        return 1.0
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return 0.0
    return float(np.ma.corrcoef(np.ma.masked_invalid(a), np.ma.masked_invalid(b))[0, 1])


def get_golden_function(operation):
    """The host (torch) function ttnn checks `operation` against: the backward ops' autograd goldens, and for
    elementwise and other ops the torch function they compute."""
    from .errors import not_emulated
    from .operations import backward, eltwise, normalization

    while hasattr(operation, "__wrapped__"):  # the op as defined, not its attribution wrapper
        operation = operation.__wrapped__
    for goldens in (backward.GOLDEN, normalization.GOLDEN):
        if operation in goldens:
            return goldens[operation]
    name = getattr(operation, "__name__", None)
    forward = eltwise.golden(name) if name else None
    if forward is None:
        raise not_emulated(f"ttnn.get_golden_function({name or operation!r})")
    return forward
