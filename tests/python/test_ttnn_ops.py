"""allocmon.ttnn ops: each op's output shape, its values against torch (within bfloat16 rounding), and the bytes
the server sees for its output buffer (dtype= and memory_config= honoured)."""

import math

import pytest
import torch

import allocmon
from allocmon import ttnn
from ttnn_helpers import held, on_device

TILE = 32
ELEMENT_BYTES = {ttnn.bfloat16: 2, ttnn.float32: 4, ttnn.uint32: 4, ttnn.int32: 4, ttnn.uint16: 2, ttnn.uint8: 1,
                 ttnn.int8: 1, ttnn.fp8_e4m3: 1}


def buffer_bytes(shape, dtype, layout):
    """What ttnn allocates per device for a tensor: whole tiles (padded to 32x32) or row-major elements."""
    if layout == ttnn.ROW_MAJOR_LAYOUT:
        return math.prod(shape) * ELEMENT_BYTES[dtype]
    dims = list(shape) if len(shape) >= 2 else [1] + list(shape)
    tiles = math.prod(dims[:-2]) * -(-dims[-2] // TILE) * -(-dims[-1] // TILE)
    return tiles * dtype.tile_bytes


class Watch:
    """The bytes of one memory type a block of code leaves allocated on device 0."""

    def __init__(self, server, memory_type="DRAM"):
        self.server, self.memory_type = server, memory_type

    def __enter__(self):
        self.before = held(self.server, self.memory_type)
        return self

    def __exit__(self, *exc):
        self.added = held(self.server, self.memory_type) - self.before
        return False


def bf16(values):
    return values.to(torch.bfloat16).float()


def close(got, want, rtol=1.6e-2, atol=1e-2):
    torch.testing.assert_close(got.float(), want.float(), rtol=rtol, atol=atol)


def close_block_float(got, want, mantissa_bits=7):
    """Block floats share an exponent per 16 consecutive values: each is within half a step of that block's
    largest magnitude (plus bfloat16 rounding of the reference)."""
    got, want = got.float().reshape(-1, 16), want.float().reshape(-1, 16)
    step = want.abs().amax(dim=1, keepdim=True) / 2 ** (mantissa_bits - 1)
    assert ((got - want).abs() <= step + want.abs() / 128 + 1e-6).all()


BINARY = {
    "add": torch.add, "subtract": torch.sub, "multiply": torch.mul, "divide": torch.div,
    "maximum": torch.maximum, "minimum": torch.minimum,
    "eq": lambda x, y: (x == y).float(), "ne": lambda x, y: (x != y).float(), "gt": lambda x, y: (x > y).float(),
    "lt": lambda x, y: (x < y).float(), "ge": lambda x, y: (x >= y).float(), "le": lambda x, y: (x <= y).float(),
    "logical_and": lambda x, y: torch.logical_and(x, y).float(),
    "logical_or": lambda x, y: torch.logical_or(x, y).float(),
}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_ops_broadcast_and_honour_dtype_and_memory_config(op, device, server):
    a = bf16(torch.randn(2, 64, 96))
    b = bf16(torch.rand(1, 1, 96) + 0.5)
    b[..., :8] = a[0, 0, :8]  # some equal values for the comparisons
    ta, tb = on_device(device, a), on_device(device, b)
    fn = getattr(ttnn, op)
    out = fn(ta, tb)
    assert out.shape == (2, 64, 96) and out.dtype == ttnn.bfloat16 and out.memory_config() == ttnn.DRAM_MEMORY_CONFIG
    close(ttnn.to_torch(out), BINARY[op](a, b))
    with Watch(server, "L1") as l1:
        wide = fn(ta, tb, dtype=ttnn.float32, memory_config=ttnn.L1_MEMORY_CONFIG)
    assert wide.dtype == ttnn.float32 and wide.memory_config() == ttnn.L1_MEMORY_CONFIG
    assert l1.added == buffer_bytes((2, 64, 96), ttnn.float32, ttnn.TILE_LAYOUT) == 2 * 2 * 3 * 4096
    close(ttnn.to_torch(wide), BINARY[op](a, b), rtol=1e-6, atol=1e-6)


def test_binary_with_scalars_operators_and_bad_shapes(device):
    a = bf16(torch.randn(32, 64))
    ta = on_device(device, a)
    close(ttnn.to_torch(ttnn.multiply(ta, 0.5)), a * 0.5)
    close(ttnn.to_torch(ta + 1), a + 1)
    close(ttnn.to_torch(2 - ta), 2 - a)
    close(ttnn.to_torch(-ta), -a)
    close(ttnn.to_torch(ta * ta), a * a)
    close(ttnn.to_torch(ta / 4.0), a / 4)
    close(ttnn.to_torch(ta ** 2), a ** 2)
    close(ttnn.to_torch(ta > 0), (a > 0).float())
    with pytest.raises(RuntimeError, match=r"ttnn.add: shapes Shape\(\[32, 64\]\) and Shape\(\[3, 64\]\) do not"):
        ttnn.add(ta, on_device(device, torch.ones(3, 64)))
    with pytest.raises(TypeError, match="ttnn.add: the second input must be a ttnn.Tensor or a number"):
        ttnn.add(ta, "1")


UNARY = {
    "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "reciprocal": torch.reciprocal, "neg": torch.neg,
    "abs": torch.abs, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "silu": torch.nn.functional.silu, "gelu": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "logical_not": lambda x: torch.logical_not(x).float(),
}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_ops_match_torch_and_honour_dtype(op, device, server):
    x = bf16(torch.rand(2, 32, 64) * 3 + 0.25)
    x[0, 0, :4] = 0 if op == "logical_not" else x[0, 0, :4]
    tx = on_device(device, x)
    out = getattr(ttnn, op)(tx)
    assert out.shape == (2, 32, 64)
    close(ttnn.to_torch(out), UNARY[op](x))
    with Watch(server) as dram:
        small = getattr(ttnn, op)(tx, dtype=ttnn.bfloat8_b)
    assert small.dtype == ttnn.bfloat8_b and dram.added == 2 * 2 * 1088  # four bfloat8_b tiles
    close_block_float(ttnn.to_torch(small), UNARY[op](x))


def test_where_clamp_and_leaky_relu(device):
    x = bf16(torch.randn(64, 64))
    tx = on_device(device, x)
    close(ttnn.to_torch(ttnn.where(ttnn.gt(tx, 0.0), tx, 0.0)), torch.where(x > 0, x, torch.zeros(())))
    close(ttnn.to_torch(ttnn.where(tx, 1.0, tx)), torch.where(x != 0, torch.ones(()), x))
    close(ttnn.to_torch(ttnn.clamp(tx, min=-0.5, max=0.5)), x.clamp(-0.5, 0.5))
    close(ttnn.to_torch(ttnn.leaky_relu(tx, negative_slope=0.1)), torch.nn.functional.leaky_relu(x, 0.1))


def test_reshape_is_a_view_when_the_layout_allows_and_a_copy_otherwise(device, server):
    x = bf16(torch.randn(2, 64, 96))
    tx = on_device(device, x)
    with Watch(server) as dram:
        view = ttnn.reshape(tx, (128, 96))
    assert view.shape == (128, 96) and dram.added == 0 and view.buffer_address() == tx.buffer_address()
    assert torch.equal(ttnn.to_torch(view).float(), x.reshape(128, 96))
    with Watch(server) as dram:
        moved = ttnn.reshape(tx, (2, 96, 64))  # the last dim changes: a new tile layout
    assert dram.added == buffer_bytes((2, 96, 64), ttnn.bfloat16, ttnn.TILE_LAYOUT)
    assert torch.equal(ttnn.to_torch(moved).float(), x.reshape(2, 96, 64))
    assert ttnn.reshape(tx, (-1, 96)).shape == (128, 96) and tx.reshape(2, -1, 96).shape == (2, 64, 96)
    assert ttnn.unsqueeze(tx, 0).shape == (1, 2, 64, 96) and ttnn.squeeze(ttnn.unsqueeze(tx, 0), 0).shape == (2, 64, 96)
    with pytest.raises(RuntimeError, match="cannot reshape"):
        ttnn.reshape(tx, (7, 96))


def test_permute_transpose_concat_slice_pad_getitem(device, server):
    x = bf16(torch.randn(2, 64, 96))
    tx = on_device(device, x)
    cases = [
        (ttnn.permute(tx, (2, 0, 1)), x.permute(2, 0, 1)),
        (ttnn.transpose(tx, -2, -1), x.transpose(-2, -1)),
        (ttnn.concat([tx, tx, tx], dim=1), torch.cat([x, x, x], dim=1)),
        (ttnn.stack([tx, on_device(device, x * 2)], dim=1), torch.stack([x, x * 2], dim=1)),
        (ttnn.stack([tx, tx], dim=-1), torch.stack([x, x], dim=-1)),  # aliased inputs: concat's other program
        (ttnn.slice(tx, [0, 32, 0], [2, 64, 64]), x[:, 32:64, :64]),
        (ttnn.slice(tx, [0, 0, 0], [2, 64, 96], [1, 2, 3]), x[:, ::2, ::3]),
        (ttnn.pad(tx, ((0, 0), (0, 0), (0, 32)), value=1.5),
         torch.nn.functional.pad(x, (0, 32), value=1.5)),
        (ttnn.pad(tx, (2, 64, 128), (0, 0, 0), 0.0), torch.nn.functional.pad(x, (0, 32))),
        (tx[1], x[1]),
        (tx[:, 3:40, -8:], x[:, 3:40, -8:]),
        (tx[..., 5], x[..., 5]),
    ]
    for got, want in cases:
        assert tuple(got.shape) == tuple(want.shape)
        assert torch.equal(ttnn.to_torch(got).float(), want)
    with Watch(server, "L1") as l1:
        out = ttnn.permute(tx, (0, 2, 1), memory_config=ttnn.L1_MEMORY_CONFIG)
    assert l1.added == buffer_bytes((2, 96, 64), ttnn.bfloat16, ttnn.TILE_LAYOUT) and out.shape == (2, 96, 64)
    with pytest.raises(RuntimeError, match="ttnn.concat: shapes"):
        ttnn.concat([tx, on_device(device, torch.ones(2, 32, 32))], dim=1)
    with pytest.raises(IndexError, match="Too many indices"):
        tx[0, 0, 0, 0]


@pytest.mark.parametrize("a_shape,b_shape", [((2, 3, 64, 32), (32, 96)), ((2, 1, 64, 32), (1, 3, 32, 96)),
                                             ((64, 32), (32, 96)), ((3, 64, 32), (3, 32, 96))])
def test_matmul_broadcasts_batches_and_honours_dtype_and_memory(a_shape, b_shape, device, server):
    a, b = bf16(torch.randn(*a_shape)), bf16(torch.randn(*b_shape))
    ta, tb = on_device(device, a), on_device(device, b)
    want = a @ b
    out = ttnn.matmul(ta, tb)
    assert tuple(out.shape) == tuple(want.shape) and out.memory_config() == ttnn.DRAM_MEMORY_CONFIG
    close(ttnn.to_torch(out), want, rtol=2e-2, atol=0.1)
    with Watch(server, "L1") as l1:
        small = ttnn.matmul(ta, tb, dtype=ttnn.bfloat8_b, memory_config=ttnn.L1_MEMORY_CONFIG,
                            core_grid=ttnn.CoreGrid(y=4, x=4))
    assert small.dtype == ttnn.bfloat8_b and l1.added == buffer_bytes(want.shape, ttnn.bfloat8_b, ttnn.TILE_LAYOUT)
    close_block_float(ttnn.to_torch(small), want)
    close(ttnn.to_torch(ta @ tb), want, rtol=2e-2, atol=0.1)


def test_matmul_transposes_and_rejects_mismatched_shapes(device):
    a, b = bf16(torch.randn(32, 64)), bf16(torch.randn(96, 64))
    out = ttnn.matmul(on_device(device, a), on_device(device, b), transpose_b=True)
    close(ttnn.to_torch(out), a @ b.T, rtol=2e-2, atol=0.1)
    with pytest.raises(RuntimeError, match="ttnn.matmul: the inner dims differ"):
        ttnn.matmul(on_device(device, a), on_device(device, b))


def test_linear_with_bias_and_activation(device, server):
    x, w, bias = bf16(torch.randn(2, 64, 128)), bf16(torch.randn(128, 96)), bf16(torch.randn(1, 96))
    tx, tw, tbias = on_device(device, x), on_device(device, w), on_device(device, bias)
    with Watch(server) as dram:
        out = ttnn.linear(tx, tw, bias=tbias)
    assert out.shape == (2, 64, 96) and dram.added == buffer_bytes((2, 64, 96), ttnn.bfloat16, ttnn.TILE_LAYOUT)
    close(ttnn.to_torch(out), x @ w + bias, rtol=2e-2, atol=0.2)
    relu = ttnn.linear(tx, tw, bias=tbias, activation="relu", dtype=ttnn.float32)
    assert relu.dtype == ttnn.float32
    close(ttnn.to_torch(relu), torch.relu(x @ w + bias), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("op,fn", [("sum", torch.sum), ("mean", torch.mean), ("max", torch.amax),
                                   ("min", torch.amin)])
def test_reductions(op, fn, device, server):
    x = bf16(torch.randn(2, 64, 96))
    tx = on_device(device, x)
    reduce = getattr(ttnn, op)
    last = reduce(tx, dim=-1)
    assert last.shape == (2, 64)
    close(ttnn.to_torch(last), fn(x, dim=-1), atol=0.1)
    with Watch(server, "L1") as l1:
        kept = reduce(tx, dim=1, keepdim=True, memory_config=ttnn.L1_MEMORY_CONFIG)
    assert kept.shape == (2, 1, 96) and l1.added == buffer_bytes((2, 1, 96), ttnn.bfloat16, ttnn.TILE_LAYOUT)
    close(ttnn.to_torch(kept), fn(x, dim=1, keepdim=True), atol=0.1)
    everything = reduce(tx)
    close(ttnn.to_torch(everything).reshape(()), fn(x), atol=0.5)


def test_softmax_layer_norm_rms_norm(device, server):
    x = bf16(torch.randn(2, 64, 96))
    gamma, beta = bf16(torch.rand(1, 96) + 0.5), bf16(torch.randn(1, 96))
    residual = bf16(torch.randn(2, 64, 96))
    tx, tg, tb, tr = (on_device(device, v) for v in (x, gamma, beta, residual))
    with Watch(server, "L1") as l1:
        soft = ttnn.softmax(tx, dim=-1, memory_config=ttnn.L1_MEMORY_CONFIG)
    assert l1.added == buffer_bytes((2, 64, 96), ttnn.bfloat16, ttnn.TILE_LAYOUT)
    close(ttnn.to_torch(soft), torch.softmax(x, dim=-1))
    close(ttnn.to_torch(ttnn.softmax(tx, dim=1)), torch.softmax(x, dim=1))
    norm = ttnn.layer_norm(tx, epsilon=1e-5, weight=tg, bias=tb)
    close(ttnn.to_torch(norm), torch.nn.functional.layer_norm(x, (96,), gamma[0], beta[0], 1e-5), atol=0.03)
    with_residual = ttnn.layer_norm(tx, residual_input_tensor=tr, epsilon=1e-5)
    close(ttnn.to_torch(with_residual), torch.nn.functional.layer_norm(x + residual, (96,), eps=1e-5), atol=0.03)
    rms = ttnn.rms_norm(tx, epsilon=1e-6, weight=tg, dtype=None)
    want = x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-6) * gamma[0]
    close(ttnn.to_torch(rms), want, atol=0.03)


def test_embedding_picks_rows_in_the_weight_dtype(device, server):
    table = bf16(torch.randn(100, 64))
    ids = torch.tensor([[3, 7, 99, 0], [5, 5, 1, 2]])
    tids = ttnn.from_torch(ids, dtype=ttnn.uint32, device=device)
    tw = ttnn.from_torch(table, dtype=ttnn.bfloat16, device=device)
    with Watch(server) as dram:
        out = ttnn.embedding(tids, tw)
    assert out.shape == (2, 4, 64) and out.layout == ttnn.ROW_MAJOR_LAYOUT and dram.added == 2 * 4 * 64 * 2
    assert torch.equal(ttnn.to_torch(out).float(), table[ids])
    tiled = ttnn.embedding(tids, tw, layout=ttnn.TILE_LAYOUT, dtype=ttnn.float32)
    assert tiled.layout == ttnn.TILE_LAYOUT and tiled.dtype == ttnn.float32
    assert torch.equal(ttnn.to_torch(tiled), table[ids])


def test_typecast_clone_and_like_constructors(device, server):
    x = bf16(torch.randn(64, 64) * 10)
    tx = on_device(device, x)
    with Watch(server) as dram:
        as_f32 = ttnn.typecast(tx, ttnn.float32)
    assert as_f32.dtype == ttnn.float32 and dram.added == 4 * 4096
    assert torch.equal(ttnn.to_torch(as_f32), x)
    as_int = ttnn.typecast(tx, ttnn.int32)
    assert torch.equal(ttnn.to_torch(as_int), torch.round(x).to(torch.int32))
    with Watch(server, "L1") as l1:
        copy = ttnn.clone(tx, memory_config=ttnn.L1_MEMORY_CONFIG, dtype=ttnn.bfloat8_b)
    assert copy.dtype == ttnn.bfloat8_b and l1.added == 4 * 1088 and copy.buffer_address() != tx.buffer_address()
    kept = []  # each made tensor stays allocated while the next is measured
    for make, value in ((ttnn.zeros_like, 0.0), (ttnn.ones_like, 1.0), (lambda t: ttnn.full_like(t, 2.5), 2.5)):
        with Watch(server) as dram:
            made = make(tx)
            kept.append(made)
        assert made.shape == tx.shape and made.dtype == tx.dtype and dram.added == 4 * 2048
        assert torch.equal(ttnn.to_torch(made).float(), torch.full((64, 64), value))
    host = ttnn.zeros_like(ttnn.from_torch(x), dtype=ttnn.float32)
    assert not ttnn.is_tensor_storage_on_device(host) and host.dtype == ttnn.float32


def test_dtypes_take_their_sizes_and_hold_their_values(device, server):
    ints = torch.tensor([[0, 1, 255, 300, -4] + [7] * 27])
    cases = [(ttnn.uint8, ints.clamp(0, 255)), (ttnn.uint16, ints.clamp(0, 65535)), (ttnn.int32, ints),
             (ttnn.uint32, ints % 2**32), (ttnn.int8, ints.clamp(-128, 127))]  # uint32: modulo 2^32, as ttnn
    kept = []
    for dtype, want in cases:
        with Watch(server) as dram:
            row = ttnn.from_torch(ints, dtype=dtype, layout=ttnn.ROW_MAJOR_LAYOUT, device=device)
            kept.append(row)
        assert dram.added == 32 * ELEMENT_BYTES[dtype], dtype
        assert torch.equal(ttnn.to_torch(row).long(), want.long()), dtype
        with Watch(server) as dram:
            kept.append(ttnn.from_torch(ints, dtype=dtype, layout=ttnn.TILE_LAYOUT, device=device))
        assert dram.added == dtype.tile_bytes == 1024 * ELEMENT_BYTES[dtype]
    x = torch.randn(64, 64)
    with Watch(server) as dram:
        b4 = ttnn.from_torch(x, dtype=ttnn.bfloat4_b, layout=ttnn.TILE_LAYOUT, device=device)
    assert dram.added == 4 * 576
    back = ttnn.to_torch(b4).float()
    close_block_float(back, x, mantissa_bits=3)  # 3 mantissa bits under each block's exponent
    # rounding to 3 mantissa bits moves the largest value by at most half a step: an eighth of it
    assert (back != bf16(x)).any() and back.abs().max() <= x.abs().max() * 1.125
    fp8 = ttnn.to_torch(ttnn.from_torch(torch.tensor([[1.0, 0.3, -17.0, 1000.0, 0.001, 2 ** -9]]),
                                        dtype=ttnn.fp8_e4m3, device=device))
    assert fp8.tolist() == [[1.0, 0.3125, -16.0, 448.0, 0.001953125, 0.001953125]]  # 3 mantissa bits, saturating
    with pytest.raises(RuntimeError, match="bfloat4_b requires TILE_LAYOUT"):
        ttnn.from_torch(x, dtype=ttnn.bfloat4_b, layout=ttnn.ROW_MAJOR_LAYOUT)


def test_bfloat16_sources_go_to_the_mesh_and_back_as_bfloat16_bits(server):
    # A torch bfloat16 tensor goes to the device as its bits (no float32 copy) and a bfloat16 tensor comes back
    # the same way: what the device holds must be what the float32 route gives, for every dtype it is put in.
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    try:
        mapper, composer = ttnn.ShardTensorToMesh(mesh, dim=0), ttnn.ConcatMeshToTensor(mesh, dim=0)
        x = (torch.randn(8, 3, 40, 50) * 100).to(torch.bfloat16)
        kept = []  # (a tensor dropped inside a Watch would be counted as freed there)
        for dtype in (ttnn.bfloat16, ttnn.float32, ttnn.bfloat8_b, ttnn.int32, ttnn.uint8):
            layout = ttnn.ROW_MAJOR_LAYOUT if dtype in (ttnn.int32, ttnn.uint8) else ttnn.TILE_LAYOUT
            with Watch(server) as dram:
                direct = ttnn.from_torch(x, dtype=dtype, layout=layout, device=mesh, mesh_mapper=mapper)
            via_float = ttnn.from_torch(x.float(), dtype=dtype, layout=layout, device=mesh, mesh_mapper=mapper)
            assert dram.added == buffer_bytes((1, 3, 40, 50), dtype, layout), dtype
            got, want = ttnn.to_torch(direct, mesh_composer=composer), ttnn.to_torch(via_float, mesh_composer=composer)
            assert got.dtype == want.dtype and got.shape == (8, 3, 40, 50), dtype
            assert torch.equal(got, want), dtype
            kept += [direct, via_float]
        assert torch.equal(ttnn.to_torch(ttnn.from_torch(x, device=mesh, mesh_mapper=mapper), mesh_composer=composer), x)
        # A float32 tensor read back as bfloat16 bits is rounded to the nearest (ties to even), as from_torch rounds.
        values = torch.tensor([[1.00390625, 1.01171875, -3.0e38, 7.0]])  # two ties: to 1.0 and to 1.015625
        f = ttnn.from_torch(values, dtype=ttnn.float32, device=mesh)
        bits = allocmon._allocmon.to_bfloat16_bits(f._device, None, -1)
        got = torch.from_numpy(bits.view("int16")).view(torch.bfloat16)
        assert torch.equal(got, values.bfloat16()) and got[0, :2].tolist() == [1.0, 1.015625]
    finally:
        ttnn.close_mesh_device(mesh)


def test_transformer_attention_helpers(device, server):
    batch, sequence, heads, head = 2, 64, 4, 32
    fused = bf16(torch.randn(batch, sequence, 3 * heads * head))
    q, k, v = ttnn.transformer.split_query_key_value_and_split_heads(on_device(device, fused), num_heads=heads)
    want_q, want_k, want_v = fused.reshape(batch, sequence, 3, heads, head).permute(2, 0, 3, 1, 4)
    assert q.shape == (batch, heads, sequence, head) and k.shape == (batch, heads, head, sequence)
    assert torch.equal(ttnn.to_torch(q).float(), want_q) and torch.equal(ttnn.to_torch(k).float(),
                                                                         want_k.transpose(-2, -1))
    assert torch.equal(ttnn.to_torch(v).float(), want_v)
    scores = ttnn.matmul(q, k)
    mask = bf16(torch.randn(batch, 1, 1, sequence))
    tmask = on_device(device, mask)
    with Watch(server) as dram:
        probs = ttnn.transformer.attention_softmax_(scores, attention_mask=tmask, head_size=head)
    assert probs is scores and dram.added == 0  # in place: no new buffer
    want = torch.softmax((want_q @ want_k.transpose(-2, -1)) / math.sqrt(head) + mask, dim=-1)
    close(ttnn.to_torch(probs), want, atol=0.03)
    merged = ttnn.transformer.concatenate_heads(v)
    assert merged.shape == (batch, sequence, heads * head)
    assert torch.equal(ttnn.to_torch(merged).float(), want_v.permute(0, 2, 1, 3).reshape(batch, sequence, -1))


def test_to_layout_memory_config_and_reallocate(device, server):
    x = bf16(torch.randn(64, 96))
    rm = on_device(device, x, layout=ttnn.ROW_MAJOR_LAYOUT)
    with Watch(server) as dram:
        tiled = ttnn.to_layout(rm, ttnn.TILE_LAYOUT)
    assert tiled.layout == ttnn.TILE_LAYOUT and dram.added == 6 * 2048
    assert torch.equal(ttnn.to_torch(ttnn.to_layout(tiled, ttnn.ROW_MAJOR_LAYOUT)).float(), x)
    with Watch(server, "L1") as l1:
        in_l1 = ttnn.to_memory_config(tiled, ttnn.L1_MEMORY_CONFIG)
    assert l1.added == 6 * 2048 and in_l1.memory_config() == ttnn.L1_MEMORY_CONFIG
    with Watch(server, "L1") as l1:
        moved = ttnn.reallocate(in_l1)
    assert l1.added == 0 and not in_l1.is_allocated() and torch.equal(ttnn.to_torch(moved).float(), x)
