// Device ops on the emulated mesh. Each allocates its output through the mesh allocator, reports its circular
// buffers (CB) for the run and its kernels (KERNEL) into the program cache, and computes every device's shard
// in parallel on a thread pool. bfloat16 outputs are rounded like the hardware's packer.
#pragma once

#include <functional>

#include "tensor.hpp"

namespace allocmon::mesh {

MeshTensor add(const MeshTensor& a, const MeshTensor& b);
MeshTensor add_scalar(const MeshTensor& a, float scalar);
// Batched: (..., M, K) x (..., K, N) per device shard, batch dims equal (or b without batch dims).
MeshTensor matmul(const MeshTensor& a, const MeshTensor& b);

// Runs fn(device_index) for every device of the mesh on up to hardware_concurrency threads.
void parallel_for_devices(int devices, const std::function<void(int)>& fn);

}  // namespace allocmon::mesh
