// The shipper's table of live buffers (every alloc not yet freed, by (device, buffer id)), kept so that any
// reconnect re-sends exact state. Open addressing with linear probing and backward-shift deletion: one probe
// sequence per event, no allocation per insert (std::unordered_map cost a malloc, a free and two lookups per
// pair; docs/performance.md). The events are stored whole: a resync sends them as they came.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "protocol/wire.hpp"

namespace allocmon::client {

class LiveTable {
 public:
  LiveTable() {
    slots_.resize(kInitialCapacity);
    clear_slots();
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Inserts the alloc unless (device, buffer id) is already live; false then, and nothing changes.
  bool insert(const wire::Event& event) {
    if ((size_ + 1) * 10 > slots_.size() * 7)
      grow();  // at most 70 % full: short probes, ~60 B per live buffer
    size_t i = index_of(event.device_id, event.buffer_id);
    for (;; i = (i + 1) & mask()) {
      wire::Event& slot = slots_[i];
      if (slot.device_id == kEmpty) {
        slot = event;
        ++size_;
        return true;
      }
      if (slot.device_id == event.device_id && slot.buffer_id == event.buffer_id) return false;
    }
  }

  // Removes the buffer; false when it is not live.
  bool erase(int32_t device_id, uint64_t buffer_id) {
    size_t i = index_of(device_id, buffer_id);
    for (;; i = (i + 1) & mask()) {
      const wire::Event& slot = slots_[i];
      if (slot.device_id == kEmpty) return false;
      if (slot.device_id == device_id && slot.buffer_id == buffer_id) break;
    }
    remove_at(i);
    if (slots_.size() > kInitialCapacity && size_ * 8 < slots_.size()) shrink();  // a burst is over
    return true;
  }

  bool contains(int32_t device_id, uint64_t buffer_id) const {
    for (size_t i = index_of(device_id, buffer_id);; i = (i + 1) & mask()) {
      const wire::Event& slot = slots_[i];
      if (slot.device_id == kEmpty) return false;
      if (slot.device_id == device_id && slot.buffer_id == buffer_id) return true;
    }
  }

  template <typename F>
  void for_each(F&& f) const {
    for (const auto& slot : slots_)
      if (slot.device_id != kEmpty) f(slot);
  }

  // Removes every buffer of a device (it was unregistered).
  void erase_device(int32_t device_id) {
    std::vector<wire::Event> keep;
    keep.reserve(size_);
    for_each([&](const wire::Event& e) {
      if (e.device_id != device_id) keep.push_back(e);
    });
    rebuild(keep, slots_.size());
  }

  void clear() {
    slots_.assign(kInitialCapacity, wire::Event{});
    clear_slots();
    size_ = 0;
  }

 private:
  static constexpr int32_t kEmpty = INT32_MIN;  // no device has this id
  static constexpr size_t kInitialCapacity = 1024;

  size_t mask() const { return slots_.size() - 1; }
  size_t index_of(int32_t device_id, uint64_t buffer_id) const {
    uint64_t h = buffer_id * 0x9E3779B97F4A7C15ull ^ static_cast<uint32_t>(device_id) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    return static_cast<size_t>(h) & mask();
  }
  void clear_slots() {
    for (auto& slot : slots_) slot.device_id = kEmpty;
  }
  // Backward-shift deletion: later entries of the same run move up, so no tombstones build up.
  void remove_at(size_t hole) {
    slots_[hole].device_id = kEmpty;
    --size_;
    for (size_t i = (hole + 1) & mask();; i = (i + 1) & mask()) {
      wire::Event& slot = slots_[i];
      if (slot.device_id == kEmpty) return;
      const size_t home = index_of(slot.device_id, slot.buffer_id);
      // Move it into the hole if its home is not within (hole, i] (cyclically).
      const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (stays) continue;
      slots_[hole] = slot;
      slot.device_id = kEmpty;
      hole = i;
    }
  }
  void grow() {
    std::vector<wire::Event> all;
    all.reserve(size_);
    for_each([&](const wire::Event& e) { all.push_back(e); });
    rebuild(all, slots_.size() * 2);
  }
  void shrink() {
    std::vector<wire::Event> all;
    all.reserve(size_);
    for_each([&](const wire::Event& e) { all.push_back(e); });
    rebuild(all, slots_.size() / 2);
  }
  void rebuild(const std::vector<wire::Event>& events, size_t capacity) {
    slots_.assign(capacity, wire::Event{});
    clear_slots();
    size_ = 0;
    for (const auto& e : events) insert(e);
  }

  std::vector<wire::Event> slots_;
  size_t size_ = 0;
};

}  // namespace allocmon::client
