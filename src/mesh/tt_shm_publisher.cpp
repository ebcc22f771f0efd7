#include "tt_shm_publisher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

namespace allocmon::mesh {

namespace {

template <typename T>
std::atomic_ref<T> shared(T& field) {
  return std::atomic_ref<T>(field);
}

uint64_t now_ns() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
}

// The region's index for an allocmon type, or -1 when tt-metal does not count it (KERNEL).
int counted_index(allocmon_memory_type type) {
  for (int i = 0; i < tt_shm::kCountedTypes; ++i)
    if (tt_shm::kCountedTypeCodes[i] == type) return i;
  return -1;
}
constexpr int kCbIndex = 4;
static_assert(tt_shm::kCountedTypeCodes[kCbIndex] == ALLOCMON_CB);

void saturating_sub(uint64_t& counter, uint64_t amount) {
  auto value = shared(counter);
  uint64_t current = value.load();
  while (!value.compare_exchange_weak(current, current > amount ? current - amount : 0)) {
  }
}

// Returns the value before (0: left at 0).
uint32_t saturating_dec(uint32_t& counter) {
  auto value = shared(counter);
  uint32_t current = value.load();
  while (current > 0 && !value.compare_exchange_weak(current, current - 1)) {
  }
  return current;
}

bool process_alive(int32_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

// What tt-metal names a slot: /proc/self/comm, at most 15 characters.
std::string comm_name() {
  char name[64] = {};
  const int fd = ::open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? ::read(fd, name, sizeof(name) - 1) : -1;
  if (fd >= 0) ::close(fd);
  std::string out = n > 0 ? std::string(name, static_cast<size_t>(n)) : program_invocation_short_name;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.substr(0, 15);
}

// The chip-stats entry for a logical chip id, claimed when there is none yet (nullptr: all 16 taken).
tt_shm::ChipStats* chip_entry(tt_shm::Region& r, uint32_t chip) {
  for (auto& entry : r.chips)
    if (shared(entry.chip_id).load() == chip) return &entry;
  for (auto& entry : r.chips) {
    uint32_t expected = tt_shm::kChipUnused;
    if (shared(entry.chip_id).compare_exchange_strong(expected, chip)) {
      for (auto& b : entry.bytes) shared(b).store(0);
      shared(entry.is_remote).store(0);
      return &entry;
    }
    if (expected == chip) return &entry;
  }
  return nullptr;
}

// Writes an empty ready region; the caller won init_state (kInitInProgress) for it.
void initialise(tt_shm::Region& r, int device_id, uint64_t asic_id) {
  std::memset(static_cast<void*>(&r), 0, offsetof(tt_shm::Region, init_state));
  r.version = tt_shm::kMaxVersion;
  r.asic_id = asic_id;
  r.device_id = static_cast<uint32_t>(device_id);
  for (auto& chip : r.chips) chip.chip_id = tt_shm::kChipUnused;
  r.chips[0].chip_id = static_cast<uint32_t>(device_id);
  r.last_update_ns = now_ns();
  shared(r.init_state).store(tt_shm::kInitReady, std::memory_order_release);
}

// Makes the region usable: initialises it when new, unset or of another layout nobody holds; waits
// (boundedly) for another process's initialisation. False: leave the file alone.
bool make_ready(tt_shm::Region& r, bool created, int device_id, uint64_t asic_id, const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    uint32_t state = shared(r.init_state).load(std::memory_order_acquire);
    const bool held = shared(r.reference_count).load() > 0;
    if (state == tt_shm::kInitReady && r.version == tt_shm::kMaxVersion) return true;
    if (state == tt_shm::kInitInProgress && !created) {  // another process is writing it: never start over
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "allocmon: %s stays in initialisation; not publishing there\n", path.c_str());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    if (held && !created) {
      std::fprintf(stderr,
                   "allocmon: %s has layout version %u and attached processes; not publishing there\n",
                   path.c_str(), r.version);
      return false;
    }
    if (shared(r.init_state).compare_exchange_strong(state, tt_shm::kInitInProgress)) {
      initialise(r, device_id, asic_id);
      return true;
    }
  }
}

}  // namespace

TtShmPublisher* TtShmPublisher::instance() {
  // Never destroyed: meshes may close during static destruction. A process that exits with a mesh still open
  // leaves its slot behind, as a tt-metal process killed mid-run does; the next attach or detach reaps it.
  static TtShmPublisher* publisher = [] {
    const char* dir = std::getenv(kEmulatedShmDirEnvVar);
    const char* disabled = std::getenv(kTrackingDisabledEnvVar);
    if (disabled && std::string_view(disabled) == "1") return static_cast<TtShmPublisher*>(nullptr);
    return dir && *dir ? new TtShmPublisher(dir) : nullptr;
  }();
  return publisher;
}

void TtShmPublisher::attach(int device_id, uint64_t asic_id) {
  std::lock_guard lock(mutex_);
  Mapped& mapped = devices_[device_id];
  if (mapped.users++ > 0 || mapped.region) return;
  if (!asic_id) asic_id = kEmulatedAsicIdBase + static_cast<uint64_t>(device_id);
  const std::string path = directory_ + "/tt_device_" + std::to_string(asic_id) + "_memory";
  bool created = true;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0 || ::ftruncate(fd, sizeof(tt_shm::Region)) != 0) {
    std::fprintf(stderr, "allocmon: cannot publish tt-metal counters in %s: %s\n", path.c_str(),
                 std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return;
  }
  void* memory = ::mmap(nullptr, sizeof(tt_shm::Region), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (memory == MAP_FAILED) return;
  auto& r = *static_cast<tt_shm::Region*>(memory);
  if (!make_ready(r, created, device_id, asic_id, path)) {
    ::munmap(memory, sizeof(tt_shm::Region));
    return;
  }
  mapped.region = &r;
  shared(r.reference_count).fetch_add(1);
  shared(r.asic_id).store(asic_id);
  shared(r.device_id).store(static_cast<uint32_t>(device_id));
  reap_dead(r);
  const int32_t me = ::getpid();
  const std::string name = comm_name();
  for (auto& slot : r.processes) {
    int32_t expected = 0;
    if (shared(slot.pid).compare_exchange_strong(expected, me)) {
      for (auto& b : slot.bytes) shared(b).store(0);
      std::memset(slot.name, 0, sizeof(slot.name));
      std::memcpy(slot.name, name.data(), name.size());
      shared(slot.last_update_ns).store(now_ns());
      mapped.slot = &slot;
      shared(r.num_active_processes).fetch_add(1);
      break;
    }
  }
  shared(r.last_update_ns).store(now_ns());
}

void TtShmPublisher::record(int device_id, allocmon_memory_type type, int64_t delta) {
  const int index = counted_index(type);
  if (index < 0 || delta == 0) return;
  std::lock_guard lock(mutex_);
  auto it = devices_.find(device_id);
  if (it == devices_.end() || !it->second.region) return;
  Mapped& mapped = it->second;
  tt_shm::Region& r = *mapped.region;
  tt_shm::ProcessStats* slot = mapped.slot;
  tt_shm::ChipStats* chip = chip_entry(r, static_cast<uint32_t>(device_id));
  const uint64_t amount = static_cast<uint64_t>(delta > 0 ? delta : -delta);
  if (index == kCbIndex) {
    // tt-metal stores the device's current CB bytes (an allocator query), not a running sum of deltas.
    mapped.cb = delta > 0 ? mapped.cb + amount : (mapped.cb > amount ? mapped.cb - amount : 0);
    shared(r.totals[index]).store(mapped.cb);
    if (chip) shared(chip->bytes[index]).store(mapped.cb);
    if (slot) shared(slot->bytes[index]).store(mapped.cb);
  } else if (delta > 0) {
    shared(r.totals[index]).fetch_add(amount);
    if (chip) shared(chip->bytes[index]).fetch_add(amount);
    if (slot) shared(slot->bytes[index]).fetch_add(amount);
  } else {
    saturating_sub(r.totals[index], amount);
    if (chip) saturating_sub(chip->bytes[index], amount);
    if (slot) saturating_sub(slot->bytes[index], amount);
  }
  const uint64_t now = now_ns();
  if (slot) shared(slot->last_update_ns).store(now);
  shared(r.last_update_ns).store(now);
}

bool TtShmPublisher::release_slot(tt_shm::Region& r, tt_shm::ProcessStats& slot, int32_t pid,
                                  std::optional<uint32_t> chip) {
  // The pid -1 handshake: of two processes reaping the same dead slot, only the one that claims it subtracts.
  if (!shared(slot.pid).compare_exchange_strong(pid, -1)) return false;
  // A slot does not say which chip entry its writer used: its own is known; a dead one's only when the region
  // has a single entry (else the last process to leave zeroes them).
  tt_shm::ChipStats* entry = nullptr;
  if (chip) {
    entry = chip_entry(r, *chip);
  } else {
    for (auto& e : r.chips)
      if (shared(e.chip_id).load() != tt_shm::kChipUnused) entry = entry ? nullptr : &e;
  }
  for (int i = 0; i < tt_shm::kCountedTypes; ++i) {
    const uint64_t bytes = shared(slot.bytes[i]).load();
    saturating_sub(r.totals[i], bytes);
    if (entry) saturating_sub(entry->bytes[i], bytes);
    shared(slot.bytes[i]).store(0);
  }
  shared(slot.last_update_ns).store(0);
  std::memset(slot.name, 0, sizeof(slot.name));
  shared(slot.pid).store(0, std::memory_order_release);
  saturating_dec(r.num_active_processes);
  shared(r.last_update_ns).store(now_ns());
  return true;
}

void TtShmPublisher::reap_dead(tt_shm::Region& r) {
  for (auto& slot : r.processes) {
    const int32_t pid = shared(slot.pid).load();
    // A killed process never dropped its reference: its reaper does, so the last to leave can reset the
    // totals.
    if (pid > 0 && !process_alive(pid) && release_slot(r, slot, pid, std::nullopt))
      saturating_dec(r.reference_count);
  }
}

void TtShmPublisher::detach(int device_id) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(device_id);
  if (it == devices_.end() || --it->second.users > 0) return;
  Mapped& mapped = it->second;
  if (mapped.region) {
    tt_shm::Region& r = *mapped.region;
    if (mapped.slot) release_slot(r, *mapped.slot, ::getpid(), static_cast<uint32_t>(device_id));
    reap_dead(r);
    // The last process to leave zeroes what is left (bytes whose owner could not be reaped, a torn update).
    if (saturating_dec(r.reference_count) == 1) {
      for (auto& total : r.totals) shared(total).store(0);
      for (auto& entry : r.chips)
        if (shared(entry.chip_id).load() != tt_shm::kChipUnused)
          for (auto& b : entry.bytes) shared(b).store(0);
      shared(r.last_update_ns).store(now_ns());
    }
    ::munmap(mapped.region, sizeof(tt_shm::Region));
  }
  devices_.erase(it);
}

}  // namespace allocmon::mesh
