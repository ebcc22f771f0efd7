#include "shard.hpp"

#include <algorithm>
#include <cmath>

namespace allocmon::mesh {

void round_to_bfloat16(float* data, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &data[i], 4);
    if ((bits & 0x7f800000u) != 0x7f800000u) bits += 0x7fffu + ((bits >> 16) & 1u);  // NaN/Inf pass through
    bits &= 0xffff0000u;
    std::memcpy(&data[i], &bits, 4);
  }
}

namespace {

void clamp_to_integers(float* data, size_t count, double low, double high) {
  for (size_t i = 0; i < count; ++i)
    data[i] = static_cast<float>(std::clamp(static_cast<double>(std::nearbyint(data[i])), low, high));
}

// Blocks of 16 share the largest exponent; each value keeps `mantissa_bits` below it (round to nearest,
// saturating at the largest mantissa).
void round_to_block_float(float* data, size_t count, int mantissa_bits) {
  const float largest_mantissa = std::ldexp(1.0f, mantissa_bits) - 1;
  for (size_t block = 0; block < count; block += 16) {
    const size_t end = std::min(count, block + 16);
    float largest = 0;
    for (size_t i = block; i < end; ++i) largest = std::max(largest, std::fabs(data[i]));
    if (largest == 0 || !std::isfinite(largest)) continue;
    const float step = std::ldexp(1.0f, std::ilogb(largest) - (mantissa_bits - 1));
    for (size_t i = block; i < end; ++i)
      data[i] = std::clamp(std::nearbyint(data[i] / step), -largest_mantissa, largest_mantissa) * step;
  }
}

// fp8 e4m3: 4 exponent bits (bias 7), 3 mantissa bits, no infinities; saturates at +-448, subnormals below
// 2^-6 in steps of 2^-9.
void round_to_fp8_e4m3(float* data, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const float x = data[i];
    if (!std::isfinite(x) || x == 0) continue;
    const int exponent = std::max(std::ilogb(x), -6);
    const float step = std::ldexp(1.0f, exponent - 3);
    data[i] = std::clamp(std::nearbyint(x / step) * step, -448.0f, 448.0f);
  }
}

}  // namespace

void round_to_dtype(DataType dtype, float* data, size_t count) {
  switch (dtype) {
    case DataType::Float32:
      return;
    case DataType::BFloat16:
      round_to_bfloat16(data, count);
      return;
    case DataType::UInt32:
    case DataType::Int32:  // as the shard stores them (modulo 2^32), to the nearest float
      for (size_t i = 0; i < count; ++i)
        data[i] = static_cast<float>(wide_integer_value(dtype, wide_integer_bits(dtype, data[i])));
      return;
    case DataType::UInt16:
      clamp_to_integers(data, count, 0.0, 65535.0);
      return;
    case DataType::UInt8:
      clamp_to_integers(data, count, 0.0, 255.0);
      return;
    case DataType::Int8:
      clamp_to_integers(data, count, -128.0, 127.0);
      return;
    case DataType::Fp8E4M3:
      round_to_fp8_e4m3(data, count);
      return;
    case DataType::BFloat8B:
      round_to_block_float(data, count, 7);
      return;
    case DataType::BFloat4B:
      round_to_block_float(data, count, 3);
      return;
  }
}

void round_to_dtype(DataType dtype, double* data, size_t count) {
  if (is_wide_integer(dtype)) {
    for (size_t i = 0; i < count; ++i) data[i] = wide_integer_value(dtype, wide_integer_bits(dtype, data[i]));
    return;
  }
  float chunk[Shard::kChunk];
  for (size_t done = 0; done < count; done += Shard::kChunk) {  // whole chunks keep block floats' blocks
    const size_t m = std::min(count - done, Shard::kChunk);
    for (size_t i = 0; i < m; ++i) chunk[i] = static_cast<float>(data[done + i]);
    round_to_dtype(dtype, chunk, m);
    for (size_t i = 0; i < m; ++i) data[done + i] = chunk[i];
  }
}

}  // namespace allocmon::mesh
