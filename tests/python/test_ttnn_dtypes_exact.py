"""int32/uint32 tensors hold every value exactly (a float32 holds them only up to 2^24): on the host, on the
mesh, through ops (reductions, data movement, eltwise on the C++ fast path) and back to torch; integer host data
converts to them modulo 2^32, as ttnn converts it; ttnn.full picks int32 for an integer fill and makes rank-0
tensors; set_printoptions changes how tensors print."""

import pytest
import torch

import allocmon
from allocmon import ttnn

BIG = [2147483647, -2147483648, 16777217, -16777219, 123456789, 0, -1, 2**30 + 3]


@pytest.fixture
def device(server):
    opened = ttnn.open_device(device_id=0)
    yield opened
    ttnn.close_device(opened)


@pytest.fixture
def mesh(server):
    opened = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    yield opened
    ttnn.close_mesh_device(opened)


@pytest.mark.parametrize("layout", ["TILE_LAYOUT", "ROW_MAJOR_LAYOUT"])
def test_int32_round_trips_exactly_on_host_and_device(device, layout):
    values = torch.tensor([BIG * 4], dtype=torch.int32)
    host = ttnn.from_torch(values, dtype=ttnn.int32, layout=getattr(ttnn, layout))
    assert torch.equal(ttnn.to_torch(host), values)
    placed = ttnn.to_device(host, device)
    assert torch.equal(ttnn.to_torch(placed), values)
    direct = ttnn.from_torch(values, dtype=ttnn.int32, layout=getattr(ttnn, layout), device=device)
    assert torch.equal(ttnn.to_torch(direct), values)
    assert ttnn.to_torch(direct).dtype == torch.int32


def test_item_is_exact_and_uint32_wraps_integer_data_modulo_2_to_32(device):
    cases = [(torch.tensor([2147483647], dtype=torch.int32), ttnn.int32, 2147483647),
             (torch.tensor([-2147483648], dtype=torch.int32), ttnn.int32, -2147483648),
             (torch.tensor([4294967295], dtype=torch.int64), ttnn.uint32, 4294967295),
             (torch.tensor([16777217], dtype=torch.int64), ttnn.uint32, 16777217),
             (torch.tensor([-100], dtype=torch.int64), ttnn.uint32, 4294967196),  # int64 -> int32 bits -> uint32
             (torch.tensor([2**32 + 5], dtype=torch.int64), ttnn.uint32, 5),
             (torch.tensor([2**31], dtype=torch.int64), ttnn.int32, -(2**31))]
    for values, dtype, want in cases:
        for on in (None, device):
            t = ttnn.from_torch(values, dtype=dtype, layout=ttnn.TILE_LAYOUT, device=on)
            got = t.item()
            assert isinstance(got, int) and got == want, (values, dtype, on, got)


def test_int64_without_dtype_is_uint32_as_ttnn_makes_it(device):
    t = ttnn.from_torch(torch.tensor([-100, 200], dtype=torch.int64), device=device)
    assert t.dtype == ttnn.uint32
    assert ttnn.to_torch(t).tolist() == [4294967196, 200]


def test_int32_reductions_and_flip_are_exact(device):
    torch.manual_seed(0)
    x = torch.randint(-(2**31) + 1, 2**31 - 1, (2, 3, 64, 60), dtype=torch.int32)
    t = ttnn.from_torch(x, dtype=ttnn.int32, layout=ttnn.TILE_LAYOUT, device=device)
    for dim in (-1, -2, (-1, -2), 0, None):
        assert torch.equal(ttnn.to_torch(ttnn.max(t, dim=dim)).reshape(torch.amax(x, dim=dim).shape),
                           torch.amax(x, dim=dim)), dim
        assert torch.equal(ttnn.to_torch(ttnn.min(t, dim=dim)).reshape(torch.amin(x, dim=dim).shape),
                           torch.amin(x, dim=dim)), dim
    rows = ttnn.from_torch(x, dtype=ttnn.int32, layout=ttnn.ROW_MAJOR_LAYOUT, device=device)
    assert torch.equal(ttnn.to_torch(ttnn.flip(rows, [-1, 1])), torch.flip(x, [-1, 1]))
    small = torch.randint(-1000, 1000, (4, 32), dtype=torch.int32)
    s = ttnn.from_torch(small, dtype=ttnn.int32, layout=ttnn.TILE_LAYOUT, device=device)
    assert torch.equal(ttnn.to_torch(ttnn.sum(s, dim=-1, keepdim=True)), small.sum(-1, keepdim=True))


def test_flip_checks_its_dims_as_ttnn_does(device):
    t = ttnn.from_torch(torch.rand(1, 1, 32, 64), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)
    with pytest.raises(RuntimeError, match="Flip dimensions cannot be empty"):
        ttnn.flip(t, [])
    with pytest.raises(RuntimeError, match="Duplicate dimension"):
        ttnn.flip(t, [3, -1])


def test_native_add_keeps_int32_exact(device):
    """ttnn.add's C++ fast path computes int32 in doubles (not floats), wrapping as the device's int32 add."""
    a = torch.tensor([[2**30 + 1, 2**31 - 2, -5] + [0] * 29], dtype=torch.int32)
    b = torch.tensor([[2**30, 1, 3] + [7] * 29], dtype=torch.int32)
    ta = ttnn.from_torch(a, dtype=ttnn.int32, layout=ttnn.TILE_LAYOUT, device=device)
    tb = ttnn.from_torch(b, dtype=ttnn.int32, layout=ttnn.TILE_LAYOUT, device=device)
    out = allocmon._allocmon.binary(ta._device, tb._device, "add")
    got = torch.from_numpy(allocmon._allocmon.to_numpy(out)).to(torch.int64)
    want = (a.to(torch.int64) + b.to(torch.int64) + 2**31) % 2**32 - 2**31  # 2^30 + 1 + 2^30 wraps
    assert torch.equal(got, want)


def test_sharded_int32_gathers_exactly_over_a_mesh(mesh):
    values = torch.tensor(BIG * 8, dtype=torch.int32).reshape(8, 8)
    t = ttnn.from_torch(values, dtype=ttnn.int32, layout=ttnn.ROW_MAJOR_LAYOUT, device=mesh,
                        mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))
    back = ttnn.to_torch(t, mesh_composer=ttnn.ConcatMeshToTensor(mesh, dim=0))
    assert torch.equal(back, values)
    assert [ttnn.to_torch(d).reshape(-1)[0].item() for d in ttnn.get_device_tensors(t)] == [BIG[0]] * 8


def test_full_picks_int32_for_integer_fill_and_makes_rank_0_tensors(device):
    t = ttnn.full([], 3, layout=ttnn.TILE_LAYOUT, device=device)
    assert t.dtype == ttnn.int32 and tuple(t.shape) == ()
    assert torch.equal(ttnn.to_torch(t), torch.full([], 3, dtype=torch.int32))
    big = ttnn.full([2, 3], 2**31 - 1, device=device)
    assert torch.equal(ttnn.to_torch(big), torch.full([2, 3], 2**31 - 1, dtype=torch.int32))
    f = ttnn.full([5, 17], 2.0083008, layout=ttnn.TILE_LAYOUT, device=device)
    assert f.dtype == ttnn.bfloat16
    assert torch.equal(ttnn.to_torch(f), torch.full([5, 17], 2.0083008, dtype=torch.bfloat16))
    assert ttnn.zeros([2, 2], device=device).dtype == ttnn.bfloat16


def test_set_printoptions_profiles(device):
    t = ttnn.from_torch(torch.arange(2000, dtype=torch.int32).reshape(1, 2000), dtype=ttnn.int32, device=device)
    try:
        ttnn.set_printoptions(profile="short")
        short = repr(t)
        assert "..." in short and "1999" in short and " 1000," not in short
        ttnn.set_printoptions(profile="full")
        full = repr(t)
        assert "..." not in full and " 1000," in full and "1999" in full
        ttnn.set_printoptions(profile="empty")
        assert repr(t).startswith("ttnn.Tensor(..., shape=")
        with pytest.raises(ValueError, match="profile must be"):
            ttnn.set_printoptions(profile="long")
        assert torch._tensor_str.PRINT_OPTS.threshold == 1000  # torch's own options untouched
    finally:
        ttnn.set_printoptions(profile="short")
