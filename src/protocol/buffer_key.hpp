// How a buffer is named within one client: (device, buffer id). The client's live table and the server's
// per-process table key on it the same way.
#pragma once

#include <cstdint>
#include <functional>

namespace allocmon::wire {

struct BufferKey {
  int32_t device_id;
  uint64_t buffer_id;
  bool operator==(const BufferKey&) const = default;
};

struct BufferKeyHash {
  size_t operator()(const BufferKey& k) const {
    return std::hash<uint64_t>()(k.buffer_id * 0x9E3779B97F4A7C15ull ^ static_cast<uint32_t>(k.device_id));
  }
};

}  // namespace allocmon::wire
