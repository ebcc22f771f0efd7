"""int32/uint32 tensors hold every value exactly (a float32 holds them only up to 2^24): on the host, on the
mesh, through ops (reductions, data movement, eltwise on the C++ fast path) and back to torch; integer host data
converts to them modulo 2^32, as ttnn converts it; ttnn.full picks int32 for an integer fill and makes rank-0
tensors; set_printoptions changes how tensors print."""

import pytest
import torch

import allocmon
from allocmon import ttnn

BIG = [2147483647, -2147483648, 16777217, -16777219, 123456789, 0, -1, 2**30 + 3]


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
    rng = torch.Generator().manual_seed(0)  # a generator of its own: torch's global one stays as it was
    x = torch.randint(-(2**31) + 1, 2**31 - 1, (2, 3, 64, 60), dtype=torch.int32, generator=rng)
    t = ttnn.from_torch(x, dtype=ttnn.int32, layout=ttnn.TILE_LAYOUT, device=device)
    for dim in (-1, -2, (-1, -2), 0, None):
        assert torch.equal(ttnn.to_torch(ttnn.max(t, dim=dim)).reshape(torch.amax(x, dim=dim).shape),
                           torch.amax(x, dim=dim)), dim
        assert torch.equal(ttnn.to_torch(ttnn.min(t, dim=dim)).reshape(torch.amin(x, dim=dim).shape),
                           torch.amin(x, dim=dim)), dim
    rows = ttnn.from_torch(x, dtype=ttnn.int32, layout=ttnn.ROW_MAJOR_LAYOUT, device=device)
    assert torch.equal(ttnn.to_torch(ttnn.flip(rows, [-1, 1])), torch.flip(x, [-1, 1]))
    small = torch.randint(-1000, 1000, (4, 32), dtype=torch.int32, generator=rng)
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


def _sampling_inputs(device, users=32, width=64, k=32, p=1.0):
    values = torch.randn(1, 1, users, width, generator=torch.Generator().manual_seed(0))
    indices = torch.arange(width, dtype=torch.int32).expand(1, 1, users, width) + 1000
    return (ttnn.from_torch(values, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device),
            ttnn.from_torch(indices, dtype=ttnn.int32, layout=ttnn.ROW_MAJOR_LAYOUT, device=device),
            ttnn.from_torch(torch.full([users], k), dtype=ttnn.uint32, layout=ttnn.ROW_MAJOR_LAYOUT, device=device),
            ttnn.from_torch(torch.full([users], p), dtype=ttnn.bfloat16, layout=ttnn.ROW_MAJOR_LAYOUT,
                            device=device),
            ttnn.ones([users], layout=ttnn.ROW_MAJOR_LAYOUT, device=device)), values


def test_sampling_top_1_is_the_largest_value_and_draws_are_reproducible_after_manual_seed(device):
    (values, indices, k, p, temp), raw = _sampling_inputs(device, k=1)
    out = ttnn.sampling(values, indices, k=k, p=p, temp=temp)
    assert out.dtype == ttnn.uint32 and tuple(out.shape) == (1, 1, 1, 32)
    want = raw.to(torch.bfloat16).float()[0, 0].argmax(-1) + 1000
    assert torch.equal(ttnn.to_torch(out).reshape(-1), want.to(torch.int64))

    (values, indices, k, p, temp), _ = _sampling_inputs(device, k=32)
    ttnn.manual_seed(seeds=42, device=device)
    first = [ttnn.to_torch(ttnn.sampling(values, indices, k=k, p=p, temp=temp)) for _ in range(3)]
    assert not torch.equal(first[0], first[1]) or not torch.equal(first[1], first[2])  # the stream goes on
    ttnn.manual_seed(seeds=42, device=device)
    again = [ttnn.to_torch(ttnn.sampling(values, indices, k=k, p=p, temp=temp)) for _ in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert all(((t >= 1000) & (t < 1064)).all() for t in first)
    # UINT32_MAX leaves the generators where they are; seed= restarts every used core from that seed.
    ttnn.manual_seed(seeds=42, device=device)
    ttnn.manual_seed(seeds=2**32 - 1, device=device)
    assert torch.equal(ttnn.to_torch(ttnn.sampling(values, indices, k=k, p=p, temp=temp)), first[0])
    seeded = [ttnn.to_torch(ttnn.sampling(values, indices, k=k, p=p, temp=temp, seed=7)) for _ in range(2)]
    assert torch.equal(seeded[0], seeded[1])


def test_manual_seed_per_core_seeds_and_its_checks(device):
    (values, indices, k, p, temp), _ = _sampling_inputs(device, users=4)
    ids = ttnn.from_torch(torch.tensor([0, 1, 2, 3]), dtype=ttnn.uint32, layout=ttnn.ROW_MAJOR_LAYOUT, device=device)
    seeds = ttnn.from_torch(torch.tensor([5, 6, 7, 8]), dtype=ttnn.uint32, layout=ttnn.ROW_MAJOR_LAYOUT,
                            device=device)
    ttnn.manual_seed(seeds=seeds, user_ids=ids)
    a = ttnn.to_torch(ttnn.sampling(values, indices, k=k, p=p, temp=temp))
    ttnn.manual_seed(seeds=seeds, user_ids=ids)
    ttnn.manual_seed(seeds=99, device=device, user_ids=9)  # another core: users 0-3 unchanged
    assert torch.equal(ttnn.to_torch(ttnn.sampling(values, indices, k=k, p=p, temp=temp)), a)
    with pytest.raises(RuntimeError, match="user_ids must not be provided as a scalar"):
        ttnn.manual_seed(seeds=seeds, device=device, user_ids=7)
    with pytest.raises(RuntimeError, match="device must be provided"):
        ttnn.manual_seed(42)
    with pytest.raises(RuntimeError, match="from 0 to 31"):
        ttnn.manual_seed(42, device=device, user_ids=32)
    with pytest.raises(RuntimeError, match="k must have shape"):
        ttnn.sampling(values, indices, k=ttnn.from_torch(torch.tensor([1, 2]), dtype=ttnn.uint32, device=device),
                      p=p, temp=temp)
