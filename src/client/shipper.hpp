// The client's background thread: drains every thread's queue in a dependency-respecting order, keeps the
// process's own table of live buffers, and ships batches to the server over a non-blocking socket.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "allocmon/client.h"
#include "byte_buffer.hpp"
#include "live_table.hpp"
#include "protocol/buffer_key.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/wire.hpp"
#include "thread_queue.hpp"

namespace allocmon::client {

using wire::BufferKey;
using wire::BufferKeyHash;

inline constexpr const char* kMaxQueuedBytesEnvVar = "ALLOCMON_MAX_QUEUED_BYTES";
inline constexpr uint64_t kDefaultMaxQueuedBytes = 64ull << 20;

class Shipper {
 public:
  Shipper();
  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  void set_socket_path(std::string path);
  // Creates the calling thread's queue (and starts the shipper thread on first use).
  ThreadQueue* attach_thread();
  int flush(int timeout_ms);
  void stats(allocmon_client_stats* out);
  // A reporting thread over the queued-events budget waits here until the shipper has drained enough.
  void wait_for_room();
  uint64_t throttled() const { return throttled_.load(); }
  // Final drain at process exit: ships what is queued (bounded wait), stops the thread.
  void shutdown();
  // In a forked child: forget the parent's thread, queues, connection and buffers.
  void reset_after_fork();

 private:
  void run();
  void ensure_thread_started();
  void wake();

  // Queue draining. try_apply: applies the event if what it depends on has been applied (false: it must wait,
  // nothing changed); apply_forced: forwards one whose dependency never came, for the server to count.
  // `context`: the attribution the event's thread is in (attribution.hpp), for allocs.
  bool try_apply(wire::Event& event, uint32_t context);
  void apply_forced(const wire::Event& event);
  bool registered(int32_t device_id) const;
  void set_registered(int32_t device_id, bool on);
  // force: drain every queue to its head now (flush barriers, exit, a queue budget half used); otherwise a
  // queue whose thread is mid-burst waits (ThreadQueue::drain_limit).
  void drain_all(bool force);
  bool events_pending();

  // Outgoing byte stream.
  bool can_emit() const { return fd_ >= 0 && !resync_pending_; }
  bool backed_up() const;
  void emit_event(const wire::Event& event);
  // An alloc in `context`: a Context event first when the connection is in another one, and the context's
  // DefineContext the first time this connection sees it.
  void emit_alloc(const wire::Event& event, uint32_t context);
  void emit_mark(const std::string& name);
  template <typename Message>
  void emit_message(wire::MessageType type, const Message& message);
  void close_batch();
  void emit_full_state();
  void send_pending();
  void compact_sent();
  void handle_overflow();

  // Connection.
  void try_connect(bool force);
  void disconnect();
  void read_incoming();
  void handle_flush_requests();

  std::mutex registry_mutex_;
  std::vector<ThreadQueue*> queues_;
  std::string socket_path_;
  bool thread_started_ = false;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;

  // Flush barrier, guarded by flush_mutex_.
  std::mutex flush_mutex_;
  std::condition_variable flush_cv_;
  uint64_t flush_requested_ = 0;
  uint64_t flush_acked_ = 0;
  uint64_t flush_failed_ = 0;
  uint64_t flush_sent_ = 0;  // shipper thread only
  // The barrier being placed: what each queue had published when it was requested (shipper thread only).
  uint64_t barrier_token_ = 0;
  std::vector<std::pair<ThreadQueue*, uint64_t>> barrier_limits_;

  // Shipper-thread state.
  LiveTable live_;
  static constexpr int32_t kFastDeviceIds = 4096;  // registered ids below this are looked up in a vector
  std::vector<uint8_t> registered_fast_;
  std::map<int32_t, wire::RegisterDevice> devices_;
  std::map<std::pair<int32_t, uint8_t>, wire::Event> free_space_;
  std::map<std::pair<int32_t, uint8_t>, wire::Event> regions_;
  // Live buffers allocated in a context (the others are in none), for resyncs.
  std::unordered_map<BufferKey, uint32_t, BufferKeyHash> contexts_;
  // Per connection: the context the server applies allocs to now, and which contexts it has been told.
  uint32_t emitted_context_ = 0;
  std::vector<bool> defined_;
  // What this connection has named so far, kept below the server's per-connection bounds (wire.hpp); a
  // resync on the same connection re-defines within the same count.
  size_t defined_count_ = 0;
  size_t defined_bytes_ = 0;
  int fd_ = -1;
  bool warned_ = false;
  bool resync_pending_ = false;
  int64_t next_connect_ms_ = 0;
  ByteBuffer out_;
  size_t out_sent_ = 0;
  size_t batch_offset_ = 0;
  bool batch_open_ = false;
  size_t batch_events_ = 0;
  size_t last_resync_bytes_ = 0;
  int64_t last_send_progress_ms_ = 0;
  wire::FrameDecoder incoming_{wire::Direction::kFromServer};

  // Counters (read by stats() from other threads).
  std::atomic<uint64_t> events_sent_{0}, resyncs_{0}, superseded_{0}, client_errors_{0}, live_count_{0},
      retired_events_{0};
  std::atomic<int> connected_{0};
  std::atomic<bool> thread_running_{false};
  std::atomic<uint64_t> throttled_{0};  // times a reporting thread waited for room
};

Shipper& shipper();

}  // namespace allocmon::client
