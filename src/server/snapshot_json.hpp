// The server's state as JSON documents (schemas in docs/snapshot.md): what queries return and what the
// monitor, the Python module and scripts read.
#pragma once

#include <string>

#include "accounting.hpp"

namespace allocmon::server {

struct ServerInfo {
  std::string socket_path;
  pid_t pid = 0;
  int64_t started_unix_ms = 0;
  uint64_t clients_connected = 0;
};

inline constexpr const char* kSnapshotSchema = "allocmon.snapshot/1";
inline constexpr const char* kLeaksSchema = "allocmon.leaks/1";
// The `source` of what liballocmon clients report over the socket.
inline constexpr const char* kClientSource = "allocmon";

// What a viewer may see of other users' processes: root and the process's own user see pid and name; anyone
// else sees their memory (device totals stay exact) under the name "(other user)" with pid 0
// (docs/security.md).
inline constexpr uid_t kRootUid = 0;
inline bool may_see(uid_t viewer, uid_t owner) {
  return viewer == kRootUid || viewer == owner;
}

std::string snapshot_json(const Accounting& accounting, const ServerInfo& info, int64_t now_unix_ms,
                          uid_t viewer = kRootUid);
// Live buffers per process the viewer may see; device_id < 0 means every device. `largest` > 0: only the
// largest N buffers of each process (what a monitor shows); 0: all of them, but at most kMaxJsonLeakBuffers
// in one reply ("truncated": true beyond that; QueryLeakStream lists any number).
inline constexpr size_t kMaxJsonLeakBuffers = 10'000;
// The snapshot's "holders": the largest this many scopes, ops and call sites each (docs/attribution.md).
inline constexpr size_t kMaxHolders = 50;
std::string leaks_json(const Accounting& accounting, int32_t device_id, int64_t now_unix_ms,
                       uid_t viewer = kRootUid, uint32_t largest = 0);

}  // namespace allocmon::server
