// What the server learns from polled sources of device-memory data (nvtop's model: one backend per file,
// behind this one interface). The socket protocol (Session) is the push source with per-buffer data; the
// polled ones here describe devices and processes in totals: tt-metal's shared-memory regions, the holders of
// /dev/tenstorrent/N, DRM fdinfo. Accounting merges every report (accounting.hpp, set_polled); snapshot,
// Prometheus, recorder and monitor never know which source a number came from beyond its `source` label.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire.hpp"

namespace allocmon::server {

using TypeBytes = std::array<uint64_t, wire::kNumMemoryTypes>;

// Device ids: tt-metal's logical ids (and what liballocmon clients register) are small; devices that have no
// such id (GPUs seen through DRM) are numbered from kFirstDrmDeviceId so the two never collide.
inline constexpr int32_t kMaxTtDeviceId = 999;
inline constexpr int32_t kFirstDrmDeviceId = 1000;
// A tt-metal chip whose logical id another chip already shows under (jobs pinned with TT_VISIBLE_DEVICES each
// call their chip 0) is numbered from here, so every chip has an id of its own (docs/snapshot.md).
inline constexpr int32_t kFirstChipAliasId = 2000;

// Bytes one process holds on one device, per memory type.
struct ProcessShare {
  pid_t pid = 0;
  uid_t uid = 0;     // whose it is; for a process that is gone, the owner of the file that names it
  std::string name;  // as the source names it (a region's process_name), when the process cannot be read
  TypeBytes bytes{};
  std::string reason;  // unattributed or stale slots: why they are not this pid's (shown in the snapshot)
};

struct SourceDevice {
  int32_t id = 0;                     // unique among the source's devices
  std::optional<int32_t> logical_id;  // tt-metal's logical id, as the last process to attach numbered it
  std::string architecture;           // empty: the source does not know
  TypeBytes capacity{};               // 0: unknown
  std::optional<uint64_t> asic_id;
  std::string location;              // where it was read: a region file, a PCI address
  std::vector<ProcessShare> shares;  // attributed to a live process the viewer can trust
  TypeBytes unattributed{};          // held by someone, but by no process the source can name with confidence
  std::vector<ProcessShare> unattributed_slots;  // the part of `unattributed` a slot names, with its reason
  std::vector<ProcessShare> stale;  // slots of processes that no longer exist: never counted as held
  bool in_use = false;              // a live process holds or attached to it
};

// Who a process is, as /proc tells it; the source names processes by pid in shares and holders.
struct SourceProcess {
  pid_t pid = 0;
  uid_t uid = 0;
  std::string user;
  std::string name;
  std::string cmdline;
  std::vector<std::string> holds;  // device files it has open, e.g. /dev/tenstorrent/0
};

// Something a source could not read: reported once per (path, reason), listed while it lasts.
struct SourceProblem {
  std::string path;
  std::string reason;
  bool operator==(const SourceProblem&) const = default;
};

struct SourceReport {
  std::vector<SourceDevice> devices;
  std::vector<SourceProcess> processes;
  std::vector<SourceProblem> problems;
  uint64_t items_read = 0;  // files or entries read this round (shown in the snapshot's "sources")
};

class Source {
 public:
  virtual ~Source() = default;
  // The label its devices and processes carry: "tt-metal-shm", "tt-kmd", "drm-fdinfo".
  virtual std::string_view name() const = 0;
  virtual int interval_ms() const = 0;
  // Reads the current state. Never throws, never blocks on a file (every open is non-blocking).
  virtual SourceReport poll() = 0;
};

}  // namespace allocmon::server
