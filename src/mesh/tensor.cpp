#include "tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

#include "ops.hpp"

namespace allocmon::mesh {

namespace {

int64_t volume(const std::vector<int64_t>& shape) {
  int64_t v = 1;
  for (int64_t d : shape) v *= d;
  return v;
}

int64_t round_up(int64_t value, int64_t to) {
  return (value + to - 1) / to * to;
}

// Copies the block of `block` shape between a big row-major array and a compact one. `offset` is the block's
// position in the big array; to_block selects the direction.
void copy_block(float* big, const std::vector<int64_t>& big_shape, float* compact,
                const std::vector<int64_t>& block, const std::vector<int64_t>& offset, bool to_block) {
  const size_t rank = big_shape.size();
  std::vector<int64_t> big_strides(rank, 1);
  for (size_t i = rank - 1; i > 0; --i) big_strides[i - 1] = big_strides[i] * big_shape[i];
  const int64_t row = block[rank - 1];
  int64_t compact_index = 0;
  std::function<void(size_t, int64_t)> walk = [&](size_t dim, int64_t big_index) {
    if (dim == rank - 1) {
      float* b = big + big_index + offset[dim];
      float* c = compact + compact_index;
      if (to_block)
        std::memcpy(c, b, sizeof(float) * row);
      else
        std::memcpy(b, c, sizeof(float) * row);
      compact_index += row;
      return;
    }
    for (int64_t i = 0; i < block[dim]; ++i) walk(dim + 1, big_index + (offset[dim] + i) * big_strides[dim]);
  };
  walk(0, 0);
}

std::vector<int64_t> shard_shape_for(const std::vector<int64_t>& shape, Distribution d, int rows, int cols) {
  std::vector<int64_t> shard = shape;
  auto split = [&](int dim, int parts, const char* axis) {
    if (dim < 0) return;
    if (dim >= static_cast<int>(shape.size()))
      throw std::invalid_argument("shard dim " + std::to_string(dim) + " out of range for a rank-" +
                                  std::to_string(shape.size()) + " tensor");
    if (shard[dim] % parts != 0)
      throw std::invalid_argument("tensor dim " + std::to_string(dim) + " (" + std::to_string(shard[dim]) +
                                  ") does not divide evenly over the " + std::to_string(parts) + " mesh " +
                                  axis);
    shard[dim] /= parts;
  };
  if (d.row_dim >= 0 && d.row_dim == d.col_dim)
    throw std::invalid_argument("row and column shard dims must differ");
  if (d.flat_dim >= 0 && (d.row_dim >= 0 || d.col_dim >= 0))
    throw std::invalid_argument("a dim sharded over every device excludes per-axis sharding");
  split(d.row_dim, rows, "rows");
  split(d.col_dim, cols, "columns");
  split(d.flat_dim, rows * cols, "devices");
  return shard;
}

}  // namespace

uint64_t element_size(DataType dtype) {
  switch (dtype) {
    case DataType::BFloat16:
      return 2;
    case DataType::Float32:
    case DataType::UInt32:
      return 4;
    case DataType::BFloat8B:
      break;
  }
  throw std::invalid_argument("bfloat8_b exists only in tile layout");
}

uint64_t tile_bytes(DataType dtype) {
  return dtype == DataType::BFloat8B ? 1088 : kTileSize * kTileSize * element_size(dtype);
}

uint64_t page_size(DataType dtype, Layout layout, const std::vector<int64_t>& shard_shape) {
  if (layout == Layout::Tile) return tile_bytes(dtype);
  return static_cast<uint64_t>(shard_shape.back()) * element_size(dtype);
}

uint64_t shard_bytes(DataType dtype, Layout layout, const std::vector<int64_t>& shard_shape) {
  if (layout == Layout::RowMajor) return static_cast<uint64_t>(volume(shard_shape)) * element_size(dtype);
  std::vector<int64_t> padded = shard_shape;
  if (padded.size() < 2) padded.insert(padded.begin(), 1);
  padded[padded.size() - 1] = round_up(padded[padded.size() - 1], kTileSize);
  padded[padded.size() - 2] = round_up(padded[padded.size() - 2], kTileSize);
  return static_cast<uint64_t>(volume(padded)) / (kTileSize * kTileSize) * tile_bytes(dtype);
}

void round_to_bfloat16(float* data, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &data[i], 4);
    if ((bits & 0x7f800000u) != 0x7f800000u) bits += 0x7fffu + ((bits >> 16) & 1u);  // NaN/Inf pass through
    bits &= 0xffff0000u;
    std::memcpy(&data[i], &bits, 4);
  }
}

void round_to_dtype(DataType dtype, float* data, size_t count) {
  switch (dtype) {
    case DataType::Float32:
      return;
    case DataType::BFloat16:
      round_to_bfloat16(data, count);
      return;
    case DataType::UInt32:
      for (size_t i = 0; i < count; ++i) data[i] = data[i] < 0 ? 0.0f : std::nearbyint(data[i]);
      return;
    case DataType::BFloat8B:
      // Blocks of 16 share the largest exponent; each value keeps 7 mantissa bits below it (round to
      // nearest).
      for (size_t block = 0; block < count; block += 16) {
        const size_t end = std::min(count, block + 16);
        float largest = 0;
        for (size_t i = block; i < end; ++i) largest = std::max(largest, std::fabs(data[i]));
        if (largest == 0 || !std::isfinite(largest)) continue;
        const float step = std::ldexp(1.0f, std::ilogb(largest) - 6);
        for (size_t i = block; i < end; ++i) data[i] = std::nearbyint(data[i] / step) * step;
      }
      return;
  }
}

size_t MeshTensor::shard_elements() const {
  return static_cast<size_t>(volume(shard_shape));
}

void MeshTensor::deallocate() {
  if (buffer) buffer->deallocate();
  shards.clear();
  shards.shrink_to_fit();
}

MeshTensor allocate_like(const MeshTensor& like, const std::vector<int64_t>& shard_shape,
                         std::optional<MemoryConfig> memory) {
  MeshTensor out;
  out.mesh = like.mesh;
  out.dtype = like.dtype;
  out.layout = like.layout;
  out.memory = memory.value_or(like.memory);
  out.distribution = like.distribution;
  out.shard_shape = shard_shape;
  out.shape = shard_shape;
  if (like.distribution.row_dim >= 0) out.shape[like.distribution.row_dim] *= like.mesh->rows();
  if (like.distribution.col_dim >= 0) out.shape[like.distribution.col_dim] *= like.mesh->cols();
  if (like.distribution.flat_dim >= 0) out.shape[like.distribution.flat_dim] *= like.mesh->num_devices();
  out.buffer =
      like.mesh->allocate(out.memory.type, shard_bytes(out.dtype, out.layout, shard_shape),
                          page_size(out.dtype, out.layout, shard_shape), std::nullopt, out.memory.shards);
  out.shards.resize(like.mesh->num_devices());
  if (like.mesh->holds_data())
    parallel_for_devices(like.mesh->num_devices(),
                         [&](int d) { out.shards[d].resize(static_cast<size_t>(volume(shard_shape))); });
  return out;
}

MeshTensor distribute(const std::shared_ptr<MeshDevice>& mesh, const float* data,
                      const std::vector<int64_t>& shape, DataType dtype, Layout layout, MemoryConfig memory,
                      Distribution distribution) {
  if (shape.empty()) throw std::invalid_argument("a device tensor needs at least one dimension");
  MeshTensor t;
  t.mesh = mesh;
  t.shape = shape;
  t.dtype = dtype;
  t.layout = layout;
  t.memory = memory;
  t.distribution = distribution;
  t.shard_shape = shard_shape_for(shape, distribution, mesh->rows(), mesh->cols());
  t.buffer = mesh->allocate(memory.type, shard_bytes(dtype, layout, t.shard_shape),
                            page_size(dtype, layout, t.shard_shape), std::nullopt, memory.shards);
  t.shards.resize(mesh->num_devices());
  if (!mesh->holds_data()) return t;  // memory only: the buffer, no values
  parallel_for_devices(mesh->num_devices(), [&](int index) {
    const int r = index / mesh->cols(), c = index % mesh->cols();
    std::vector<int64_t> offset(shape.size(), 0);
    if (distribution.row_dim >= 0) offset[distribution.row_dim] = r * t.shard_shape[distribution.row_dim];
    if (distribution.col_dim >= 0) offset[distribution.col_dim] = c * t.shard_shape[distribution.col_dim];
    if (distribution.flat_dim >= 0)
      offset[distribution.flat_dim] = index * t.shard_shape[distribution.flat_dim];
    auto& shard = t.shards[index];
    shard.resize(t.shard_elements());
    copy_block(const_cast<float*>(data), shape, shard.data(), t.shard_shape, offset, /*to_block=*/true);
    round_to_dtype(dtype, shard.data(), shard.size());
  });
  return t;
}

HostBuffer aggregate(const MeshTensor& t, Distribution composer, std::vector<int64_t>* out_shape) {
  if (!t.allocated()) throw std::runtime_error("tensor is deallocated");
  if (composer.row_dim >= 0 && composer.row_dim == composer.col_dim)
    throw std::invalid_argument("row and column concat dims must differ");
  for (int dim : {composer.row_dim, composer.col_dim, composer.flat_dim})
    if (dim >= static_cast<int>(t.shard_shape.size())) throw std::invalid_argument("concat dim out of range");
  const int mesh_cols = t.mesh->cols();
  // Which devices contribute, and where each one's shard lands.
  std::vector<int> devices;
  std::vector<int64_t> shape = t.shard_shape;
  int rows = 1, cols = 1;
  if (composer.flat_dim >= 0) {
    for (int i = 0; i < t.mesh->num_devices(); ++i) devices.push_back(i);
    shape[composer.flat_dim] *= t.mesh->num_devices();
  } else {
    rows = composer.row_dim >= 0 ? t.mesh->rows() : 1;
    cols = composer.col_dim >= 0 ? mesh_cols : 1;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) devices.push_back(r * mesh_cols + c);
    if (composer.row_dim >= 0) shape[composer.row_dim] *= rows;
    if (composer.col_dim >= 0) shape[composer.col_dim] *= cols;
  }
  HostBuffer out(static_cast<size_t>(volume(shape)));
  if (!t.mesh->holds_data()) {  // memory only: zeros of the right shape
    std::fill(out.begin(), out.end(), 0.0f);
    if (out_shape) *out_shape = shape;
    return out;
  }
  parallel_for_devices(static_cast<int>(devices.size()), [&](int k) {
    std::vector<int64_t> offset(shape.size(), 0);
    if (composer.flat_dim >= 0) {
      offset[composer.flat_dim] = k * t.shard_shape[composer.flat_dim];
    } else {
      const int r = k / cols, c = k % cols;
      if (composer.row_dim >= 0) offset[composer.row_dim] = r * t.shard_shape[composer.row_dim];
      if (composer.col_dim >= 0) offset[composer.col_dim] = c * t.shard_shape[composer.col_dim];
    }
    auto& shard = const_cast<HostBuffer&>(t.shards[devices[k]]);
    copy_block(out.data(), shape, shard.data(), t.shard_shape, offset, /*to_block=*/false);
  });
  if (out_shape) *out_shape = shape;
  return out;
}

MeshTensor relocate(const MeshTensor& tensor, MemoryConfig memory, Layout layout) {
  if (!tensor.allocated()) throw std::runtime_error("tensor is deallocated");
  MeshTensor out = tensor;
  out.memory = memory;
  out.layout = layout;
  out.buffer =
      tensor.mesh->allocate(memory.type, shard_bytes(tensor.dtype, layout, tensor.shard_shape),
                            page_size(tensor.dtype, layout, tensor.shard_shape), std::nullopt, memory.shards);
  return out;  // the shards are copied with the struct
}

}  // namespace allocmon::mesh
