"""ttnn.transformer: the attention helpers ttnn's tutorials and BERT-style models use — splitting a fused QKV
projection into heads, the scaled and masked softmax (attention_softmax_ works in place, allocating nothing),
and concatenating heads back."""

import math as _math

from ..errors import not_emulated
from ..types import Shape
from . import _device_op

__all__ = ["split_query_key_value_and_split_heads", "concatenate_heads", "attention_softmax",
           "attention_softmax_"]


def split_query_key_value_and_split_heads(input_tensor, kv_input_tensor=None, *, num_heads, num_kv_heads=None,
                                          transpose_key=True, memory_config=None, **ignored):
    """(B, S, 3 * heads * D) -> query (B, heads, S, D), key (B, heads, D, S) (or (B, heads, S, D) with
    transpose_key=False), value (B, heads, S, D)."""
    if kv_input_tensor is not None or (num_kv_heads is not None and num_kv_heads != num_heads):
        raise not_emulated("ttnn.transformer.split_query_key_value_and_split_heads with separate KV heads")
    t = _device_op.device_input(input_tensor, "transformer.split_query_key_value_and_split_heads")
    if len(t.shape) != 3 or t.shape[-1] % (3 * num_heads):
        raise RuntimeError(f"split_query_key_value_and_split_heads: expected (B, S, 3 * {num_heads} * D), got "
                           f"{t.shape!r}")
    batch, sequence, fused = t.shape
    head = fused // (3 * num_heads)
    config = _device_op.output_memory(memory_config, t, same_shape=False)
    q_shape = Shape([batch, num_heads, sequence, head])
    k_shape = Shape([batch, num_heads, head, sequence]) if transpose_key else q_shape

    def compute(x):
        q, k, v = x.reshape(batch, sequence, 3, num_heads, head).permute(2, 0, 3, 1, 4)
        return q, (k.transpose(-2, -1) if transpose_key else k), v

    outputs = [(q_shape, t.dtype, t.layout, config), (k_shape, t.dtype, t.layout, config),
               (q_shape, t.dtype, t.layout, config)]
    return tuple(_device_op.run("split_query_key_value_and_split_heads", [t], outputs, compute,
                                kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES))


def concatenate_heads(input_tensor, *, memory_config=None, **ignored):
    """(B, heads, S, D) -> (B, S, heads * D)."""
    t = _device_op.device_input(input_tensor, "transformer.concatenate_heads")
    batch, heads, sequence, head = t.shape
    config = _device_op.output_memory(memory_config, t, same_shape=False)
    shape = Shape([batch, sequence, heads * head])
    return _device_op.run("concatenate_heads", [t], [(shape, t.dtype, t.layout, config)],
                          lambda x: x.permute(0, 2, 1, 3).reshape(tuple(shape)),
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES)


def _scaled_softmax(head_size, has_mask):
    scale = 1.0 / _math.sqrt(head_size) if head_size else 1.0

    def compute(x, *mask):
        x = x * scale
        if has_mask:
            x = x + mask[0]
        return x.softmax(dim=-1)

    return compute


def attention_softmax(input_tensor, *, head_size=None, attention_mask=None, memory_config=None, **ignored):
    t = _device_op.device_input(input_tensor, "transformer.attention_softmax")
    inputs = [t] + ([_device_op.device_input(attention_mask, "transformer.attention_softmax")]
                    if attention_mask is not None else [])
    config = _device_op.output_memory(memory_config, t)
    return _device_op.run("attention_softmax", inputs, [(t.shape, t.dtype, t.layout, config)],
                          _scaled_softmax(head_size, attention_mask is not None), cbs=4, program="softmax")


def attention_softmax_(input_tensor, *, head_size=None, attention_mask=None, **ignored):
    """attention_softmax written over its input (no new buffer)."""
    t = _device_op.device_input(input_tensor, "transformer.attention_softmax_")
    inputs = [t] + ([_device_op.device_input(attention_mask, "transformer.attention_softmax_")]
                    if attention_mask is not None else [])
    return _device_op.run("attention_softmax_", inputs, None, _scaled_softmax(head_size, attention_mask is not None),
                          cbs=4, program="softmax", in_place=t)
