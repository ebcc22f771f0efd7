"""ttnn's comparison helpers that tests call on host results."""

__all__ = ["pearson_correlation_coefficient"]


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
