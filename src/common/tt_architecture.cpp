#include "tt_architecture.hpp"

namespace allocmon {

// One table; source: shared/reference/tt-metal-allocator.md ("Device memory layout"), system buffer sizes
// from shared/reference/proof-of-concept-lessons.md ("Observed sizes on hardware": ~14.75 MB DRAM, ~22 KB
// L1).
const Architecture& wormhole_b0() {
  static const Architecture arch{"wormhole_b0", 12, 1'073'741'792, 32,    32, 8, 8, 1'499'136,
                                 103'712,       16, 15'466'496,    22'528};
  return arch;
}

const Architecture& blackhole() {
  static const Architecture arch{"blackhole", 8,         4'278'190'016, 64, 64,         13,
                                 10,          1'572'864, 111'104,       16, 15'466'496, 22'528};
  return arch;
}

const Architecture* find_architecture(std::string_view name) {
  if (name == "wormhole_b0" || name == "wormhole") return &wormhole_b0();
  if (name == "blackhole") return &blackhole();
  return nullptr;
}

}  // namespace allocmon
