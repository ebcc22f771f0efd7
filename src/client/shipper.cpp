#include "shipper.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>
#include <thread>

#include "attribution.hpp"
#include "common/unix_socket.hpp"

namespace allocmon::client {

namespace {

constexpr size_t kBatchPayloadLimit = 64 * 1024;
// Unsent bytes beyond which the server counts as stalled: queued frames are dropped and replaced by a resync.
// The server counts as stalled when it has accepted no byte for kStallMs while kStallThresholdBytes wait;
// queued frames are then dropped and replaced by a resync. A busy server that keeps reading is never treated
// so. kHardCapBytes bounds the client's memory whatever the reason.
// Draining pauses while this much is unsent, so a server slower than the application holds the events in
// the (budgeted) queues rather than in an ever larger outgoing buffer; the reporting threads then wait for
// room. A server that accepts nothing for kStallMs while that much waits is stalled: queued frames are
// dropped and draining goes on into the live table alone (never blocking the application), replaced by a
// resync when the server reads again.
constexpr size_t kDrainPauseBytes = 4u << 20;
constexpr size_t kStallThresholdBytes = kDrainPauseBytes;
constexpr int64_t kStallMs = 1000;
constexpr size_t kHardCapBytes = 64u << 20;
constexpr int64_t kReconnectIntervalMs = 1000;
constexpr int kFinalSendBudgetMs = 1000;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

// End offset of the frame that contains byte `offset` of a stream of whole frames starting at 0.
size_t frame_boundary_at_or_after(const ByteBuffer& stream, size_t offset) {
  size_t pos = 0;
  while (pos < offset && pos + sizeof(wire::FrameHeader) <= stream.size()) {
    wire::FrameHeader header;
    std::memcpy(&header, stream.data() + pos, sizeof(header));
    pos += sizeof(header) + header.payload_size;
  }
  return pos;
}

// Start offset of the last frame boundary at or before `offset`.
size_t frame_boundary_at_or_before(const ByteBuffer& stream, size_t offset) {
  size_t pos = 0;
  while (pos + sizeof(wire::FrameHeader) <= offset) {
    wire::FrameHeader header;
    std::memcpy(&header, stream.data() + pos, sizeof(header));
    const size_t end = pos + sizeof(header) + header.payload_size;
    if (end > offset) break;
    pos = end;
  }
  return pos;
}

}  // namespace

Shipper::Shipper() : socket_path_(socket_path_from_env()) {
  // The queued-events budget (thread_queue.hpp): bytes, rounded to whole segments, at least two.
  uint64_t bytes = kDefaultMaxQueuedBytes;
  if (const char* text = std::getenv(kMaxQueuedBytesEnvVar); text && *text) {
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (end != text && *end == '\0' && value > 0)
      bytes = value;
    else
      std::fprintf(stderr, "allocmon: %s=%s is not a number of bytes; using %llu\n", kMaxQueuedBytesEnvVar,
                   text, static_cast<unsigned long long>(bytes));
  }
  const uint64_t segment = sizeof(wire::Event) * ThreadQueue::kSegmentEvents;
  ThreadQueue::set_max_segments(static_cast<int64_t>(std::max<uint64_t>(2, bytes / segment)));
  ThreadQueue::wait_for_room = [] { shipper().wait_for_room(); };
}

void Shipper::wait_for_room() {
  throttled_.fetch_add(1, std::memory_order_relaxed);
  // The shipper drains whatever the server does (it drops frames for a stalled server and resyncs), so this
  // wait is bounded by its drain speed; if it is not running (exit, after fork) the budget is not enforced.
  for (int round = 0; ThreadQueue::outstanding() > ThreadQueue::max_segments(); ++round) {
    if (stop_.load(std::memory_order_relaxed) || !thread_running_.load(std::memory_order_relaxed)) return;
    wake();
    if (round < 8) {
      std::this_thread::yield();
    } else {
      timespec pause{0, 50'000};
      ::nanosleep(&pause, nullptr);
    }
  }
}

Shipper& shipper() {
  // Deliberately leaked: it must outlive every static destructor that might still report a free.
  static Shipper* instance = new Shipper;
  return *instance;
}

void Shipper::set_socket_path(std::string path) {
  std::lock_guard lock(registry_mutex_);
  socket_path_ = std::move(path);
}

ThreadQueue* Shipper::attach_thread() {
  auto* queue = new ThreadQueue;
  {
    std::lock_guard lock(registry_mutex_);
    queues_.push_back(queue);
  }
  ensure_thread_started();
  return queue;
}

void Shipper::ensure_thread_started() {
  std::lock_guard lock(registry_mutex_);
  if (thread_started_) return;
  thread_started_ = true;
  stop_.store(false);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_running_.store(true);
  thread_ = std::thread([this] { run(); });
  static bool exit_hook_installed = false;
  if (!exit_hook_installed) {
    exit_hook_installed = true;
    std::atexit([] { shipper().shutdown(); });
  }
}

void Shipper::wake() {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) [[maybe_unused]]
    auto n = ::write(wake_fd_, &one, sizeof(one));
}

// ---------------------------------------------------------------------------------------------------------------
// Draining. Events of one thread are applied in their order; across threads an event waits until what it
// depends on has been applied (a free waits for its alloc, an alloc of a reused id for the free of the
// previous one, an event on a device for its registration). The application's own synchronisation guarantees
// that the event it depends on is already published when the dependent one is, so after one refresh of the
// queue limits a blocked event is a real error (double free, unknown buffer) and is forwarded as-is for the
// server to count.

bool Shipper::registered(int32_t device_id) const {
  if (device_id >= 0 && static_cast<size_t>(device_id) < registered_fast_.size())
    return registered_fast_[device_id];
  return devices_.count(device_id) > 0;
}

void Shipper::set_registered(int32_t device_id, bool on) {
  if (device_id < 0 || device_id >= kFastDeviceIds) return;
  if (static_cast<size_t>(device_id) >= registered_fast_.size()) registered_fast_.resize(device_id + 1, 0);
  registered_fast_[device_id] = on;
}

bool Shipper::try_apply(wire::Event& event, uint32_t context) {
  switch (event.kind) {
    case kRegisterKind: {
      auto* registration = reinterpret_cast<wire::RegisterDevice*>(event.buffer_id);
      devices_[registration->device_id] = *registration;
      set_registered(registration->device_id, true);
      emit_message(wire::MessageType::kRegisterDevice, *registration);
      delete registration;
      return true;
    }
    case kUnregisterKind:
      devices_.erase(event.device_id);
      set_registered(event.device_id, false);
      live_.erase_device(event.device_id);
      std::erase_if(contexts_, [&](const auto& entry) { return entry.first.device_id == event.device_id; });
      std::erase_if(free_space_, [&](const auto& entry) { return entry.first.first == event.device_id; });
      std::erase_if(regions_, [&](const auto& entry) { return entry.first.first == event.device_id; });
      live_count_.store(live_.size(), std::memory_order_relaxed);
      emit_message(wire::MessageType::kUnregisterDevice, wire::UnregisterDevice{event.device_id, 0});
      return true;
    // One table operation per event decides both whether it can go now and what it changes.
    case static_cast<uint8_t>(wire::EventKind::kAlloc):
      if (!registered(event.device_id) || !live_.insert(event)) return false;
      if (context) contexts_[BufferKey{event.device_id, event.buffer_id}] = context;
      live_count_.store(live_.size(), std::memory_order_relaxed);
      emit_alloc(event, context);
      return true;
    case static_cast<uint8_t>(wire::EventKind::kFree):
      if (!live_.erase(event.device_id, event.buffer_id)) return false;
      if (!contexts_.empty()) contexts_.erase(BufferKey{event.device_id, event.buffer_id});
      break;
    case static_cast<uint8_t>(wire::EventKind::kFreeSpace):
      if (!registered(event.device_id)) return false;
      free_space_[{event.device_id, event.memory_type}] = event;
      break;
    case static_cast<uint8_t>(wire::EventKind::kRegion):
      if (!registered(event.device_id)) return false;
      regions_[{event.device_id, event.memory_type}] = event;
      break;
  }
  live_count_.store(live_.size(), std::memory_order_relaxed);
  emit_event(event);
  return true;
}

void Shipper::apply_forced(const wire::Event& event) {
  // What it depends on never came (a double free, an unknown buffer): the server counts it.
  client_errors_.fetch_add(1, std::memory_order_relaxed);
  emit_event(event);
}

bool Shipper::events_pending() {
  std::lock_guard lock(registry_mutex_);
  for (ThreadQueue* queue : queues_)
    if (queue->consumed() != queue->published()) return true;
  return false;
}

void Shipper::drain_all(bool force) {
  std::vector<ThreadQueue*> queues;
  {
    std::lock_guard lock(registry_mutex_);
    queues = queues_;
  }
  const int64_t now = now_us();
  force = force || ThreadQueue::outstanding() * 2 >= ThreadQueue::max_segments();
  std::vector<uint64_t> limit(queues.size());
  for (size_t i = 0; i < queues.size(); ++i) limit[i] = queues[i]->drain_limit(now, force);

  bool refreshed = false;
  for (;;) {
    bool progress = false, blocked = false;
    for (size_t i = 0; i < queues.size(); ++i) {
      ThreadQueue& queue = *queues[i];
      while (queue.consumed() < limit[i]) {
        if (backed_up()) return;  // the rest waits in the queues until the server has read more
        wire::Event& front = queue.front();
        if (front.kind == kContextKind) {  // the thread's following allocs are in this context
          queue.context = static_cast<uint32_t>(front.buffer_id);
          queue.pop();
          progress = true;
          continue;
        }
        if (front.kind == kMarkKind) {
          auto* name = reinterpret_cast<std::string*>(front.buffer_id);
          emit_mark(*name);
          delete name;
          queue.pop();
          progress = true;
          continue;
        }
        if (!try_apply(front, queue.context)) {
          blocked = true;
          break;
        }
        queue.pop();
        progress = true;
      }
    }
    if (!blocked) break;
    if (progress) continue;
    if (!refreshed) {
      for (size_t i = 0; i < queues.size(); ++i) limit[i] = queues[i]->published();
      refreshed = true;
      continue;
    }
    for (size_t i = 0; i < queues.size(); ++i) {
      if (queues[i]->consumed() < limit[i]) {
        apply_forced(queues[i]->front());
        queues[i]->pop();
        break;
      }
    }
    refreshed = false;
  }
  for (ThreadQueue* queue : queues) queue->note_drained(now);

  std::lock_guard lock(registry_mutex_);
  std::erase_if(queues_, [&](ThreadQueue* queue) {
    if (!queue->retired.load(std::memory_order_acquire) || queue->consumed() != queue->published())
      return false;
    retired_events_.fetch_add(queue->consumed(), std::memory_order_relaxed);
    std::erase_if(barrier_limits_, [&](const auto& entry) { return entry.first == queue; });  // satisfied
    delete queue;
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Outgoing stream.

bool Shipper::backed_up() const {
  return can_emit() && out_.size() - out_sent_ >= kDrainPauseBytes;
}

void Shipper::emit_event(const wire::Event& event) {
  if (!can_emit()) return;
  if (!batch_open_ || batch_events_ * sizeof(wire::Event) >= kBatchPayloadLimit) {
    close_batch();
    batch_offset_ = out_.size();
    wire::append_frame(out_, wire::MessageType::kEventBatch, nullptr, 0);
    batch_open_ = true;
  }
  std::memcpy(out_.extend(sizeof(event)), &event, sizeof(event));
  ++batch_events_;
  events_sent_.fetch_add(1, std::memory_order_relaxed);
}

void Shipper::emit_alloc(const wire::Event& event, uint32_t context) {
  if (!can_emit()) return;
  if (context != emitted_context_) {
    if (context >= defined_.size()) defined_.resize(context + 1, false);
    if (context && !defined_[context]) {
      const ContextStrings strings = context_strings(context);
      const size_t bytes =
          strings.scope.size() + strings.op.size() + strings.site.size() + strings.tensor.size();
      if (defined_count_ < wire::kMaxContextsPerConnection &&
          defined_bytes_ + bytes <= wire::kMaxContextBytesPerConnection) {
        close_batch();
        wire::append_context(out_, wire::MessageType::kDefineContext, context, strings.scope, strings.op,
                             strings.site, strings.tensor);
        defined_[context] = true;
        ++defined_count_;
        defined_bytes_ += bytes;
      } else {
        context = 0;  // naming it would make the server close the connection: unattributed, still tracked
      }
    }
    if (context != emitted_context_) {
      wire::Event switch_to{};
      switch_to.kind = static_cast<uint8_t>(wire::EventKind::kContext);
      switch_to.buffer_id = context;
      emit_event(switch_to);
      emitted_context_ = context;
    }
  }
  emit_event(event);
}

void Shipper::emit_mark(const std::string& name) {
  if (!can_emit()) return;
  close_batch();
  wire::append_frame(out_, wire::MessageType::kMark, name.data(), name.size());
}

void Shipper::close_batch() {
  if (!batch_open_) return;
  // The batch's size goes into its header once, when it is complete.
  const uint32_t payload = static_cast<uint32_t>(batch_events_ * sizeof(wire::Event));
  std::memcpy(out_.data() + batch_offset_ + offsetof(wire::FrameHeader, payload_size), &payload,
              sizeof(payload));
  batch_open_ = false;
  batch_events_ = 0;
}

template <typename Message>
void Shipper::emit_message(wire::MessageType type, const Message& message) {
  if (!can_emit()) return;
  close_batch();
  wire::append_message(out_, type, message);
}

void Shipper::emit_full_state() {
  const size_t start = out_.size();
  for (const auto& [id, registration] : devices_)
    emit_message(wire::MessageType::kRegisterDevice, registration);
  for (const auto& [key, event] : regions_) emit_event(event);
  for (const auto& [key, event] : free_space_) emit_event(event);
  live_.for_each([this](const wire::Event& event) {
    const auto found =
        contexts_.empty() ? contexts_.end() : contexts_.find({event.device_id, event.buffer_id});
    emit_alloc(event, found == contexts_.end() ? 0 : found->second);
  });
  close_batch();
  last_resync_bytes_ = out_.size() - start;
  resyncs_.fetch_add(1, std::memory_order_relaxed);
}

void Shipper::send_pending() {
  close_batch();  // a frame whose first bytes are on the wire must not change any more
  while (fd_ >= 0 && out_sent_ < out_.size()) {
    const ssize_t n =
        ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      last_send_progress_ms_ = now_ms();
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      disconnect();
      return;
    }
  }
  if (fd_ < 0) return;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
    if (resync_pending_) {
      // The stalled server caught up with everything we had queued: replace what we dropped by the full
      // state.
      resync_pending_ = false;
      close_batch();
      wire::append_frame(out_, wire::MessageType::kReset, nullptr, 0);
      emitted_context_ = 0;  // a Reset puts the server's side of the connection in no context
      emit_full_state();
    }
    return;
  }
  if (out_sent_ > (1u << 20) && out_sent_ * 2 >= out_.size())
    compact_sent();  // amortised: at most one copy per byte
  handle_overflow();
}

void Shipper::compact_sent() {
  const size_t boundary = frame_boundary_at_or_before(out_, out_sent_);
  out_.erase_front(boundary);
  out_sent_ -= boundary;
}

void Shipper::handle_overflow() {
  if (resync_pending_) return;
  const size_t unsent = out_.size() - out_sent_;
  const bool stalled = unsent > std::max(kStallThresholdBytes, 2 * last_resync_bytes_) &&
                       now_ms() - last_send_progress_ms_ > kStallMs;
  if (!stalled && unsent <= std::max(kHardCapBytes, 2 * last_resync_bytes_)) return;
  const size_t keep = frame_boundary_at_or_after(out_, out_sent_);
  {
    std::lock_guard lock(flush_mutex_);
    flush_sent_ = flush_acked_;  // barriers among the dropped frames are sent again after the resync
  }
  superseded_.fetch_add((out_.size() - keep) / sizeof(wire::Event), std::memory_order_relaxed);
  out_.truncate(keep);
  batch_open_ = false;
  batch_events_ = 0;
  defined_.clear();  // some definitions may have been among the dropped frames: define again as needed
  resync_pending_ = true;
}

// ---------------------------------------------------------------------------------------------------------------
// Connection.

void Shipper::try_connect(bool force) {
  if (fd_ >= 0) return;
  const int64_t now = now_ms();
  if (!force && now < next_connect_ms_) return;
  next_connect_ms_ = now + kReconnectIntervalMs;
  std::string path;
  {
    std::lock_guard lock(registry_mutex_);
    path = socket_path_;
  }
  // A full listen backlog (EAGAIN) or a server between two lives (ECONNREFUSED) is not "no server": retry a
  // few times, 1 to 16 ms apart, on this thread (the application never waits for it).
  int fd = -1;
  for (int attempt = 0; attempt < 5; ++attempt) {
    fd = connect_unix(path, /*nonblocking=*/true);
    if (fd >= 0 || (errno != EAGAIN && errno != ECONNREFUSED) || stop_.load()) break;
    const int error = errno;
    timespec pause{0, (1L << attempt) * 1'000'000L};
    ::nanosleep(&pause, nullptr);
    errno = error;
  }
  if (fd < 0) {
    if (!warned_ && !stop_.load()) {  // at exit there is no application left to warn
      warned_ = true;
      const int error = errno;
      if (error == EACCES)
        std::fprintf(
            stderr,
            "allocmon: permission denied on the allocation server socket %s: this user may not report to "
            "it. Ask for membership of the socket's group (allocation_server --socket-group GROUP) or a "
            "wider --socket-mode. The application continues without tracking.\n",
            path.c_str());
      else
        std::fprintf(
            stderr,
            "allocmon: tracking is on (%s=1) but no allocation server answers on %s (%s). Start one with "
            "`allocation_server` (socket path: %s). The application continues; allocmon connects when "
            "the server appears.\n",
            wire::kEnableEnvVar, path.c_str(), std::strerror(error), wire::kSocketEnvVar);
    }
    return;
  }
  if (warned_) std::fprintf(stderr, "allocmon: connected to the allocation server on %s\n", path.c_str());
  warned_ = false;
  fd_ = fd;
  last_send_progress_ms_ = now_ms();
  connected_.store(1);
  out_.clear();
  out_sent_ = 0;
  batch_open_ = false;
  batch_events_ = 0;
  resync_pending_ = false;
  emitted_context_ = 0;
  defined_.clear();
  defined_count_ = 0;
  defined_bytes_ = 0;
  incoming_ = wire::FrameDecoder(wire::Direction::kFromServer);
  wire::Hello hello{};
  std::snprintf(hello.client_label, sizeof(hello.client_label), "liballocmon");
  emit_message(wire::MessageType::kHello, hello);
  emit_full_state();
}

void Shipper::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  connected_.store(0);
  out_.clear();
  out_sent_ = 0;
  batch_open_ = false;
  batch_events_ = 0;
  resync_pending_ = false;
  emitted_context_ = 0;
  defined_.clear();
  defined_count_ = 0;
  defined_bytes_ = 0;
  next_connect_ms_ = 0;  // one immediate retry (a restarted server), then rate-limited
  std::lock_guard lock(flush_mutex_);
  flush_sent_ = flush_acked_;  // unanswered barriers are sent again after the resync
}

void Shipper::read_incoming() {
  while (fd_ >= 0) {
    char* space = incoming_.prepare(64 * 1024);
    const ssize_t n = ::recv(fd_, space, 64 * 1024, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      disconnect();
      return;
    }
    incoming_.commit(static_cast<size_t>(n));
    wire::Frame frame;
    wire::ErrorCode error;
    wire::DecodeStatus status;
    while ((status = incoming_.next(frame, error)) == wire::DecodeStatus::kFrame) {
      if (frame.type == wire::MessageType::kFlushAck) {
        wire::FlushAck ack;
        std::memcpy(&ack, frame.payload.data(), sizeof(ack));
        std::lock_guard lock(flush_mutex_);
        flush_acked_ = std::max(flush_acked_, ack.token);
        flush_cv_.notify_all();
      } else if (frame.type == wire::MessageType::kError) {
        std::fprintf(stderr, "allocmon: the allocation server refused this client: %.*s\n",
                     static_cast<int>(frame.payload.size() - sizeof(wire::ErrorHeader)),
                     frame.payload.data() + sizeof(wire::ErrorHeader));
      }
    }
    if (status == wire::DecodeStatus::kError) {
      disconnect();
      return;
    }
  }
}

void Shipper::handle_flush_requests() {
  uint64_t requested;
  {
    std::lock_guard lock(flush_mutex_);
    requested = flush_requested_;
  }
  if (requested <= flush_sent_) return;
  if (requested != barrier_token_) {
    // Events published before the request was made are visible now: the barrier goes after all of them.
    barrier_token_ = requested;
    barrier_limits_.clear();
    std::lock_guard lock(registry_mutex_);
    for (ThreadQueue* queue : queues_) barrier_limits_.emplace_back(queue, queue->published());
  }
  try_connect(/*force=*/true);
  drain_all(/*force=*/true);
  if (fd_ >= 0 && !resync_pending_) {
    for (const auto& [queue, limit] : barrier_limits_)
      if (queue->consumed() < limit) return;  // drained in part (a server slower than the app): it waits
  }
  if (fd_ < 0) {
    std::lock_guard lock(flush_mutex_);
    flush_failed_ = std::max(flush_failed_, requested);
    flush_sent_ = requested;
    flush_cv_.notify_all();
    return;
  }
  if (resync_pending_) return;  // the server is stalled: the caller's timeout decides
  emit_message(wire::MessageType::kFlush, wire::Flush{requested});
  flush_sent_ = requested;
}

void Shipper::run() {
  while (true) {
    const bool stopping = stop_.load();
    // Connect before draining, so that what is drained is streamed (events drained while disconnected only
    // update the live table, which a resync sends). Nothing queued, registered or live: no attempt, no
    // warning.
    if (fd_ < 0 && (events_pending() || !devices_.empty() || !live_.empty())) try_connect(/*force=*/stopping);
    drain_all(/*force=*/stopping);
    handle_flush_requests();
    send_pending();
    read_incoming();
    if (stopping) break;
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd_, static_cast<short>(POLLIN), 0}};
    if (fd_ >= 0 && out_sent_ < out_.size()) fds[1].events |= POLLOUT;
    const int timeout_ms = fd_ >= 0 ? 1 : 5;
    if (::poll(fds, fd_ >= 0 ? 2 : 1, timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
      uint64_t value;
      [[maybe_unused]] auto n = ::read(wake_fd_, &value, sizeof(value));
    }
  }
  // Process exit: give what is queued a bounded chance to reach the server.
  const int64_t deadline = now_ms() + kFinalSendBudgetMs;
  while (fd_ >= 0 && out_sent_ < out_.size() && now_ms() < deadline) {
    pollfd fd{fd_, POLLOUT, 0};
    ::poll(&fd, 1, 50);
    send_pending();
  }
}

void Shipper::shutdown() {
  {
    std::lock_guard lock(registry_mutex_);
    if (!thread_started_) return;
    thread_started_ = false;
  }
  stop_.store(true);
  wake();
  if (thread_.joinable()) thread_.join();
  thread_running_.store(false);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Shipper::reset_after_fork() {
  // Only the forking thread exists in the child; the parent's shipper state may be mid-update, so it is
  // abandoned (leaked) rather than destroyed, and every lock is rebuilt.
  new (&registry_mutex_) std::mutex;
  new (&flush_mutex_) std::mutex;
  new (&flush_cv_) std::condition_variable;
  new (&queues_) std::vector<ThreadQueue*>;
  new (&thread_) std::thread;
  new (&live_) decltype(live_);
  new (&registered_fast_) decltype(registered_fast_);
  new (&devices_) decltype(devices_);
  new (&free_space_) decltype(free_space_);
  new (&regions_) decltype(regions_);
  new (&contexts_) decltype(contexts_);
  new (&defined_) decltype(defined_);
  defined_count_ = 0;
  defined_bytes_ = 0;
  emitted_context_ = 0;
  new (&out_) ByteBuffer;
  new (&barrier_limits_) decltype(barrier_limits_);
  barrier_token_ = 0;
  new (&incoming_) wire::FrameDecoder(wire::Direction::kFromServer);
  if (fd_ >= 0) ::close(fd_);  // the parent's connection stays the parent's
  if (wake_fd_ >= 0) ::close(wake_fd_);
  fd_ = wake_fd_ = -1;
  thread_started_ = false;
  out_sent_ = 0;
  batch_open_ = resync_pending_ = warned_ = false;
  batch_events_ = 0;
  flush_requested_ = flush_acked_ = flush_failed_ = flush_sent_ = 0;
  connected_.store(0);
  live_count_.store(0);
  thread_running_.store(false);
  ThreadQueue::reset_budget_after_fork(0);  // the parent's queues are abandoned with its shipper
}

int Shipper::flush(int timeout_ms) {
  ensure_thread_started();
  uint64_t token;
  {
    std::lock_guard lock(flush_mutex_);
    token = ++flush_requested_;
  }
  wake();
  std::unique_lock lock(flush_mutex_);
  flush_cv_.wait_for(lock, std::chrono::milliseconds(std::max(timeout_ms, 0)),
                     [&] { return flush_acked_ >= token || flush_failed_ >= token; });
  if (flush_acked_ >= token) return ALLOCMON_FLUSH_OK;
  if (flush_failed_ >= token) return ALLOCMON_FLUSH_NO_SERVER;
  return ALLOCMON_FLUSH_TIMEOUT;
}

void Shipper::stats(allocmon_client_stats* out) {
  uint64_t reported = retired_events_.load();
  {
    std::lock_guard lock(registry_mutex_);
    for (ThreadQueue* queue : queues_) reported += queue->published();
  }
  out->events_reported = reported;
  out->events_sent = events_sent_.load();
  out->resyncs = resyncs_.load();
  out->events_superseded = superseded_.load();
  out->client_errors = client_errors_.load();
  out->live_buffers = live_count_.load();
  out->connected = connected_.load();
}

}  // namespace allocmon::client
