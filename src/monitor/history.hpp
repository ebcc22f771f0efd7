// The monitor's memory of the last minutes: a fixed-size ring of samples, oldest dropped first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace allocmon::monitor {

template <typename T>
class Ring {
 public:
  explicit Ring(size_t capacity) : items_(capacity) {}
  void push(const T& item) {
    if (items_.empty()) return;
    items_[(first_ + size_) % items_.size()] = item;
    if (size_ < items_.size())
      ++size_;
    else
      first_ = (first_ + 1) % items_.size();
  }
  size_t size() const { return size_; }
  size_t capacity() const { return items_.size(); }
  // i = 0 is the oldest sample kept.
  const T& operator[](size_t i) const { return items_[(first_ + i) % items_.size()]; }
  const T& newest() const { return (*this)[size_ - 1]; }
  void clear() { first_ = size_ = 0; }

 private:
  std::vector<T> items_;
  size_t first_ = 0, size_ = 0;
};

// One device's history sample: what DRAM and L1 held at a refresh.
struct MemorySample {
  int64_t time_ms = 0;
  uint64_t dram = 0, l1 = 0;
};

}  // namespace allocmon::monitor
