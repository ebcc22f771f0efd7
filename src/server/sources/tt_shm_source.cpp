#include "tt_shm_source.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

namespace allocmon::server {

namespace {

// A region's counted type i as an allocmon memory type.
constexpr size_t type_of(int i) {
  return static_cast<size_t>(tt_shm::kCountedTypeCodes[i]);
}

// The chip's unique id, as the file name gives it (tt_device_<asic_id>_memory, written by std::to_string):
// nullopt for a number tt-metal would not write (a leading zero, more than 64 bits).
std::optional<uint64_t> asic_of(std::string_view name) {
  const auto digits = name.substr(tt_shm::kFilePrefix.size(),
                                  name.size() - tt_shm::kFilePrefix.size() - tt_shm::kFileSuffix.size());
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size() || (digits.size() > 1 && digits[0] == '0'))
    return std::nullopt;
  return value;
}

// Layout version 2 stamped slots with the monotonic clock (time since boot, suspend excluded); 3 and 4 with
// the wall clock.
constexpr bool monotonic_stamps(uint32_t version) {
  return version <= 2;
}

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string pid_list(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t pid : pids) out += (out.empty() ? "" : ", ") + std::to_string(pid);
  return out;
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

// tt-metal names a slot after /proc/PID/comm (at most 15 characters); an empty name tells nothing.
bool same_name(const std::string& comm, const std::string& slot_name) {
  constexpr size_t kCommLength = 15;
  return slot_name.empty() || comm.substr(0, kCommLength) == slot_name.substr(0, kCommLength);
}

}  // namespace

TtShmSource::TtShmSource(TtShmOptions options) : options_(std::move(options)), proc_(options_.proc_root) {}

RegionRead TtShmSource::read_region(const std::string& path) {
  RegionRead out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) {
    const int error = errno;
    out.problem = error == EACCES || error == EPERM ? permission_problem(path, error)
                                                    : std::string("cannot open: ") + std::strerror(error);
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

std::string TtShmSource::permission_problem(const std::string& path, int error) {
  std::string text = std::string("cannot open: ") + std::strerror(error);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    text += std::string(" (mode ") + mode + ", owner " + proc_.user_name(st.st_uid) + ")";
  }
  const uid_t me = ::geteuid();
  text += "; this server runs as " + proc_.user_name(me) +
          ". tt-metal creates these files for its job's user only: run the server as root (the packaged "
          "systemd unit does) or as that user, or grant it CAP_DAC_READ_SEARCH";
  return text;
}

void TtShmSource::place_slot(const tt_shm::ProcessStats& slot, const RegionRead& read, SourceDevice& device) {
  const tt_shm::Region& r = read.region;
  ProcessShare share{slot.pid, read.owner, region_name(slot), {}, {}};
  for (int i = 0; i < tt_shm::kCountedTypes; ++i) share.bytes[type_of(i)] = slot.bytes[i];
  auto stale = [&](std::string reason) {
    share.reason = std::move(reason);
    device.stale.push_back(std::move(share));
  };
  auto unattributed = [&](std::string reason) {
    share.reason = std::move(reason);
    for (size_t t = 0; t < share.bytes.size(); ++t) device.unattributed[t] += share.bytes[t];
    device.unattributed_slots.push_back(std::move(share));
  };
  if (slot.pid == -1) {  // a process is releasing the slot: its bytes are leaving the totals now
    stale("slot being released");
    return;
  }
  // Whether a process started after the slot was last written: then it cannot be the slot's writer.
  auto started_later = [&](const ProcIdentity& who) {
    if (!slot.last_update_ns) return false;
    if (monotonic_stamps(r.version))
      return who.start_since_boot_ns &&
             *who.start_since_boot_ns > slot.last_update_ns + boot_minus_monotonic_ns_;
    return who.start_unix_ns && *who.start_unix_ns > slot.last_update_ns;
  };
  auto writer = [&](const ProcIdentity& who) {
    return who.exists && same_name(who.name, share.name) && !started_later(who);
  };

  const ProcIdentity& who = proc_.lookup(slot.pid);
  pid_t pid = slot.pid;
  if (!writer(who)) {
    // Not the process this tree calls pid N: perhaps one in another pid namespace (a container sharing
    // /dev/shm), whose own pid there is N.
    std::vector<pid_t> found;
    for (pid_t host : proc_.namespaced(slot.pid, options_.namespace_rescan))
      if (writer(proc_.lookup(host))) found.push_back(host);
    if (found.size() > 1) {
      device.in_use = true;
      return unattributed("pid " + std::to_string(slot.pid) + " is " + share.name +
                          " in several pid namespaces (pids " + pid_list(found) +
                          " here): cannot tell which");
    }
    if (found.empty()) {
      if (who.exists && !started_later(who)) {  // alive under another name: the writer may still be there
        device.in_use = true;
        return unattributed("pid " + std::to_string(slot.pid) + " is " + (who.name.empty() ? "?" : who.name) +
                            ", not " + share.name + " as the slot says");
      }
      if (!proc_.sees_every_process()) {
        device.in_use = true;
        return unattributed("pid " + std::to_string(slot.pid) +
                            (who.exists ? " started after the slot was written" : " not found") +
                            ", and this server's pid namespace does not show every process");
      }
      return stale(who.exists ? "exited: pid " + std::to_string(slot.pid) + " is now " + who.name +
                                    ", started after the slot was last written"
                              : "exited");
    }
    pid = found.front();
    share.pid = pid;
    share.reason = "pid " + std::to_string(slot.pid) + " in its pid namespace";
  }
  device.in_use = true;
  const ProcIdentity& process = proc_.lookup(pid);
  if (process.uid != read.owner)  // the file says so, but its owner cannot speak for another user's process
    return unattributed("runs as " + proc_.user_name(process.uid) + ", the file belongs to " +
                        proc_.user_name(read.owner));
  device.shares.push_back(std::move(share));
}

SourceDevice TtShmSource::describe(const RegionRead& read, const std::string& path, uint64_t asic_id) {
  const tt_shm::Region& r = read.region;
  SourceDevice device;
  device.id = static_cast<int32_t>(r.device_id);
  device.logical_id = static_cast<int32_t>(r.device_id);
  device.asic_id = asic_id;
  device.location = path;
  device.architecture = options_.architecture;
  device.capacity = options_.capacity;
  TypeBytes in_slots{};
  for (const auto& slot : r.processes) {
    if (slot.pid == 0 || slot.pid < -1) continue;  // empty (0); below -1 is no process either
    for (int i = 0; i < tt_shm::kCountedTypes; ++i) in_slots[type_of(i)] += slot.bytes[i];
    place_slot(slot, read, device);
  }
  // Totals beyond what the slots explain (per-process tracking off, or a writer between two updates).
  TypeBytes beyond{};
  bool any = false;
  for (int i = 0; i < tt_shm::kCountedTypes; ++i)
    if (r.totals[i] > in_slots[type_of(i)]) {
      beyond[type_of(i)] = r.totals[i] - in_slots[type_of(i)];
      device.unattributed[type_of(i)] += beyond[type_of(i)];
      any = true;
    }
  if (any)
    device.unattributed_slots.push_back(
        {0, read.owner, "", beyond, "in the region's totals but in no slot (per-process tracking off?)"});
  return device;
}

void TtShmSource::assign_ids(std::vector<std::pair<uint64_t, SourceDevice>>& chips,
                             const std::vector<uint64_t>& present) {
  std::erase_if(chip_ids_, [&](const auto& entry) {
    return !std::binary_search(present.begin(), present.end(), entry.first);
  });
  std::set<int32_t> taken;
  for (const auto& [asic, id] : chip_ids_) taken.insert(id);
  // A chip shown under an alias takes its logical id back as soon as no other chip holds it.
  for (auto& [asic, device] : chips) {
    auto it = chip_ids_.find(asic);
    if (it == chip_ids_.end() || it->second < kFirstChipAliasId || taken.count(*device.logical_id)) continue;
    taken.erase(it->second);
    it->second = *device.logical_id;
    taken.insert(it->second);
  }
  for (auto& [asic, device] : chips) {  // chips sorted by asic id: a new chip's id does not depend on readdir
    auto [it, added] = chip_ids_.try_emplace(asic, *device.logical_id);
    if (added && taken.count(it->second)) {
      int32_t alias = kFirstChipAliasId;
      while (taken.count(alias)) ++alias;
      it->second = alias;
    }
    taken.insert(it->second);
    device.id = it->second;
  }
}

SourceReport TtShmSource::poll() {
  SourceReport report;
  proc_.clear();
  boot_minus_monotonic_ns_ =
      clock_ns(CLOCK_BOOTTIME) - std::min(clock_ns(CLOCK_BOOTTIME), clock_ns(CLOCK_MONOTONIC));
  DIR* dir = ::opendir(options_.directory.c_str());
  if (!dir) {
    if (errno != ENOENT) report.problems.push_back({options_.directory, std::strerror(errno)});
    chip_ids_.clear();
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

  // Each file is one chip, whatever logical id the region carries: jobs pinned with TT_VISIBLE_DEVICES all
  // call their chip 0, and a remapping run leaves its numbering in the files it attached to.
  std::vector<uint64_t> present;
  std::vector<std::pair<uint64_t, SourceDevice>> chips;
  for (const auto& name : names) {
    const std::string path = options_.directory + "/" + name;
    const auto asic_id = asic_of(name);
    if (!asic_id) {
      report.problems.push_back(
          {path, "not a chip id tt-metal writes (leading zero or over 64 bits); not read"});
      continue;
    }
    const uint64_t asic = *asic_id;
    present.push_back(asic);
    RegionRead read = read_region(path);
    ++report.items_read;
    if (!read.problem.empty()) {
      report.problems.push_back({path, read.problem});
      continue;
    }
    chips.emplace_back(asic, describe(read, path, asic));
  }
  std::sort(present.begin(), present.end());
  std::sort(chips.begin(), chips.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  assign_ids(chips, present);
  for (auto& [asic, device] : chips) report.devices.push_back(std::move(device));
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
