#include "ops.hpp"

#include <cblas.h>

#include <atomic>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace allocmon::mesh {

namespace {

// Sizes the proof of concept saw on hardware per device: ~12 KB of kernels for add, ~24 KB for matmul.
constexpr uint64_t kAddKernelBytes = 12 * 1024;
constexpr uint64_t kMatmulKernelBytes = 24 * 1024;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

void check_same_mesh(const MeshTensor& a, const MeshTensor& b) {
  if (!a.allocated() || !b.allocated()) throw std::runtime_error("op input is deallocated");
  if (a.mesh != b.mesh) throw std::invalid_argument("op inputs are on different mesh devices");
}

// Circular buffers of one op: `tiles` double-buffered tiles for each of `cbs` buffers.
uint64_t cb_bytes(const MeshTensor& t, int cbs, int tiles) {
  return static_cast<uint64_t>(cbs) * tiles * tile_bytes(t.dtype);
}

// The program cache's key, as tt-metal hashes a program: the program and its tensors' specs (shape, type,
// layout, memory, distribution), so another shape or type compiles (and caches) new kernels.
std::string program_key(const char* name, std::initializer_list<const MeshTensor*> tensors) {
  std::string key = std::string(name) + "[";
  for (const MeshTensor* t : tensors) {
    if (t) key += tensor_description(*t) + ";";
  }
  return key + "]";
}

struct ProgramRun {
  ProgramRun(MeshDevice& mesh, const std::string& name, uint64_t cbs, uint64_t kernels)
      : mesh_(mesh), cbs_(cbs) {
    mesh_.begin_program(name, cbs, kernels);
  }
  ~ProgramRun() { mesh_.end_program(cbs_); }
  MeshDevice& mesh_;
  uint64_t cbs_;
};

}  // namespace

void parallel_for_devices(int devices, const std::function<void(int)>& fn) {
  const int threads =
      std::max(1, std::min<int>(devices, static_cast<int>(std::thread::hardware_concurrency())));
  std::atomic<int> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (int i; (i = next.fetch_add(1)) < devices;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

namespace {

const char* program_name(BinaryOp op, bool scalar) {
  switch (op) {
    case BinaryOp::Add:
      return scalar ? "eltwise_add_scalar" : "eltwise_add";
    case BinaryOp::Subtract:
      return scalar ? "eltwise_sub_scalar" : "eltwise_sub";
    case BinaryOp::Multiply:
      return scalar ? "eltwise_mul_scalar" : "eltwise_mul";
  }
  return "eltwise";
}

// out = kernel(a[, b]) elementwise, a chunk at a time: inputs read as floats from the types they are held in
// (as doubles where an int32/uint32 tensor takes part, so that its values stay exact), results rounded as
// the output type stores them.
template <typename Value, typename Kernel>
void elementwise_values(const MeshTensor& a, const MeshTensor* b, MeshTensor& out, Kernel& kernel) {
  parallel_for_devices(a.mesh->num_devices(), [&](int d) {
    std::vector<Value> x(Shard::kChunk), y(b ? Shard::kChunk : 0), z(Shard::kChunk);
    const size_t total = out.shards[d].size();
    for (size_t begin = 0; begin < total; begin += Shard::kChunk) {
      const size_t n = std::min(Shard::kChunk, total - begin);
      a.shards[d].read(begin, n, x.data());
      if (b) b->shards[d].read(begin, n, y.data());
      kernel(x.data(), y.data(), z.data(), n);
      out.shards[d].write(begin, n, z.data());
    }
  });
}

template <typename Kernel>
MeshTensor elementwise(const MeshTensor& a, const MeshTensor* b, const char* program, int cbs,
                       std::optional<MemoryConfig> memory, Kernel kernel) {
  MeshTensor out = allocate_like(a, a.shard_shape, memory);
  ProgramRun run(*a.mesh, program_key(program, {&a, b, &out}), cb_bytes(a, cbs, 2), kAddKernelBytes);
  if (!a.mesh->holds_data()) return out;  // memory only: allocated and run, nothing computed
  if (is_wide_integer(a.dtype) || (b && is_wide_integer(b->dtype)) || is_wide_integer(out.dtype))
    elementwise_values<double>(a, b, out, kernel);
  else
    elementwise_values<float>(a, b, out, kernel);
  return out;
}

// The whole shard as floats (reductions and matmul need random access).
std::vector<float> as_floats(const Shard& shard) {
  std::vector<float> values(shard.size());
  shard.read(0, shard.size(), values.data());
  return values;
}

}  // namespace

MeshTensor binary(const MeshTensor& a, const MeshTensor& b, BinaryOp op, std::optional<MemoryConfig> memory) {
  check_same_mesh(a, b);
  if (a.shard_shape != b.shard_shape)
    throw std::invalid_argument(std::string(program_name(op, false)) + ": shapes differ per device: " +
                                shape_text(a.shard_shape) + " vs " + shape_text(b.shard_shape));
  const char* program = program_name(op, false);
  switch (op) {
    case BinaryOp::Add:
      return elementwise(a, &b, program, 3, memory, [](const auto* x, const auto* y, auto* z, size_t n) {
        for (size_t i = 0; i < n; ++i) z[i] = x[i] + y[i];
      });
    case BinaryOp::Subtract:
      return elementwise(a, &b, program, 3, memory, [](const auto* x, const auto* y, auto* z, size_t n) {
        for (size_t i = 0; i < n; ++i) z[i] = x[i] - y[i];
      });
    case BinaryOp::Multiply:
      break;
  }
  return elementwise(a, &b, program, 3, memory, [](const auto* x, const auto* y, auto* z, size_t n) {
    for (size_t i = 0; i < n; ++i) z[i] = x[i] * y[i];
  });
}

MeshTensor binary_scalar(const MeshTensor& a, float scalar, BinaryOp op, std::optional<MemoryConfig> memory) {
  if (!a.allocated()) throw std::runtime_error("op input is deallocated");
  const char* program = program_name(op, true);
  switch (op) {
    case BinaryOp::Add:
      return elementwise(a, nullptr, program, 2, memory,
                         [scalar](const auto* x, const auto*, auto* z, size_t n) {
                           for (size_t i = 0; i < n; ++i) z[i] = x[i] + scalar;
                         });
    case BinaryOp::Subtract:
      return elementwise(a, nullptr, program, 2, memory,
                         [scalar](const auto* x, const auto*, auto* z, size_t n) {
                           for (size_t i = 0; i < n; ++i) z[i] = x[i] - scalar;
                         });
    case BinaryOp::Multiply:
      break;
  }
  return elementwise(a, nullptr, program, 2, memory, [scalar](const auto* x, const auto*, auto* z, size_t n) {
    for (size_t i = 0; i < n; ++i) z[i] = x[i] * scalar;
  });
}

MeshTensor relu(const MeshTensor& a, std::optional<MemoryConfig> memory) {
  if (!a.allocated()) throw std::runtime_error("op input is deallocated");
  return elementwise(a, nullptr, "eltwise_relu", 2, memory,
                     [](const auto* x, const auto*, auto* z, size_t n) {
                       for (size_t i = 0; i < n; ++i) z[i] = x[i] > 0 ? x[i] : 0;
                     });
}

MeshTensor sum(const MeshTensor& a, int dim, std::optional<MemoryConfig> memory) {
  if (!a.allocated()) throw std::runtime_error("op input is deallocated");
  const int rank = static_cast<int>(a.shard_shape.size());
  if (dim < 0) dim += rank;
  if (dim < 0 || dim >= rank)
    throw std::invalid_argument("sum: dim out of range for " + shape_text(a.shard_shape));
  std::vector<int64_t> out_shape = a.shard_shape;
  out_shape[dim] = 1;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < dim; ++i) outer *= a.shard_shape[i];
  for (int i = dim + 1; i < rank; ++i) inner *= a.shard_shape[i];
  const int64_t extent = a.shard_shape[dim];
  MeshTensor out = allocate_like(a, out_shape, memory);
  ProgramRun run(*a.mesh, program_key("reduce_sum", {&a, &out}), cb_bytes(a, 3, 2), kAddKernelBytes);
  if (!a.mesh->holds_data()) return out;
  parallel_for_devices(a.mesh->num_devices(), [&](int d) {
    std::vector<double> x(a.shards[d].size());  // doubles: int32/uint32 values stay exact
    a.shards[d].read(0, x.size(), x.data());
    std::vector<double> z(out.shards[d].size());
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        double total = 0;  // accumulate in double: the device accumulates in fp32 dst registers, more exactly
        for (int64_t e = 0; e < extent; ++e) total += x[(o * extent + e) * inner + i];
        z[o * inner + i] = is_wide_integer(out.dtype) ? total : static_cast<float>(total);
      }
    }
    out.shards[d].write(0, z.size(), z.data());
  });
  return out;
}

MeshTensor matmul(const MeshTensor& a, const MeshTensor& b, std::optional<MemoryConfig> memory) {
  check_same_mesh(a, b);
  const auto& as = a.shard_shape;
  const auto& bs = b.shard_shape;
  if (as.size() < 2 || bs.size() < 2) throw std::invalid_argument("matmul needs tensors of rank 2 or more");
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k)
    throw std::invalid_argument("matmul: inner dims differ per device: " + shape_text(as) + " x " +
                                shape_text(bs));
  const std::vector<int64_t> a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const bool broadcast_b = b_batch.empty();
  if (!broadcast_b && a_batch != b_batch)
    throw std::invalid_argument("matmul: batch dims differ per device: " + shape_text(as) + " x " +
                                shape_text(bs));
  int64_t batches = 1;
  for (int64_t d : a_batch) batches *= d;

  std::vector<int64_t> out_shape = a_batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  MeshTensor out = allocate_like(a, out_shape, memory);
  ProgramRun run(*a.mesh, program_key("matmul", {&a, &b, &out}), cb_bytes(a, 3, 2), kMatmulKernelBytes);
  if (!a.mesh->holds_data()) return out;
  parallel_for_devices(a.mesh->num_devices(), [&](int d) {
    const std::vector<float> xa = as_floats(a.shards[d]), yb = as_floats(b.shards[d]);
    std::vector<float> zc(out.shards[d].size());
    for (int64_t i = 0; i < batches; ++i) {
      const float* x = xa.data() + i * m * k;
      const float* y = yb.data() + (broadcast_b ? 0 : i * k * n);
      float* z = zc.data() + i * m * n;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                  static_cast<int>(k), 1.0f, x, static_cast<int>(k), y, static_cast<int>(n), 0.0f, z,
                  static_cast<int>(n));
    }
    out.shards[d].write(0, zc.size(), zc.data());
  });
  return out;
}

}  // namespace allocmon::mesh
