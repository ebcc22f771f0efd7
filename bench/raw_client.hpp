// A raw protocol client for the benchmarks: a blocking connection with devices 0..count-1 registered, for
// traffic that bypasses the client library (the proof-of-concept baseline, the server-alone ingest stream).
#pragma once

#include <string>

#include "common/unix_socket.hpp"
#include "protocol/wire.hpp"

namespace allocmon::bench {

inline int connect_with_devices(const std::string& socket, int count) {
  const int fd = connect_unix(socket, /*nonblocking=*/false);
  if (fd < 0) return fd;
  std::string setup;
  for (int d = 0; d < count; ++d) {
    wire::RegisterDevice r{};
    r.device_id = d;
    r.mesh_row = r.mesh_col = -1;
    wire::append_message(setup, wire::MessageType::kRegisterDevice, r);
  }
  write_all(fd, setup.data(), setup.size());
  return fd;
}

// The proof of concept's client sent a fixed 128-byte message per event with a blocking send. This is one our
// server accepts and applies as it does real traffic: two one-event batches (the event, a free-space record)
// and a Hello.
inline std::string baseline_message(const wire::Event& event) {
  std::string message;
  wire::append_frame(message, wire::MessageType::kEventBatch, &event, sizeof(event));
  wire::Event filler{0,           1, 1, event.device_id, static_cast<uint8_t>(wire::EventKind::kFreeSpace),
                     ALLOCMON_L1, 0};
  wire::append_frame(message, wire::MessageType::kEventBatch, &filler, sizeof(filler));
  wire::append_message(message, wire::MessageType::kHello, wire::Hello{});
  return message;
}

// xorshift64*: the benchmark loops' random devices, types and sizes cost a few cycles, not mt19937's ~10 ns.
struct FastRandom {
  uint64_t state;
  uint64_t operator()() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Dull;
  }
};

}  // namespace allocmon::bench
