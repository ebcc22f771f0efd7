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

}  // namespace allocmon::mesh
