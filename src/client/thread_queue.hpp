// Per-thread event queue: single producer (the application thread), single consumer (the shipper thread).
// A list of fixed-size segments: the producer mallocs a new one every kSegmentEvents events. Publication is
// one release store of a counter the producer alone writes. Every queue's segments count against one budget
// (ALLOCMON_MAX_QUEUED_BYTES, 64 MiB by default): a thread that would pass it waits for the shipper to drain
// (back-pressure, checked once per segment, never per event) instead of growing the process without bound.
// Nothing is dropped, so the shipper's live table, and the server's totals, stay exact.
#pragma once

#include <atomic>
#include <cstdint>

#include "protocol/wire.hpp"

namespace allocmon::client {

// Internal event kinds that travel through the queue but are turned into their own frames by the shipper.
enum InternalKind : uint8_t {
  kRegisterKind = 200,    // buffer_id holds a DeviceRegistration* owned by the queue entry
  kUnregisterKind = 201,  // device_id only
  kContextKind = 202,     // buffer_id: the thread's context id from now on (attribution.hpp), 0 = none
  kMarkKind = 203,        // buffer_id holds a std::string* (the mark's name) owned by the queue entry
};

class ThreadQueue {
 public:
  static constexpr uint32_t kSegmentEvents = 2048;  // 80 KiB per segment (40-byte events)

  ThreadQueue() : tail_segment_(new Segment), head_segment_(tail_segment_) { outstanding_.fetch_add(1); }
  ~ThreadQueue() {
    for (Segment* s = head_segment_; s;) {
      Segment* next = s->next.load(std::memory_order_relaxed);
      delete s;
      outstanding_.fetch_sub(1, std::memory_order_relaxed);
      s = next;
    }
  }

  // The budget: segments alive over every queue, and the most there may be.
  static int64_t outstanding() { return outstanding_.load(std::memory_order_relaxed); }
  static void set_max_segments(int64_t max) { max_segments_ = max; }
  static int64_t max_segments() { return max_segments_; }
  static void reset_budget_after_fork(int64_t segments) { outstanding_.store(segments); }
  // Called by a producer over the budget until there is room again (the shipper installs it).
  static inline void (*wait_for_room)() = nullptr;
  ThreadQueue(const ThreadQueue&) = delete;
  ThreadQueue& operator=(const ThreadQueue&) = delete;

  // ---- producer side (owning thread only) ----
  void push(const wire::Event& event) {
    if (__builtin_expect(tail_index_ == kSegmentEvents, 0)) grow();
    tail_segment_->events[tail_index_++] = event;
    published_.store(++produced_, std::memory_order_release);
  }

  // ---- consumer side (shipper only) ----
  uint64_t published() const { return published_.load(std::memory_order_acquire); }
  uint64_t consumed() const { return consumed_; }
  // Oldest unconsumed event; only valid while consumed() < a value returned by published().
  wire::Event& front() {
    if (head_index_ == kSegmentEvents) {
      Segment* next = head_segment_->next.load(std::memory_order_acquire);
      delete head_segment_;
      outstanding_.fetch_sub(1, std::memory_order_relaxed);
      head_segment_ = next;
      head_index_ = 0;
    }
    return head_segment_->events[head_index_];
  }
  void pop() {
    ++head_index_;
    ++consumed_;
  }

  // The context the thread's allocations are in, as the shipper has drained it (consumer side only).
  uint32_t context = 0;
  // Consumer side: the head a drain pass may drain this queue to, read at `now_us` (steady clock). A thread
  // in the middle of a burst is left alone until it pauses (its head unchanged since the previous pass) or
  // its oldest undrained event may be kDrainDeferUs old: reading segments while their thread writes them
  // costs that thread about a third more per event on two cores (docs/performance.md). `force` (flush
  // barriers, exit, a half-used budget) drains at once.
  static constexpr int64_t kDrainDeferUs = 4000;
  uint64_t drain_limit(int64_t now_us, bool force) {
    const uint64_t head = published();
    const bool paused = head == seen_published_;
    seen_published_ = head;
    if (force || paused || head == consumed_ || now_us - drained_as_of_us_ >= kDrainDeferUs) return head;
    return consumed_;
  }
  // After a pass that read its limits at `now_us`: drained past the head read then, nothing older is left.
  void note_drained(int64_t now_us) {
    if (consumed_ >= seen_published_) drained_as_of_us_ = now_us;
  }

  // Set by the owning thread's exit; the shipper deletes the queue once it has drained it.
  std::atomic<bool> retired{false};

 private:
  struct Segment {
    wire::Event events[kSegmentEvents];
    std::atomic<Segment*> next{nullptr};
  };

  void grow() {
    if (outstanding_.fetch_add(1, std::memory_order_relaxed) >= max_segments_ && wait_for_room)
      wait_for_room();
    auto* segment = new Segment;
    tail_segment_->next.store(segment, std::memory_order_release);
    tail_segment_ = segment;
    tail_index_ = 0;
  }

  static inline std::atomic<int64_t> outstanding_{0};
  static inline int64_t max_segments_ = INT64_MAX;

  // Producer fields and consumer fields on separate cache lines: no false sharing on the hot path.
  alignas(64) Segment* tail_segment_;
  uint32_t tail_index_ = 0;
  uint64_t produced_ = 0;
  alignas(64) std::atomic<uint64_t> published_{0};
  alignas(64) Segment* head_segment_;
  uint32_t head_index_ = 0;
  uint64_t consumed_ = 0;
  uint64_t seen_published_ = 0;
  int64_t drained_as_of_us_ = 0;
};

}  // namespace allocmon::client
