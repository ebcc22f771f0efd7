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

// Calls fn(big_index, compact_index, row) for each row of the block of `block` shape at `offset` in a big
// row-major array of `big_shape`: where that row is in the big array and in the compact block.
template <typename Fn>
void for_each_row(const std::vector<int64_t>& big_shape, const std::vector<int64_t>& block,
                  const std::vector<int64_t>& offset, Fn&& fn) {
  const size_t rank = big_shape.size();
  std::vector<int64_t> big_strides(rank, 1);
  for (size_t i = rank - 1; i > 0; --i) big_strides[i - 1] = big_strides[i] * big_shape[i];
  const int64_t row = block[rank - 1];
  int64_t compact_index = 0;
  std::function<void(size_t, int64_t)> walk = [&](size_t dim, int64_t big_index) {
    if (dim == rank - 1) {
      fn(big_index + offset[dim], compact_index, row);
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

// Allocates the tensor's mesh buffer (its fields are set), said to hold the tensor while tracking is on: the
// description is built only then, so with tracking off this costs one branch.
std::shared_ptr<MeshBuffer> allocate_buffer(const MeshTensor& t) {
  struct Described {
    bool on = false;
    ~Described() {
      if (on) allocmon_tensor_end();  // also when the allocation throws (out of memory)
    }
  } described;
  if (tracking_enabled()) {
    allocmon_tensor_begin(tensor_description(t).c_str());
    described.on = true;
  }
  return t.mesh->allocate(t.memory.type, shard_bytes(t.dtype, t.layout, t.shard_shape),
                          page_size(t.dtype, t.layout, t.shard_shape), std::nullopt, t.memory.shards);
}

}  // namespace

const char* data_type_name(DataType dtype) {
  switch (dtype) {
    case DataType::BFloat16:
      return "bfloat16";
    case DataType::Float32:
      return "float32";
    case DataType::BFloat8B:
      return "bfloat8_b";
    case DataType::BFloat4B:
      return "bfloat4_b";
    case DataType::UInt32:
      return "uint32";
    case DataType::Int32:
      return "int32";
    case DataType::UInt16:
      return "uint16";
    case DataType::UInt8:
      return "uint8";
    case DataType::Int8:
      return "int8";
    case DataType::Fp8E4M3:
      return "fp8_e4m3";
  }
  return "?";
}

std::string tensor_description(const MeshTensor& t) {
  std::string out = data_type_name(t.dtype);
  out += t.layout == Layout::Tile ? " TILE [" : " ROW_MAJOR [";
  for (size_t i = 0; i < t.shape.size(); ++i) out += (i ? ", " : "") + std::to_string(t.shape[i]);
  out += "] ";
  out += buffer_type_name(t.memory.type);
  out += t.memory.shards ? " sharded over " + std::to_string(t.memory.shards) + " cores" : " interleaved";
  const int rows = t.mesh ? t.mesh->rows() : 1, cols = t.mesh ? t.mesh->cols() : 1;
  const Distribution& d = t.distribution;
  if (rows * cols <= 1) return out;  // one device: nothing to say of the mesh
  auto over = [](int dim, int parts, const char* axis) {
    return "dim " + std::to_string(dim) + " over " + std::to_string(parts) + " " + axis;
  };
  if (d.flat_dim >= 0) {
    out += ", sharded dim " + std::to_string(d.flat_dim) + " over " + std::to_string(rows * cols);
  } else if (d.row_dim >= 0 && d.col_dim >= 0) {
    out += ", sharded " + over(d.row_dim, rows, "rows") + ", " + over(d.col_dim, cols, "columns");
  } else if (d.row_dim >= 0 || d.col_dim >= 0) {
    const bool by_row = d.row_dim >= 0;
    const int split = by_row ? rows : cols, other = by_row ? cols : rows;
    if (other == 1)  // a 1xN or Nx1 mesh: the one axis is every device
      out += ", sharded dim " + std::to_string(by_row ? d.row_dim : d.col_dim) + " over " +
             std::to_string(split);
    else
      out += ", sharded " + over(by_row ? d.row_dim : d.col_dim, split, by_row ? "rows" : "columns") +
             ", replicated over " + std::to_string(other) + (by_row ? " columns" : " rows");
  } else {
    out += ", replicated";
  }
  return out;
}

uint64_t element_size(DataType dtype) {
  switch (dtype) {
    case DataType::UInt8:
    case DataType::Int8:
    case DataType::Fp8E4M3:
      return 1;
    case DataType::BFloat16:
    case DataType::UInt16:
      return 2;
    case DataType::Float32:
    case DataType::UInt32:
    case DataType::Int32:
      return 4;
    case DataType::BFloat8B:
    case DataType::BFloat4B:
      break;
  }
  throw std::invalid_argument("block floating point (bfloat8_b, bfloat4_b) exists only in tile layout");
}

uint64_t tile_bytes(DataType dtype) {
  // Block floats: one mantissa byte (bfloat8_b) or nibble (bfloat4_b) per value, plus 64 shared exponents
  // (one per 16 values).
  if (dtype == DataType::BFloat8B) return 1024 + 64;
  if (dtype == DataType::BFloat4B) return 512 + 64;
  return kTileSize * kTileSize * element_size(dtype);
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

size_t MeshTensor::shard_elements() const {
  return static_cast<size_t>(volume(shard_shape));
}

void MeshTensor::deallocate() {
  if (buffer) buffer->deallocate();
  shards.clear();
  shards.shrink_to_fit();
}

MeshTensor allocate_tensor(const std::shared_ptr<MeshDevice>& mesh, const std::vector<int64_t>& shard_shape,
                           DataType dtype, Layout layout, MemoryConfig memory, Distribution distribution) {
  if (shard_shape.empty()) throw std::invalid_argument("a device tensor needs at least one dimension");
  for (int64_t d : shard_shape)
    if (d < 0) throw std::invalid_argument("tensor dims must not be negative");  // 0: an empty tensor
  if (layout == Layout::RowMajor) element_size(dtype);                           // throws for block floats
  MeshTensor out;
  out.mesh = mesh;
  out.dtype = dtype;
  out.layout = layout;
  out.memory = memory;
  out.shard_shape = shard_shape;
  out.shape = shard_shape;
  // The global shape only where the distributed dims still exist in this rank.
  const int rank = static_cast<int>(shard_shape.size());
  auto keep = [rank](int dim) { return dim < rank ? dim : -1; };
  out.distribution = {keep(distribution.row_dim), keep(distribution.col_dim), keep(distribution.flat_dim)};
  if (out.distribution.row_dim >= 0) out.shape[out.distribution.row_dim] *= mesh->rows();
  if (out.distribution.col_dim >= 0) out.shape[out.distribution.col_dim] *= mesh->cols();
  if (out.distribution.flat_dim >= 0) out.shape[out.distribution.flat_dim] *= mesh->num_devices();
  out.buffer = allocate_buffer(out);
  out.shards.resize(mesh->num_devices());
  if (mesh->holds_data())
    parallel_for_devices(mesh->num_devices(), [&](int d) {
      out.shards[d] = Shard(dtype, static_cast<size_t>(volume(shard_shape)));
    });
  return out;
}

MeshTensor allocate_like(const MeshTensor& like, const std::vector<int64_t>& shard_shape,
                         std::optional<MemoryConfig> memory) {
  return allocate_tensor(like.mesh, shard_shape, like.dtype, like.layout, memory.value_or(like.memory),
                         like.distribution);
}

namespace {

// Host data to distribute: float32 values, or bfloat16 values as their bits (a torch bfloat16 tensor, passed
// without widening it to float32 first).
// float64 values (int32/uint32 data, which floats hold only up to 2^24).
struct HostValues {
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
  const double* f64 = nullptr;
  void copy_floats(int64_t from, int64_t n, float* out) const {
    if (f32)
      std::memcpy(out, f32 + from, static_cast<size_t>(n) * sizeof(float));
    else if (f64)
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(f64[from + i]);
    else
      for (int64_t i = 0; i < n; ++i) out[i] = bfloat16_to_float(bf16[from + i]);
  }
};

MeshTensor distribute_values(const std::shared_ptr<MeshDevice>& mesh, HostValues data,
                             const std::vector<int64_t>& shape, DataType dtype, Layout layout,
                             MemoryConfig memory, Distribution distribution) {
  if (shape.empty()) throw std::invalid_argument("a device tensor needs at least one dimension");
  MeshTensor t;
  t.mesh = mesh;
  t.shape = shape;
  t.dtype = dtype;
  t.layout = layout;
  t.memory = memory;
  t.distribution = distribution;
  t.shard_shape = shard_shape_for(shape, distribution, mesh->rows(), mesh->cols());
  t.buffer = allocate_buffer(t);
  t.shards.resize(mesh->num_devices());
  if (!mesh->holds_data()) return t;  // memory only: the buffer, no values
  parallel_for_devices(mesh->num_devices(), [&](int index) {
    const int r = index / mesh->cols(), c = index % mesh->cols();
    std::vector<int64_t> offset(shape.size(), 0);
    if (distribution.row_dim >= 0) offset[distribution.row_dim] = r * t.shard_shape[distribution.row_dim];
    if (distribution.col_dim >= 0) offset[distribution.col_dim] = c * t.shard_shape[distribution.col_dim];
    if (distribution.flat_dim >= 0)
      offset[distribution.flat_dim] = index * t.shard_shape[distribution.flat_dim];
    Shard& shard = t.shards[index];
    shard = Shard(dtype, t.shard_elements());
    if (is_block_float(dtype)) {
      // Blocks of 16 share an exponent across rows: round the whole shard at once, then store it.
      HostBuffer values(t.shard_elements());
      for_each_row(shape, t.shard_shape, offset, [&](int64_t from, int64_t to, int64_t n) {
        data.copy_floats(from, n, values.data() + to);
      });
      round_to_dtype(dtype, values.data(), values.size());
      shard.write_rounded(0, values.size(), values.data());
      return;
    }
    std::vector<float> row(static_cast<size_t>(t.shard_shape.back()));
    for_each_row(shape, t.shard_shape, offset, [&](int64_t from, int64_t to, int64_t n) {
      if (data.bf16) {
        shard.write_bfloat16(static_cast<size_t>(to), static_cast<size_t>(n), data.bf16 + from);
        return;
      }
      if (data.f64) {
        shard.write(static_cast<size_t>(to), static_cast<size_t>(n), data.f64 + from);
        return;
      }
      data.copy_floats(from, n, row.data());
      shard.write(static_cast<size_t>(to), static_cast<size_t>(n), row.data());
    });
  });
  return t;
}

// Where each device's shard lands when a composer concatenates them: the devices that contribute, in order,
// and the shape of the whole.
struct Gather {
  std::vector<int> devices;
  std::vector<int64_t> shape;
  int cols = 1;
};

Gather plan_gather(const MeshTensor& t, Distribution composer) {
  if (!t.allocated()) throw std::runtime_error("tensor is deallocated");
  if (composer.row_dim >= 0 && composer.row_dim == composer.col_dim)
    throw std::invalid_argument("row and column concat dims must differ");
  for (int dim : {composer.row_dim, composer.col_dim, composer.flat_dim})
    if (dim >= static_cast<int>(t.shard_shape.size())) throw std::invalid_argument("concat dim out of range");
  const int mesh_cols = t.mesh->cols();
  Gather g;
  g.shape = t.shard_shape;
  if (composer.flat_dim >= 0) {
    for (int i = 0; i < t.mesh->num_devices(); ++i) g.devices.push_back(i);
    g.shape[composer.flat_dim] *= t.mesh->num_devices();
    return g;
  }
  const int rows = composer.row_dim >= 0 ? t.mesh->rows() : 1;
  g.cols = composer.col_dim >= 0 ? mesh_cols : 1;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < g.cols; ++c) g.devices.push_back(r * mesh_cols + c);
  if (composer.row_dim >= 0) g.shape[composer.row_dim] *= rows;
  if (composer.col_dim >= 0) g.shape[composer.col_dim] *= g.cols;
  return g;
}

// Copies every contributing shard into `out` (the whole's row-major layout) with read(shard, from, n, to).
template <typename Read>
void gather_rows(const MeshTensor& t, Distribution composer, const Gather& g, Read read) {
  parallel_for_devices(static_cast<int>(g.devices.size()), [&](int k) {
    std::vector<int64_t> offset(g.shape.size(), 0);
    if (composer.flat_dim >= 0) {
      offset[composer.flat_dim] = k * t.shard_shape[composer.flat_dim];
    } else {
      const int r = k / g.cols, c = k % g.cols;
      if (composer.row_dim >= 0) offset[composer.row_dim] = r * t.shard_shape[composer.row_dim];
      if (composer.col_dim >= 0) offset[composer.col_dim] = c * t.shard_shape[composer.col_dim];
    }
    const Shard& shard = t.shards[g.devices[k]];
    for_each_row(g.shape, t.shard_shape, offset,
                 [&](int64_t to, int64_t from, int64_t n) { read(shard, from, n, to); });
  });
}

}  // namespace

MeshTensor distribute(const std::shared_ptr<MeshDevice>& mesh, const float* data,
                      const std::vector<int64_t>& shape, DataType dtype, Layout layout, MemoryConfig memory,
                      Distribution distribution) {
  return distribute_values(mesh, HostValues{data, nullptr, nullptr}, shape, dtype, layout, memory,
                           distribution);
}

MeshTensor distribute_double(const std::shared_ptr<MeshDevice>& mesh, const double* data,
                             const std::vector<int64_t>& shape, DataType dtype, Layout layout,
                             MemoryConfig memory, Distribution distribution) {
  return distribute_values(mesh, HostValues{nullptr, nullptr, data}, shape, dtype, layout, memory,
                           distribution);
}

MeshTensor distribute_bfloat16(const std::shared_ptr<MeshDevice>& mesh, const uint16_t* bits,
                               const std::vector<int64_t>& shape, DataType dtype, Layout layout,
                               MemoryConfig memory, Distribution distribution) {
  return distribute_values(mesh, HostValues{nullptr, bits, nullptr}, shape, dtype, layout, memory,
                           distribution);
}

namespace {

template <typename Buffer>
Buffer aggregate_as(const MeshTensor& t, Distribution composer, std::vector<int64_t>* out_shape) {
  const Gather g = plan_gather(t, composer);
  Buffer out(static_cast<size_t>(volume(g.shape)));
  if (!t.mesh->holds_data())  // memory only: zeros of the right shape
    std::fill(out.begin(), out.end(), 0);
  else
    gather_rows(t, composer, g, [&](const Shard& shard, int64_t from, int64_t n, int64_t to) {
      shard.read(static_cast<size_t>(from), static_cast<size_t>(n), out.data() + to);
    });
  if (out_shape) *out_shape = g.shape;
  return out;
}

}  // namespace

HostBuffer aggregate(const MeshTensor& t, Distribution composer, std::vector<int64_t>* out_shape) {
  return aggregate_as<HostBuffer>(t, composer, out_shape);
}

std::vector<double> aggregate_double(const MeshTensor& t, Distribution composer,
                                     std::vector<int64_t>* out_shape) {
  return aggregate_as<std::vector<double>>(t, composer, out_shape);
}

Bfloat16Buffer aggregate_bfloat16(const MeshTensor& t, Distribution composer,
                                  std::vector<int64_t>* out_shape) {
  const Gather g = plan_gather(t, composer);
  Bfloat16Buffer out(static_cast<size_t>(volume(g.shape)));
  if (!t.mesh->holds_data())
    std::fill(out.begin(), out.end(), uint16_t{0});
  else
    gather_rows(t, composer, g, [&](const Shard& shard, int64_t from, int64_t n, int64_t to) {
      shard.read_bfloat16(static_cast<size_t>(from), static_cast<size_t>(n), out.data() + to);
    });
  if (out_shape) *out_shape = g.shape;
  return out;
}

MeshTensor relocate(const MeshTensor& tensor, MemoryConfig memory, Layout layout) {
  if (!tensor.allocated()) throw std::runtime_error("tensor is deallocated");
  MeshTensor out = tensor;
  out.memory = memory;
  out.layout = layout;
  out.buffer = allocate_buffer(out);
  return out;  // the shards are copied with the struct
}

}  // namespace allocmon::mesh
