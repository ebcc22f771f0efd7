// A server's per-connection state without sockets or a clock: what session-level tests drive (Session's
// receive()), and the frames they send most.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>

#include "server/session.hpp"

namespace allocmon::testing {

struct SessionHarness {
  server::Accounting accounting;
  std::FILE* sink = std::fopen("/dev/null", "w");
  server::EventLog log{sink, true};
  server::ServerContext context{accounting, log, server::SessionLimits{},
                                [] {
                                  return server::ServerInfo{"/test", 1, 0, 1};
                                },
                                [] { return int64_t{1000}; }};
  ~SessionHarness() { std::fclose(sink); }
};

inline std::string register_frame(int device, const char* architecture = "wormhole_b0") {
  wire::RegisterDevice r{};
  r.device_id = device;
  r.mesh_row = r.mesh_col = -1;
  std::strncpy(r.architecture, architecture, sizeof(r.architecture) - 1);
  std::string s;
  wire::append_message(s, wire::MessageType::kRegisterDevice, r);
  return s;
}

}  // namespace allocmon::testing
