// Device ops on the emulated mesh. Each allocates its output through the mesh allocator, reports its circular
// buffers (CB) for the run and its kernels (KERNEL) into the program cache, and computes every device's shard
// in parallel on a thread pool. bfloat16 outputs are rounded like the hardware's packer.
#pragma once

#include <functional>

#include "tensor.hpp"

namespace allocmon::mesh {

enum class BinaryOp { Add, Subtract, Multiply };

// Elementwise; both inputs have the same per-device shape. The output goes to `memory` (default: a's).
MeshTensor binary(const MeshTensor& a, const MeshTensor& b, BinaryOp op,
                  std::optional<MemoryConfig> memory = {});
MeshTensor binary_scalar(const MeshTensor& a, float scalar, BinaryOp op,
                         std::optional<MemoryConfig> memory = {});
MeshTensor relu(const MeshTensor& a, std::optional<MemoryConfig> memory = {});
// Sum along one dim of each device's shard; the dim stays, with size 1 (tile tensors keep their rank).
MeshTensor sum(const MeshTensor& a, int dim, std::optional<MemoryConfig> memory = {});
inline MeshTensor add(const MeshTensor& a, const MeshTensor& b) {
  return binary(a, b, BinaryOp::Add);
}
inline MeshTensor add_scalar(const MeshTensor& a, float s) {
  return binary_scalar(a, s, BinaryOp::Add);
}
// Batched: (..., M, K) x (..., K, N) per device shard, batch dims equal (or b without batch dims).
MeshTensor matmul(const MeshTensor& a, const MeshTensor& b, std::optional<MemoryConfig> memory = {});

// Runs fn(device_index) for every device of the mesh on up to hardware_concurrency threads.
void parallel_for_devices(int devices, const std::function<void(int)>& fn);

}  // namespace allocmon::mesh
