// One device's contents of a tensor, held in the device's element type: bfloat16 (and bfloat8_b/bfloat4_b,
// whose values bfloat16 holds exactly) in 2 bytes, float32 and the integer types in 4 (floats hold every
// uint8/uint16 exactly, int32/uint32 up to 2^24). Ops read and write it in chunks of floats:
// what they compute is rounded to the type as it is stored, as the device rounds its results.
#pragma once

#include <cstdint>
#include <cstring>

#include "host_memory.hpp"

namespace allocmon::mesh {

enum class DataType { BFloat16, Float32, BFloat8B, BFloat4B, UInt32, Int32, UInt16, UInt8, Int8, Fp8E4M3 };

// Block floating point (a shared exponent per 16 values): exists only in tile layout.
inline bool is_block_float(DataType dtype) {
  return dtype == DataType::BFloat8B || dtype == DataType::BFloat4B;
}

// Rounds float32 values to the nearest bfloat16 (ties to even), in place.
void round_to_bfloat16(float* data, size_t count);
// Rounds host values to what the device type can hold (bfloat16, block floats in blocks of 16, integers
// rounded and clamped to their range), in place.
void round_to_dtype(DataType dtype, float* data, size_t count);

inline float bfloat16_to_float(uint16_t bits) {
  const uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, 4);
  return value;
}

class Shard {
 public:
  static constexpr size_t kChunk =
      4096;  // elements per chunk in ops (a multiple of bfloat8_b's blocks of 16)

  Shard() = default;
  Shard(DataType dtype, size_t count) : dtype_(dtype), size_(count) {
    if (half())
      half_.resize(count);
    else
      full_.resize(count);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  DataType dtype() const { return dtype_; }
  bool half() const { return dtype_ == DataType::BFloat16 || is_block_float(dtype_); }
  size_t bytes() const { return size_ * (half() ? 2 : 4); }

  // Elements [begin, begin + n) as floats.
  void read(size_t begin, size_t n, float* out) const {
    if (n == 0) return;  // out may be null (an empty slice): memcpy must not see it
    if (!half()) {
      std::memcpy(out, full_.data() + begin, n * sizeof(float));
      return;
    }
    const uint16_t* in = half_.data() + begin;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
  }

  // Stores floats already rounded to the type (bfloat16 values: their upper halves are kept as they are).
  void write_rounded(size_t begin, size_t n, const float* in) {
    if (n == 0) return;
    if (!half()) {
      std::memcpy(full_.data() + begin, in, n * sizeof(float));
      return;
    }
    uint16_t* out = half_.data() + begin;
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &in[i], 4);
      out[i] = static_cast<uint16_t>(bits >> 16);
    }
  }

  // Elements [begin, begin + n) as bfloat16 bits: exact for bfloat16 and the block floats (held as bfloat16),
  // rounded to the nearest bfloat16 for the 4-byte types.
  void read_bfloat16(size_t begin, size_t n, uint16_t* out) const {
    if (n == 0) return;
    if (half()) {
      std::memcpy(out, half_.data() + begin, n * sizeof(uint16_t));
      return;
    }
    float chunk[kChunk];
    for (size_t done = 0; done < n; done += kChunk) {
      const size_t m = n - done < kChunk ? n - done : kChunk;
      std::memcpy(chunk, full_.data() + begin + done, m * sizeof(float));
      round_to_bfloat16(chunk, m);
      for (size_t i = 0; i < m; ++i) {
        uint32_t bits;
        std::memcpy(&bits, &chunk[i], 4);
        out[done + i] = static_cast<uint16_t>(bits >> 16);
      }
    }
  }

  // Stores bfloat16 values given as their bits: copied as they are into a bfloat16 shard, widened and rounded
  // to the type otherwise. Not for block floats (their blocks span rows: round whole shards with write()).
  void write_bfloat16(size_t begin, size_t n, const uint16_t* bits) {
    if (n == 0) return;
    if (dtype_ == DataType::BFloat16) {
      std::memcpy(half_.data() + begin, bits, n * sizeof(uint16_t));
      return;
    }
    float chunk[kChunk];
    for (size_t done = 0; done < n; done += kChunk) {
      const size_t m = n - done < kChunk ? n - done : kChunk;
      for (size_t i = 0; i < m; ++i) chunk[i] = bfloat16_to_float(bits[done + i]);
      write(begin + done, m, chunk);
    }
  }

  // Rounds `in` (a scratch chunk it may change) to the type and stores it. For bfloat8_b, `begin` and `n`
  // must cover whole blocks of 16 (chunks of kChunk from 0 do).
  void write(size_t begin, size_t n, float* in) {
    round_to_dtype(dtype_, in, n);
    write_rounded(begin, n, in);
  }

 private:
  DataType dtype_ = DataType::BFloat16;
  size_t size_ = 0;
  std::vector<uint16_t, HugePageAllocator<uint16_t>> half_;
  HostBuffer full_;
};

}  // namespace allocmon::mesh
