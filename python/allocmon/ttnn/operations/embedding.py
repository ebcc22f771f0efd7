"""embedding: rows of a weight table picked by integer indices; output (*indices.shape, hidden) in the weight's
dtype, ROW_MAJOR unless layout= says otherwise (ttnn's default)."""

from ..types import ROW_MAJOR_LAYOUT, Shape
from . import _device_op

__all__ = ["embedding"]


def embedding(input_tensor, weight, *, padding_idx=None, layout=ROW_MAJOR_LAYOUT, embeddings_type=None, dtype=None,
              memory_config=None, **ignored):
    indices = _device_op.device_input(input_tensor, "embedding")
    table = _device_op.device_input(weight, "embedding")
    vocab, hidden = table.shape[-2] if len(table.shape) >= 2 else 1, table.shape[-1]
    shape = Shape(list(indices.shape) + [hidden])
    out_dtype = dtype or table.dtype
    _device_op.check_dtype_layout(out_dtype, layout, "embedding")
    config = _device_op.output_memory(memory_config, indices, same_shape=False)

    def compute(ids, rows):
        rows = rows.reshape(-1, hidden)
        picked = ids.long()
        if (picked < 0).any() or (picked >= vocab).any():
            raise IndexError(f"ttnn.embedding: an index is outside the table's {vocab} rows")
        out = rows[picked]
        if padding_idx is not None:
            out[picked == int(padding_idx)] = 0
        return out

    return _device_op.run("embedding", [indices, table], [(shape, out_dtype, layout, config)], compute, cbs=2,
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, program="embedding")
