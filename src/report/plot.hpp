// memory.svg: one panel per device, laid out as the mesh is (row, column), each with a chart of off-chip
// memory (DRAM, TRACE) and one of on-chip memory (L1, L1_SMALL, CB, KERNEL) on their own scales: seconds on
// the time axis, bytes with units on the other, the device's capacity marked, and the time axis running on
// past the last event so that what happened at the end (the final frees) shows.
#pragma once

#include <string>

#include "timeline.hpp"

namespace allocmon::report {

// shared_scale: every device's panels on one byte scale per chart kind (else each on its own).
std::string memory_svg(const Recording& recording, const Timeline& timeline, bool shared_scale = false);

}  // namespace allocmon::report
