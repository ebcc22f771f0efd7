// One device's contents of a tensor, held in the device's element type: bfloat16 (and bfloat8_b/bfloat4_b,
// whose values bfloat16 holds exactly) in 2 bytes, float32 and the integer types in 4: int32 and uint32 as
// the integers themselves (every value exact), the narrower integer types as floats (which hold them all).
// Ops read and write it in chunks of floats, or of doubles where int32/uint32 values must stay exact: what
// they compute is rounded to the type as it is stored, as the device rounds its results.
#pragma once

#include <cmath>
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
// The same for doubles: exact for every int32/uint32 value (a float holds them only up to 2^24), which are
// taken modulo 2^32 as the shard stores them (wide_integer_bits).
void round_to_dtype(DataType dtype, double* data, size_t count);

// int32 and uint32: held as the integers themselves (4 bytes each), not as floats.
inline bool is_wide_integer(DataType dtype) {
  return dtype == DataType::Int32 || dtype == DataType::UInt32;
}

// A value as an int32/uint32 shard stores it, as bits: rounded to the nearest integer, then taken modulo 2^32
// (two's complement), as ttnn converts integer host data (torch int64 through int32) and as the device's
// integer arithmetic wraps. NaN stores 0; infinities (and values beyond int64) saturate to the type's range.
inline uint32_t wide_integer_bits(DataType dtype, double value) {
  if (std::isnan(value)) return 0;
  const bool int32 = dtype == DataType::Int32;
  if (value >= 9.2e18) return int32 ? 0x7fffffffu : 0xffffffffu;
  if (value <= -9.2e18) return int32 ? 0x80000000u : 0u;
  return static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(std::nearbyint(value))));
}

inline double wide_integer_value(DataType dtype, uint32_t bits) {
  return dtype == DataType::Int32 ? static_cast<double>(static_cast<int32_t>(bits))
                                  : static_cast<double>(bits);
}

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

  bool wide() const { return is_wide_integer(dtype_); }

  // Elements [begin, begin + n) as floats (int32/uint32 beyond 2^24 rounded to the nearest float).
  void read(size_t begin, size_t n, float* out) const {
    if (n == 0) return;  // out may be null (an empty slice): memcpy must not see it
    if (wide()) {
      for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<float>(wide_integer_value(dtype_, bits_at(begin + i)));
      return;
    }
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

  // Elements [begin, begin + n) as doubles: exact for every type.
  void read(size_t begin, size_t n, double* out) const {
    if (n == 0) return;
    if (wide()) {
      for (size_t i = 0; i < n; ++i) out[i] = wide_integer_value(dtype_, bits_at(begin + i));
      return;
    }
    float chunk[kChunk];
    for (size_t done = 0; done < n; done += kChunk) {
      const size_t m = n - done < kChunk ? n - done : kChunk;
      read(begin + done, m, chunk);
      for (size_t i = 0; i < m; ++i) out[done + i] = chunk[i];
    }
  }

  // Stores floats already rounded to the type (bfloat16 values: their upper halves are kept as they are;
  // int32/uint32: converted as wide_integer_bits says).
  void write_rounded(size_t begin, size_t n, const float* in) {
    if (n == 0) return;
    if (wide()) {
      for (size_t i = 0; i < n; ++i) set_bits(begin + i, wide_integer_bits(dtype_, in[i]));
      return;
    }
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
      read(begin + done, m, chunk);
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
    if (!wide()) round_to_dtype(dtype_, in, n);  // int32/uint32: rounded from the float as it is stored
    write_rounded(begin, n, in);
  }

  // The same from doubles (`in` left as it is): int32/uint32 values stored exactly, the other types rounded
  // from the nearest float.
  void write(size_t begin, size_t n, const double* in) {
    if (n == 0) return;
    if (wide()) {
      for (size_t i = 0; i < n; ++i) set_bits(begin + i, wide_integer_bits(dtype_, in[i]));
      return;
    }
    float chunk[kChunk];
    for (size_t done = 0; done < n; done += kChunk) {
      const size_t m = n - done < kChunk ? n - done : kChunk;
      for (size_t i = 0; i < m; ++i) chunk[i] = static_cast<float>(in[done + i]);
      write(begin + done, m, chunk);
    }
  }

 private:
  uint32_t bits_at(size_t i) const {
    uint32_t bits;
    std::memcpy(&bits, full_.data() + i, 4);
    return bits;
  }
  void set_bits(size_t i, uint32_t bits) { std::memcpy(full_.data() + i, &bits, 4); }

  DataType dtype_ = DataType::BFloat16;
  size_t size_ = 0;
  std::vector<uint16_t, HugePageAllocator<uint16_t>> half_;
  HostBuffer full_;
};

}  // namespace allocmon::mesh
