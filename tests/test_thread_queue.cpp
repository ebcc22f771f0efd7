// The shipper's deferral rule for a thread's queue (ThreadQueue::drain_limit): a thread mid-burst is left
// alone until it pauses or its oldest undrained event is kDrainDeferUs old; force drains at once.
#include <gtest/gtest.h>

#include "client/thread_queue.hpp"

using allocmon::client::ThreadQueue;

namespace {

constexpr int64_t kDefer = ThreadQueue::kDrainDeferUs;

void push(ThreadQueue& queue, int count) {
  for (int i = 0; i < count; ++i) queue.push(allocmon::wire::Event{});
}

void drain_to(ThreadQueue& queue, uint64_t limit) {
  while (queue.consumed() < limit) {
    queue.front();
    queue.pop();
  }
}

}  // namespace

TEST(ThreadQueueDrain, AThreadMidBurstWaitsUntilItPauses) {
  ThreadQueue queue;
  const int64_t t0 = 10 * kDefer;
  push(queue, 3);
  EXPECT_EQ(queue.drain_limit(t0, false), 3u);  // nothing drained since the start: old enough
  drain_to(queue, 3);
  queue.note_drained(t0);

  push(queue, 2);
  EXPECT_EQ(queue.drain_limit(t0 + 100, false), 3u);  // the head moved since the last pass: mid-burst
  push(queue, 1);
  EXPECT_EQ(queue.drain_limit(t0 + 200, false), 3u);
  EXPECT_EQ(queue.drain_limit(t0 + 300, false), 6u);  // unchanged since the last pass: paused
}

TEST(ThreadQueueDrain, AThreadThatNeverPausesIsDrainedOnceItsOldestEventIsOldEnough) {
  ThreadQueue queue;
  const int64_t t0 = 10 * kDefer;
  EXPECT_EQ(queue.drain_limit(t0, false), 0u);
  queue.note_drained(t0);  // empty at t0
  int64_t t = t0;
  for (int pass = 1; t + kDefer / 4 < t0 + kDefer; ++pass) {
    push(queue, 10);
    t += kDefer / 4;
    EXPECT_EQ(queue.drain_limit(t, false), 0u) << "pass " << pass;
  }
  push(queue, 10);
  EXPECT_EQ(queue.drain_limit(t0 + kDefer, false), queue.published());
}

TEST(ThreadQueueDrain, APartialDrainLeavesTheRestOld) {
  ThreadQueue queue;
  const int64_t t0 = 10 * kDefer;
  push(queue, 10);
  EXPECT_EQ(queue.drain_limit(t0, false), 10u);
  drain_to(queue, 4);  // the pass stopped early (a server slower than the application)
  queue.note_drained(t0);
  push(queue, 1);
  EXPECT_EQ(queue.drain_limit(t0 + 1, false), 11u);  // events from before t0 wait: no deferral
}

TEST(ThreadQueueDrain, ForceAndAnEmptyQueueNeverDefer) {
  ThreadQueue queue;
  const int64_t t0 = 10 * kDefer;
  queue.note_drained(t0);
  EXPECT_EQ(queue.drain_limit(t0, false), 0u);
  push(queue, 5);
  EXPECT_EQ(queue.drain_limit(t0 + 1, false), 0u);
  push(queue, 5);
  EXPECT_EQ(queue.drain_limit(t0 + 2, true), 10u);  // a flush barrier, exit or a half-used budget
}
