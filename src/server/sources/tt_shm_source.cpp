#include "tt_shm_source.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace allocmon::server {

namespace {

// A region's counted type i as an allocmon memory type.
constexpr size_t type_of(int i) {
  return static_cast<size_t>(tt_shm::kCountedTypeCodes[i]);
}

bool is_region_name(std::string_view name) {
  if (name.size() <= tt_shm::kFilePrefix.size() + tt_shm::kFileSuffix.size()) return false;
  if (name.substr(0, tt_shm::kFilePrefix.size()) != tt_shm::kFilePrefix) return false;
  if (name.substr(name.size() - tt_shm::kFileSuffix.size()) != tt_shm::kFileSuffix) return false;
  const auto id = name.substr(tt_shm::kFilePrefix.size(),
                              name.size() - tt_shm::kFilePrefix.size() - tt_shm::kFileSuffix.size());
  return std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads up to `size` bytes at offset 0; returns how many, or -1.
ssize_t read_at_start(int fd, void* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, static_cast<char*>(data) + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

std::string region_name(const tt_shm::ProcessStats& slot) {
  return std::string(wire::fixed_string(slot.name, sizeof(slot.name)));
}

}  // namespace

TtShmSource::TtShmSource(TtShmOptions options) : options_(std::move(options)), proc_(options_.proc_root) {}

RegionRead TtShmSource::read_region(const std::string& path) {
  RegionRead out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) {
    out.problem = std::string("cannot open: ") + std::strerror(errno);
    return out;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.problem = "not a regular file";
    return out;
  }
  out.owner = st.st_uid;
  // A writer bumps last_update_ns on every change: read until two looks at it agree (a few tries; a region
  // that never holds still is used as last read, its counters each being whole words).
  for (int attempt = 0; attempt < 4; ++attempt) {
    const ssize_t n = read_at_start(fd, &out.region, sizeof(out.region));
    if (n < 0) {
      ::close(fd);
      out.problem = std::string("cannot read: ") + std::strerror(errno);
      return out;
    }
    out.size = static_cast<size_t>(n);
    if (after_first_read && attempt == 0) after_first_read(path);
    uint64_t stamp = 0;
    if (out.size < offsetof(tt_shm::Region, last_update_ns) + sizeof(stamp) ||
        ::pread(fd, &stamp, sizeof(stamp), offsetof(tt_shm::Region, last_update_ns)) !=
            static_cast<ssize_t>(sizeof(stamp)) ||
        stamp == out.region.last_update_ns)
      break;
  }
  ::close(fd);
  if (out.size < sizeof(uint32_t)) {
    out.problem = "short file (" + std::to_string(out.size) + " bytes)";
    return out;
  }
  const uint32_t version = out.region.version;
  if (version < tt_shm::kMinVersion || version > tt_shm::kMaxVersion) {
    out.problem = "unknown layout version " + std::to_string(version) + " (this server reads versions " +
                  std::to_string(tt_shm::kMinVersion) + " to " + std::to_string(tt_shm::kMaxVersion) + ")";
    return out;
  }
  if (out.size < tt_shm::required_size(version)) {
    out.problem = "short file: " + std::to_string(out.size) + " bytes, layout version " +
                  std::to_string(version) + " needs " + std::to_string(tt_shm::required_size(version));
    return out;
  }
  if (version >= tt_shm::kVersionWithInitState && out.region.init_state != tt_shm::kInitReady) {
    out.problem = out.region.init_state == tt_shm::kInitInProgress
                      ? "being initialised by tt-metal (skipped until ready)"
                      : "not initialised (init_state " + std::to_string(out.region.init_state) +
                            "; skipped until ready)";
    return out;
  }
  if (out.region.device_id > static_cast<uint32_t>(kMaxTtDeviceId)) {
    out.problem = "implausible device_id " + std::to_string(out.region.device_id);
    return out;
  }
  return out;
}

SourceDevice TtShmSource::describe(const RegionRead& read, const std::string& path) {
  const tt_shm::Region& r = read.region;
  SourceDevice device;
  device.id = static_cast<int32_t>(r.device_id);
  device.asic_id = r.asic_id;
  device.location = path;
  device.architecture = options_.architecture;
  device.capacity = options_.capacity;
  TypeBytes in_slots{};
  for (const auto& slot : r.processes) {
    if (slot.pid <= 0) continue;  // empty (0); a negative pid is no process either
    ProcessShare share{slot.pid, read.owner, region_name(slot), {}};
    for (int i = 0; i < tt_shm::kCountedTypes; ++i) {
      share.bytes[type_of(i)] = slot.bytes[i];
      in_slots[type_of(i)] += slot.bytes[i];
    }
    const ProcIdentity& who = proc_.lookup(slot.pid);
    // A pid that exists but started after the slot's last update is a reused pid: the slot's owner is gone.
    const bool reused =
        who.exists && who.start_unix_ns && slot.last_update_ns && *who.start_unix_ns > slot.last_update_ns;
    if (!who.exists || reused) {
      device.stale.push_back(std::move(share));
      continue;
    }
    device.in_use = true;
    if (who.uid != read.owner) {  // the file says so, but its owner cannot speak for another user's process
      for (size_t t = 0; t < share.bytes.size(); ++t) device.unattributed[t] += share.bytes[t];
      continue;
    }
    device.shares.push_back(std::move(share));
  }
  // Totals beyond what the slots explain (per-process tracking off, or a writer between two updates).
  for (int i = 0; i < tt_shm::kCountedTypes; ++i)
    if (r.totals[i] > in_slots[type_of(i)])
      device.unattributed[type_of(i)] += r.totals[i] - in_slots[type_of(i)];
  return device;
}

SourceReport TtShmSource::poll() {
  SourceReport report;
  proc_.clear();
  DIR* dir = ::opendir(options_.directory.c_str());
  if (!dir) {
    if (errno != ENOENT) report.problems.push_back({options_.directory, std::strerror(errno)});
    return report;
  }
  std::vector<std::string> names;
  size_t skipped = 0;
  while (dirent* entry = ::readdir(dir)) {
    if (!is_region_name(entry->d_name)) continue;
    if (names.size() < options_.max_regions)
      names.emplace_back(entry->d_name);
    else
      ++skipped;
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  if (skipped)
    report.problems.push_back({options_.directory, std::to_string(skipped) +
                                                       " region files beyond the first " +
                                                       std::to_string(options_.max_regions) + " not read"});

  // Two files naming one logical device: the one written most recently is current, the other is left over
  // from a run with another device numbering.
  std::map<int32_t, std::pair<uint64_t, size_t>> newest;  // device id -> (timestamp, index in report)
  for (const auto& name : names) {
    const std::string path = options_.directory + "/" + name;
    RegionRead read = read_region(path);
    ++report.items_read;
    if (!read.problem.empty()) {
      report.problems.push_back({path, read.problem});
      continue;
    }
    SourceDevice device = describe(read, path);
    auto [it, first] = newest.try_emplace(device.id, read.region.last_update_ns, report.devices.size());
    if (!first) {
      SourceDevice& other = report.devices[it->second.second];
      const bool newer = read.region.last_update_ns > it->second.first;
      const std::string& older_path = newer ? other.location : path;
      const std::string& newer_path = newer ? path : other.location;
      report.problems.push_back(
          {older_path, "claims device " + std::to_string(device.id) + " as " + newer_path +
                           " does, which was updated more recently; not shown while that lasts"});
      if (newer) {
        other = std::move(device);
        it->second.first = read.region.last_update_ns;
      }
      continue;
    }
    report.devices.push_back(std::move(device));
  }
  // Identities of the processes named, for the process table.
  for (const auto& device : report.devices)
    for (const auto& share : device.shares) {
      if (std::any_of(report.processes.begin(), report.processes.end(),
                      [&](const SourceProcess& p) { return p.pid == share.pid; }))
        continue;
      const ProcIdentity& who = proc_.lookup(share.pid);
      report.processes.push_back({share.pid,
                                  who.uid,
                                  proc_.user_name(who.uid),
                                  who.name.empty() ? share.name : who.name,
                                  who.cmdline,
                                  {}});
    }
  return report;
}

}  // namespace allocmon::server
