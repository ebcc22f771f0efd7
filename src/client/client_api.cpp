// The C ABI entry points. The hot path is: one load and branch on the enabled flag, one thread-local load,
// one 40-byte store into the thread's queue and one release store. Everything else happens on the shipper
// thread.
#include <pthread.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "allocmon/client.h"
#include "attribution.hpp"
#include "shipper.hpp"

using allocmon::client::shipper;
using allocmon::client::ThreadQueue;
namespace wire = allocmon::wire;

extern "C" {
ALLOCMON_API volatile int allocmon_tracking_enabled = 0;
}

namespace {

// initial-exec: a plain %fs-relative load, no __tls_get_addr call on the hot path.
thread_local ThreadQueue* tls_queue __attribute__((tls_model("initial-exec"))) = nullptr;

// Marks the thread's queue retired when the thread exits, so the shipper can drain and delete it.
struct QueueRetirer {
  ThreadQueue* queue = nullptr;
  ~QueueRetirer() {
    if (queue) queue->retired.store(true, std::memory_order_release);
    tls_queue = nullptr;
  }
};

__attribute__((noinline)) ThreadQueue* attach_thread() {
  static thread_local QueueRetirer retirer;
  tls_queue = shipper().attach_thread();
  retirer.queue = tls_queue;
  return tls_queue;
}

inline void push(const wire::Event& event) {
  ThreadQueue* queue = tls_queue;
  if (__builtin_expect(queue == nullptr, 0)) queue = attach_thread();
  queue->push(event);
}

// Which devices this process registered (whether tracking is on or not): bindings check their callers with
// it.
std::mutex& registered_mutex() {
  static std::mutex* mutex = new std::mutex;  // leaked: used from static destructors
  return *mutex;
}
std::set<int32_t>& registered_devices() {
  static auto* devices = new std::set<int32_t>;
  return *devices;
}

void after_fork_in_child() {
  tls_queue = nullptr;
  if (allocmon_tracking_enabled) shipper().reset_after_fork();
}

__attribute__((constructor)) void read_environment() {
  const char* value = std::getenv(wire::kEnableEnvVar);
  allocmon_tracking_enabled = (value && std::strcmp(value, "1") == 0) ? 1 : 0;
  pthread_atfork(nullptr, nullptr, after_fork_in_child);
}

}  // namespace

extern "C" {

void allocmon_configure(int enabled, const char* socket_path) {
  if (socket_path) shipper().set_socket_path(socket_path);
  allocmon_tracking_enabled = enabled ? 1 : 0;
}

void allocmon_register_device(const allocmon_device_info* info) {
  if (info) {
    std::lock_guard lock(registered_mutex());
    registered_devices().insert(info->device_id);
  }
  if (!allocmon_tracking_enabled || !info) return;
  auto* registration = new wire::RegisterDevice{};
  registration->device_id = info->device_id;
  registration->mesh_row = info->mesh_row;
  registration->mesh_col = info->mesh_col;
  registration->grid_x = info->grid_x;
  registration->grid_y = info->grid_y;
  for (int i = 0; i < ALLOCMON_MAX_MEMORY_TYPES; ++i) registration->capacity[i] = info->capacity[i];
  if (info->architecture)
    std::strncpy(registration->architecture, info->architecture, sizeof(registration->architecture) - 1);
  wire::Event event{};
  event.kind = allocmon::client::kRegisterKind;
  event.device_id = info->device_id;
  event.buffer_id = reinterpret_cast<uint64_t>(registration);
  push(event);
}

void allocmon_unregister_device(int32_t device_id) {
  {
    std::lock_guard lock(registered_mutex());
    registered_devices().erase(device_id);
  }
  if (!allocmon_tracking_enabled) return;
  wire::Event event{};
  event.kind = allocmon::client::kUnregisterKind;
  event.device_id = device_id;
  push(event);
}

void allocmon_alloc(int32_t device_id, allocmon_memory_type type, uint64_t size, uint64_t address,
                    uint64_t buffer_id) {
  if (!allocmon_tracking_enabled) return;
  push(wire::Event{buffer_id, size, address, device_id, static_cast<uint8_t>(wire::EventKind::kAlloc),
                   static_cast<uint8_t>(type), 0, 0, 0, 0});
}

void allocmon_alloc_with_layout(int32_t device_id, allocmon_memory_type type, uint64_t size, uint64_t address,
                                uint64_t buffer_id, const allocmon_buffer_layout* layout) {
  if (!allocmon_tracking_enabled) return;
  wire::Event event{buffer_id,
                    size,
                    address,
                    device_id,
                    static_cast<uint8_t>(wire::EventKind::kAlloc),
                    static_cast<uint8_t>(type),
                    0,
                    0,
                    0,
                    0};
  if (layout) {
    if (layout->kind <= ALLOCMON_LAYOUT_SHARDED) event.layout = static_cast<uint8_t>(layout->kind);
    event.direction = static_cast<uint8_t>(layout->bottom_up < 0    ? wire::AllocDirection::kDefault
                                           : layout->bottom_up != 0 ? wire::AllocDirection::kBottomUp
                                                                    : wire::AllocDirection::kTopDown);
    if (layout->page_size <= UINT32_MAX) event.page_size = static_cast<uint32_t>(layout->page_size);
    if (layout->kind == ALLOCMON_LAYOUT_SHARDED) event.shard_count = layout->shard_count;
  }
  push(event);
}

void allocmon_free(int32_t device_id, uint64_t buffer_id) {
  if (!allocmon_tracking_enabled) return;
  push(wire::Event{buffer_id, 0, 0, device_id, static_cast<uint8_t>(wire::EventKind::kFree), 0, 0, 0, 0, 0});
}

void allocmon_report_free_space(int32_t device_id, allocmon_memory_type type, uint64_t free_bytes,
                                uint64_t largest_free_block) {
  if (!allocmon_tracking_enabled) return;
  push(wire::Event{0, free_bytes, largest_free_block, device_id,
                   static_cast<uint8_t>(wire::EventKind::kFreeSpace), static_cast<uint8_t>(type), 0, 0, 0,
                   0});
}

void allocmon_describe_region(int32_t device_id, allocmon_memory_type type, uint64_t base, uint64_t bank_size,
                              uint32_t banks, uint32_t page_alignment, uint32_t block_alignment) {
  if (!allocmon_tracking_enabled) return;
  push(wire::Event{banks, bank_size, base, device_id, static_cast<uint8_t>(wire::EventKind::kRegion),
                   static_cast<uint8_t>(type), 0, 0, page_alignment, block_alignment});
}

namespace {
void push_context(allocmon::client::ContextChange change) {
  if (!change.changed) return;
  wire::Event event{};
  event.kind = allocmon::client::kContextKind;
  event.buffer_id = change.id;
  push(event);
}
}  // namespace

void allocmon_scope_push(const char* name) {
  if (!allocmon_tracking_enabled) return;
  push_context(allocmon::client::push_scope(name));
}

void allocmon_scope_pop(void) {
  if (!allocmon_tracking_enabled) return;
  push_context(allocmon::client::pop_scope());
}

void allocmon_op_begin(const char* op, const char* site) {
  if (!allocmon_tracking_enabled) return;
  push_context(allocmon::client::begin_op(op, site));
}

void allocmon_op_end(void) {
  if (!allocmon_tracking_enabled) return;
  push_context(allocmon::client::end_op());
}

void allocmon_tensor_begin(const char* description) {
  if (!allocmon_tracking_enabled) return;
  push_context(allocmon::client::begin_tensor(description));
}

void allocmon_tensor_end(void) {
  if (!allocmon_tracking_enabled) return;
  push_context(allocmon::client::end_tensor());
}

void allocmon_mark(const char* name) {
  if (!allocmon_tracking_enabled) return;
  std::string text = name ? name : "";
  if (text.size() > wire::kMaxAttributionString) text.resize(wire::kMaxAttributionString);
  wire::Event event{};
  event.kind = allocmon::client::kMarkKind;
  event.buffer_id = reinterpret_cast<uint64_t>(new std::string(std::move(text)));
  push(event);
}

int allocmon_device_registered(int32_t device_id) {
  std::lock_guard lock(registered_mutex());
  return registered_devices().count(device_id) ? 1 : 0;
}

int allocmon_flush(int timeout_ms) {
  if (!allocmon_tracking_enabled) return ALLOCMON_FLUSH_DISABLED;
  return shipper().flush(timeout_ms);
}

void allocmon_get_client_stats(allocmon_client_stats* out) {
  if (!out) return;
  std::memset(out, 0, sizeof(*out));
  shipper().stats(out);
}

}  // extern "C"
