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

}  // namespace allocmon::bench
