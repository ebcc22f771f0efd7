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

void saturating_sub(uint64_t& counter, uint64_t amount) {
  auto value = shared(counter);
  uint64_t current = value.load();
  while (!value.compare_exchange_weak(current, current > amount ? current - amount : 0)) {
  }
}

bool process_alive(int32_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

void initialise(tt_shm::Region& r, int device_id, uint64_t asic_id) {
  shared(r.init_state).store(tt_shm::kInitInProgress, std::memory_order_release);
  const uint32_t init_state = r.init_state;
  std::memset(&r, 0, sizeof(r));
  r.init_state = init_state;
  r.version = tt_shm::kMaxVersion;
  r.asic_id = asic_id;
  r.device_id = static_cast<uint32_t>(device_id);
  for (auto& chip : r.chips) chip.chip_id = tt_shm::kChipUnused;
  r.chips[0].chip_id = static_cast<uint32_t>(device_id);
  r.last_update_ns = now_ns();
  shared(r.init_state).store(tt_shm::kInitReady, std::memory_order_release);
}

}  // namespace

TtShmPublisher* TtShmPublisher::instance() {
  // Never destroyed: meshes may close during static destruction. A process that exits with a mesh still open
  // leaves its slot behind, as a tt-metal process killed mid-run does; the next attacher reaps it.
  static TtShmPublisher* publisher = [] {
    const char* dir = std::getenv(kEmulatedShmDirEnvVar);
    return dir && *dir ? new TtShmPublisher(dir) : nullptr;
  }();
  return publisher;
}

void TtShmPublisher::attach(int device_id) {
  std::lock_guard lock(mutex_);
  Mapped& mapped = devices_[device_id];
  if (mapped.users++ > 0 || mapped.region) return;
  const uint64_t asic_id = kEmulatedAsicIdBase + static_cast<uint64_t>(device_id);
  const std::string path = directory_ + "/tt_device_" + std::to_string(asic_id) + "_memory";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
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
  mapped.region = &r;
  // A new file, or one of another layout that no live process uses any more, is (re)initialised.
  bool someone_alive = false;
  for (auto& slot : r.processes) someone_alive = someone_alive || process_alive(shared(slot.pid).load());
  if (shared(r.init_state).load(std::memory_order_acquire) != tt_shm::kInitReady ||
      r.version != tt_shm::kMaxVersion) {
    if (someone_alive && r.version != tt_shm::kMaxVersion) {
      std::fprintf(stderr, "allocmon: %s has layout version %u and live users; not publishing there\n",
                   path.c_str(), r.version);
      ::munmap(memory, sizeof(tt_shm::Region));
      mapped.region = nullptr;
      return;
    }
    initialise(r, device_id, asic_id);
  }
  shared(r.device_id).store(static_cast<uint32_t>(device_id));
  // Reap the slots of processes that died without detaching: their bytes leave the totals now.
  for (auto& slot : r.processes) {
    const int32_t pid = shared(slot.pid).load();
    if (pid != 0 && !process_alive(pid)) release_slot(r, slot);
  }
  const int32_t me = ::getpid();
  for (auto& slot : r.processes) {
    int32_t expected = 0;
    if (shared(slot.pid).compare_exchange_strong(expected, me)) {
      for (auto& b : slot.bytes) b = 0;
      std::memset(slot.name, 0, sizeof(slot.name));
      std::snprintf(slot.name, sizeof(slot.name), "%s", program_invocation_short_name);
      slot.last_update_ns = now_ns();
      mapped.slot = &slot;
      shared(r.num_active_processes).fetch_add(1);
      shared(r.reference_count).fetch_add(1);
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
  tt_shm::Region& r = *it->second.region;
  tt_shm::ProcessStats* slot = it->second.slot;
  const uint64_t amount = static_cast<uint64_t>(delta > 0 ? delta : -delta);
  if (delta > 0) {
    shared(r.totals[index]).fetch_add(amount);
    shared(r.chips[0].bytes[index]).fetch_add(amount);
    if (slot) shared(slot->bytes[index]).fetch_add(amount);
  } else {
    saturating_sub(r.totals[index], amount);
    saturating_sub(r.chips[0].bytes[index], amount);
    if (slot) saturating_sub(slot->bytes[index], amount);
  }
  const uint64_t now = now_ns();
  if (slot) shared(slot->last_update_ns).store(now);
  shared(r.last_update_ns).store(now);
}

void TtShmPublisher::release_slot(tt_shm::Region& r, tt_shm::ProcessStats& slot) {
  for (int i = 0; i < tt_shm::kCountedTypes; ++i) {
    saturating_sub(r.totals[i], shared(slot.bytes[i]).load());
    saturating_sub(r.chips[0].bytes[i], shared(slot.bytes[i]).load());
    shared(slot.bytes[i]).store(0);
  }
  shared(slot.pid).store(0);
  auto active = shared(r.num_active_processes);
  if (active.load() > 0) active.fetch_sub(1);
  auto refs = shared(r.reference_count);
  if (refs.load() > 0) refs.fetch_sub(1);
  shared(r.last_update_ns).store(now_ns());
}

void TtShmPublisher::detach(int device_id) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(device_id);
  if (it == devices_.end() || --it->second.users > 0) return;
  Mapped& mapped = it->second;
  if (mapped.region) {
    if (mapped.slot) release_slot(*mapped.region, *mapped.slot);
    ::munmap(mapped.region, sizeof(tt_shm::Region));
  }
  devices_.erase(it);
}

}  // namespace allocmon::mesh
