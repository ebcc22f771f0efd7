"""The error for what allocmon's ttnn facade does not emulate.

It is an AttributeError, so `hasattr(ttnn, "x")`, `getattr(ttnn, "x", None)` and `from ttnn import x` inside
`try/except ImportError` behave as with a ttnn build that lacks the name, and a NotImplementedError, so
scripts that catch that keep working. The message always names the call.
"""


class NotEmulatedError(AttributeError, NotImplementedError):
    pass


def not_emulated(call, what=""):
    """The error for `call` (e.g. "ttnn.conv2d" or "ttnn.pad(..., mode='reflect')"); `what` says why."""
    detail = f": {what}" if what else ""
    return NotEmulatedError(f"{call} is not part of the subset allocmon emulates{detail} (see docs/ttnn.md)")
