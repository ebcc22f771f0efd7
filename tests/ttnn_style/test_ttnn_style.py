"""ttnn tests written the way tt-metal's unit tests are (tests/ttnn/unit_tests): its fixtures (device,
mesh_device with indirect mesh-shape parametrisation, device_params), shape parametrisation and PCC checks
against torch. Run with `python3 -m allocmon.emulate -m pytest tests/ttnn_style`: the fixtures come from
allocmon.pytest_plugin, as they would from tt-metal's conftest.py in a checkout."""

import pytest
import torch

import ttnn
from ttnn.model_preprocessing import preprocess_linear_bias, preprocess_linear_weight


def assert_with_pcc(expected, actual, pcc=0.9999):
    """Pearson correlation of the two results at least `pcc` (what tt-metal's tests check)."""
    assert list(expected.shape) == list(actual.shape), f"{list(expected.shape)} vs {list(actual.shape)}"
    stacked = torch.stack([expected.flatten().double(), actual.flatten().double()])
    measured = torch.corrcoef(stacked)[0, 1].item()
    assert measured >= pcc, f"PCC {measured} < {pcc}"


@pytest.mark.parametrize("h", [32, 64])
@pytest.mark.parametrize("w", [64, 128])
def test_add(device, h, w):
    torch.manual_seed(0)
    torch_a = torch.rand((h, w), dtype=torch.bfloat16)
    torch_b = torch.rand((h, w), dtype=torch.bfloat16)
    a = ttnn.from_torch(torch_a, layout=ttnn.TILE_LAYOUT, device=device)
    b = ttnn.from_torch(torch_b, layout=ttnn.TILE_LAYOUT, device=device)
    output = ttnn.to_torch(ttnn.add(a, b))
    assert_with_pcc(torch_a + torch_b, output, 0.9999)


@pytest.mark.parametrize("device_params", [{"l1_small_size": 16384}], indirect=True)
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("m,k,n", [(64, 128, 96), (384, 1024, 1024)])
def test_linear_with_bias_in_l1(device, batch_size, m, k, n):
    torch.manual_seed(0)
    torch_input = torch.randn((batch_size, m, k), dtype=torch.bfloat16)
    torch_weight = torch.randn((n, k), dtype=torch.bfloat16)
    torch_bias = torch.randn((n,), dtype=torch.bfloat16)
    expected = torch.nn.functional.linear(torch_input.float(), torch_weight.float(), torch_bias.float())
    weight = ttnn.to_device(preprocess_linear_weight(torch_weight, dtype=ttnn.bfloat16), device)
    bias = ttnn.to_device(preprocess_linear_bias(torch_bias, dtype=ttnn.bfloat16), device)
    tensor = ttnn.from_torch(torch_input, layout=ttnn.TILE_LAYOUT, device=device, memory_config=ttnn.L1_MEMORY_CONFIG)
    output = ttnn.linear(tensor, weight, bias=bias, memory_config=ttnn.L1_MEMORY_CONFIG, dtype=ttnn.bfloat8_b,
                         core_grid=ttnn.CoreGrid(y=batch_size, x=8))
    assert output.memory_config() == ttnn.L1_MEMORY_CONFIG and output.dtype == ttnn.bfloat8_b
    assert_with_pcc(expected, ttnn.to_torch(output).float(), 0.999)


@pytest.mark.parametrize("dim", [-1, -2])
def test_softmax(device, dim):
    torch.manual_seed(0)
    torch_input = torch.randn((1, 8, 64, 96), dtype=torch.bfloat16)
    tensor = ttnn.from_torch(torch_input, layout=ttnn.TILE_LAYOUT, device=device)
    assert_with_pcc(torch.softmax(torch_input.float(), dim=dim), ttnn.to_torch(ttnn.softmax(tensor, dim=dim)).float(),
                    0.999)


def test_layer_norm_and_permute(device, use_program_cache):
    torch.manual_seed(0)
    torch_input = torch.randn((2, 64, 128), dtype=torch.bfloat16)
    torch_weight, torch_bias = torch.rand((128,), dtype=torch.bfloat16), torch.rand((128,), dtype=torch.bfloat16)
    expected = torch.nn.functional.layer_norm(torch_input.float(), (128,), torch_weight.float(), torch_bias.float())
    tensor = ttnn.from_torch(torch_input, layout=ttnn.TILE_LAYOUT, device=device)
    weight = ttnn.from_torch(torch_weight.reshape(1, -1), layout=ttnn.TILE_LAYOUT, device=device)
    bias = ttnn.from_torch(torch_bias.reshape(1, -1), layout=ttnn.TILE_LAYOUT, device=device)
    output = ttnn.layer_norm(tensor, weight=weight, bias=bias)
    assert_with_pcc(expected, ttnn.to_torch(output).float(), 0.999)
    permuted = ttnn.permute(output, (0, 2, 1))
    assert permuted.shape == (2, 128, 64)
    assert device.num_program_cache_entries() == 2


@pytest.mark.parametrize("mesh_device", [(2, 4), (4, 8), 8], indirect=True)
def test_sharded_matmul_over_the_mesh(mesh_device):
    torch.manual_seed(0)
    rows, cols = tuple(mesh_device.shape)
    torch_a = torch.randn((rows * cols, 64, 128), dtype=torch.bfloat16)
    torch_b = torch.randn((128, 64), dtype=torch.bfloat16)
    a = ttnn.from_torch(torch_a, layout=ttnn.TILE_LAYOUT, device=mesh_device,
                        mesh_mapper=ttnn.ShardTensorToMesh(mesh_device, dim=0))
    b = ttnn.from_torch(torch_b, layout=ttnn.TILE_LAYOUT, device=mesh_device,
                        mesh_mapper=ttnn.ReplicateTensorToMesh(mesh_device))
    assert a.shape == (1, 64, 128) and mesh_device.get_num_devices() == rows * cols
    output = ttnn.matmul(a, b)
    gathered = ttnn.to_torch(output, mesh_composer=ttnn.ConcatMeshToTensor(mesh_device, dim=0))
    assert_with_pcc(torch_a.float() @ torch_b.float(), gathered.float(), 0.999)


def test_t3k_replicated_weights(t3k_mesh_device, silicon_arch_name, silicon_arch_wormhole_b0):
    assert silicon_arch_name == ttnn.get_arch_name() == "wormhole_b0"
    torch_weight = torch.randn((256, 256), dtype=torch.bfloat16)
    weight = ttnn.from_torch(torch_weight, layout=ttnn.TILE_LAYOUT, device=t3k_mesh_device,
                             mesh_mapper=ttnn.ReplicateTensorToMesh(t3k_mesh_device))
    for one in ttnn.get_device_tensors(weight):
        assert torch.equal(ttnn.to_torch(one), torch_weight)
    with pytest.raises(RuntimeError, match="mesh_composer"):
        ttnn.to_torch(weight)


def test_embedding_and_typecast(device):
    torch_ids = torch.randint(0, 1000, (2, 32))
    torch_table = torch.randn((1000, 128), dtype=torch.bfloat16)
    ids = ttnn.from_torch(torch_ids, dtype=ttnn.uint32, device=device)
    table = ttnn.from_torch(torch_table, device=device)
    output = ttnn.embedding(ids, table, layout=ttnn.TILE_LAYOUT)
    assert torch.equal(ttnn.to_torch(output), torch_table[torch_ids])
    assert ttnn.typecast(output, ttnn.float32).dtype == ttnn.float32
