// One process's live buffers on the server, by (device, buffer id): open addressing with linear probing (no
// allocation per buffer; std::unordered_map's node malloc and free were a fifth of the server's ingest time,
// docs/performance.md). Deletion leaves a tombstone, so entries never move between rebuilds: a leak stream
// that walks the slots sees every buffer that lives throughout exactly once, and generation() says when a
// rebuild (growth, or tombstone clean-up) means it must start over.
// Each table hashes with its own random multipliers (drawn again at every rebuild): keys that arrive in the
// slot order of another table hashed alike (a client's resync sends its live table in slot order) would
// otherwise land in one ever longer run (ten million of them took the server minutes instead of seconds), and
// a client cannot pick ids that collide.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <random>
#include <vector>

#include "protocol/buffer_key.hpp"

namespace allocmon::server {

template <typename Record>
class BufferTable {
 public:
  struct Slot {
    wire::BufferKey first;  // device_id kEmpty / kDeleted: no entry
    Record second;
  };

  BufferTable() { reset(kInitialCapacity); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t slot_count() const { return slots_.size(); }
  uint64_t generation() const { return generation_; }
  // The farthest any entry sits from its home slot (how long the worst lookup probes; for tests).
  size_t longest_probe() const {
    size_t longest = 0;
    for (size_t i = 0; i < slots_.size(); ++i)
      if (live(slots_[i])) longest = std::max(longest, (i - index_of(slots_[i].first)) & mask());
    return longest;
  }
  // nullptr for an empty slot.
  const Slot* slot(size_t i) const { return live(slots_[i]) ? &slots_[i] : nullptr; }

  // Inserts unless the key is live; returns the record and whether it was inserted.
  std::pair<Record*, bool> try_emplace(const wire::BufferKey& key, const Record& record) {
    if ((size_ + tombstones_ + 1) * 10 > slots_.size() * 7)
      rebuild(size_ * 10 > slots_.size() * 4 ? slots_.size() * 2 : slots_.size());
    size_t target = SIZE_MAX;
    for (size_t i = index_of(key);; i = (i + 1) & mask()) {
      Slot& s = slots_[i];
      if (s.first.device_id == kEmpty) {
        if (target == SIZE_MAX) target = i;
        break;
      }
      if (s.first.device_id == kDeleted) {
        if (target == SIZE_MAX) target = i;
        continue;
      }
      if (s.first == key) return {&s.second, false};
    }
    Slot& s = slots_[target];
    if (s.first.device_id == kDeleted) --tombstones_;
    s.first = key;
    s.second = record;
    ++size_;
    return {&s.second, true};
  }

  Record* find(const wire::BufferKey& key) {
    return const_cast<Record*>(static_cast<const BufferTable*>(this)->find(key));
  }
  const Record* find(const wire::BufferKey& key) const {
    for (size_t i = index_of(key);; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (s.first.device_id == kEmpty) return nullptr;
      if (s.first == key) return &s.second;
    }
  }

  bool erase(const wire::BufferKey& key) {
    for (size_t i = index_of(key);; i = (i + 1) & mask()) {
      Slot& s = slots_[i];
      if (s.first.device_id == kEmpty) return false;
      if (s.first == key) {
        s.first.device_id = kDeleted;
        --size_;
        ++tombstones_;
        if (slots_.size() > 4096 && size_ * 16 < slots_.size())
          rebuild(capacity_for(size_));  // a burst is over
        return true;
      }
    }
  }

  // Calls fn(key, record) for each entry pred(key, record) accepts and removes it; one pass and a rebuild.
  template <typename Pred, typename Fn>
  void remove_if(Pred&& pred, Fn&& fn) {
    std::vector<Slot> keep;
    keep.reserve(size_);
    for (const Slot& s : slots_) {
      if (!live(s)) continue;
      if (pred(s.first, s.second))
        fn(s.first, s.second);
      else
        keep.push_back(s);
    }
    fill(keep, capacity_for(keep.size()));
  }

  struct Iterator {
    const BufferTable* table;
    size_t i;
    const Slot& operator*() const { return table->slots_[i]; }
    Iterator& operator++() {
      i = table->next_live(i + 1);
      return *this;
    }
    bool operator!=(const Iterator& other) const { return i != other.i; }
  };
  Iterator begin() const { return {this, next_live(0)}; }
  Iterator end() const { return {this, slots_.size()}; }

 private:
  static constexpr int32_t kEmpty = INT32_MIN;
  static constexpr int32_t kDeleted = INT32_MIN + 1;  // neither is a device id anyone registers
  static constexpr size_t kInitialCapacity = 16;

  static size_t capacity_for(size_t entries) {
    size_t capacity = kInitialCapacity;
    while (entries * 10 > capacity * 4) capacity *= 2;
    return capacity;
  }
  static bool live(const Slot& s) { return s.first.device_id != kEmpty && s.first.device_id != kDeleted; }
  size_t next_live(size_t i) const {
    while (i < slots_.size() && !live(slots_[i])) ++i;
    return i;
  }
  size_t mask() const { return slots_.size() - 1; }
  // Multiply-add-shift with the table's own random multipliers, one per key field: the top bits of
  // id * a + device * b. Both fields are seeded: a client that registers many devices cannot line keys up.
  static uint64_t next_seed() {
    static const uint64_t process_seed = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    static std::atomic<uint64_t> tables{0};
    uint64_t h = process_seed + tables.fetch_add(1, std::memory_order_relaxed) * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;  // SplitMix64's finaliser: successive tables far apart
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    return (h ^ (h >> 31)) | 1;
  }
  size_t index_of(const wire::BufferKey& key) const {
    return static_cast<size_t>(
        (key.buffer_id * id_seed_ + static_cast<uint32_t>(key.device_id) * device_seed_) >> shift_);
  }
  void reset(size_t capacity) {
    id_seed_ = next_seed();
    device_seed_ = next_seed();
    shift_ = 64 - std::countr_zero(capacity);  // capacity is a power of two
    slots_.assign(capacity, Slot{});
    for (auto& s : slots_) s.first.device_id = kEmpty;
    size_ = tombstones_ = 0;
    ++generation_;
  }
  void fill(const std::vector<Slot>& entries, size_t capacity) {
    reset(capacity);
    for (const auto& s : entries) {
      size_t i = index_of(s.first);
      while (slots_[i].first.device_id != kEmpty) i = (i + 1) & mask();
      slots_[i] = s;
    }
    size_ = entries.size();
  }
  void rebuild(size_t capacity) {
    std::vector<Slot> entries;
    entries.reserve(size_);
    for (const Slot& s : slots_)
      if (live(s)) entries.push_back(s);
    fill(entries, capacity);
  }

  std::vector<Slot> slots_;
  uint64_t id_seed_ = 1, device_seed_ = 1;
  int shift_ = 64;
  size_t size_ = 0, tombstones_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace allocmon::server
