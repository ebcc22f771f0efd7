// Distributed tensors on an emulated mesh: host data split into per-device shards (or replicated), held in
// tile layout accounting (32x32 tiles, one tile per page) in a lock-step mesh buffer, and gathered back.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host_memory.hpp"
#include "mesh_device.hpp"
#include "shard.hpp"

namespace allocmon::mesh {

// DataType (shard.hpp): bfloat8_b is block floating point (16 values share an exponent), tile layout only,
// and held as bfloat16 (which holds its values exactly); int32/uint32 values as the integers (exact).
enum class Layout { Tile, RowMajor };

inline constexpr int kTileSize = 32;

// Which tensor dim is split over the mesh rows and which over the mesh columns; -1 replicates along that
// axis.
struct Distribution {
  int row_dim = -1;
  int col_dim = -1;
  int flat_dim = -1;  // split over every device in row-major mesh order (ttnn's ShardTensorToMesh); excludes
                      // the two above
};

// Bytes per element in row-major layout (bfloat8_b has none: it exists only in tiles).
uint64_t element_size(DataType dtype);
// Bytes per 32x32 tile (bfloat8_b: 1024 mantissas + 64 shared exponents).
uint64_t tile_bytes(DataType dtype);
// Bytes per page: a whole tile in tile layout, a row in row-major layout.
uint64_t page_size(DataType dtype, Layout layout, const std::vector<int64_t>& shard_shape);
// Bytes one device holds for a shard (tile layout pads the last two dims to 32).
uint64_t shard_bytes(DataType dtype, Layout layout, const std::vector<int64_t>& shard_shape);

// Where a tensor's buffer lives: interleaved over every bank of a memory type, or sharded over `shards` cores
// (banks) of it.
struct MemoryConfig {
  BufferType type = BufferType::DRAM;
  uint32_t shards = 0;  // 0: interleaved
  MemoryConfig(BufferType buffer_type = BufferType::DRAM,
               uint32_t shard_count = 0)  // NOLINT: implicit on purpose
      : type(buffer_type), shards(shard_count) {}
};

struct MeshTensor {
  std::shared_ptr<MeshDevice> mesh;
  std::vector<int64_t> shape;        // global
  std::vector<int64_t> shard_shape;  // per device
  DataType dtype = DataType::BFloat16;
  Layout layout = Layout::Tile;
  MemoryConfig memory;
  Distribution distribution;
  std::vector<Shard> shards;  // device contents in the device's element type, mesh row-major order
  std::shared_ptr<MeshBuffer> buffer;

  bool allocated() const { return buffer && buffer->allocated(); }
  void deallocate();
  size_t shard_elements() const;
};

// ttnn's name of a data type ("bfloat16", "bfloat8_b", ...).
const char* data_type_name(DataType dtype);

// What a person reads of a tensor in allocmon's holders (docs/attribution.md): its type, layout, logical
// (global) shape, memory and how it lies on the mesh — "bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved,
// sharded dim 3 over 8". Said for its mesh buffer (allocmon_tensor_begin) when tracking is on.
std::string tensor_description(const MeshTensor& tensor);

// Splits host data (row-major, `shape`) over the mesh and allocates its buffer. Each sharded dim must divide
// evenly.
MeshTensor distribute(const std::shared_ptr<MeshDevice>& mesh, const float* data,
                      const std::vector<int64_t>& shape, DataType dtype, Layout layout, MemoryConfig memory,
                      Distribution distribution);
// The same from float64 host data: int32/uint32 tensors keep every value exactly.
MeshTensor distribute_double(const std::shared_ptr<MeshDevice>& mesh, const double* data,
                             const std::vector<int64_t>& shape, DataType dtype, Layout layout,
                             MemoryConfig memory, Distribution distribution);
// The same from bfloat16 host data given as its bits (no float32 copy of a large tensor on the way).
MeshTensor distribute_bfloat16(const std::shared_ptr<MeshDevice>& mesh, const uint16_t* bits,
                               const std::vector<int64_t>& shape, DataType dtype, Layout layout,
                               MemoryConfig memory, Distribution distribution);
// A tensor allocated on the mesh with this per-device shape (contents unset): what every op output is.
MeshTensor allocate_tensor(const std::shared_ptr<MeshDevice>& mesh, const std::vector<int64_t>& shard_shape,
                           DataType dtype, Layout layout, MemoryConfig memory, Distribution distribution);
// A tensor of the given shard shape allocated like an op output (contents unset), in `memory` if given.
MeshTensor allocate_like(const MeshTensor& like, const std::vector<int64_t>& shard_shape,
                         std::optional<MemoryConfig> memory = std::nullopt);
// The same contents in a new buffer of another memory type and/or layout (the original stays allocated).
MeshTensor relocate(const MeshTensor& tensor, MemoryConfig memory, Layout layout);
// Concatenates shards back along the given dims (composer); -1 takes the first device's shard along that
// axis.
HostBuffer aggregate(const MeshTensor& tensor, Distribution composer, std::vector<int64_t>* out_shape);
// The same as doubles (exact for every type, int32/uint32 included).
std::vector<double> aggregate_double(const MeshTensor& tensor, Distribution composer,
                                     std::vector<int64_t>* out_shape);
// The same as bfloat16 bits (exact for bfloat16 and block-float tensors).
Bfloat16Buffer aggregate_bfloat16(const MeshTensor& tensor, Distribution composer,
                                  std::vector<int64_t>* out_shape);

}  // namespace allocmon::mesh
