// Host memory for emulated device contents. Shards are hundreds of MiB: large blocks are mapped directly (and
// given back whole when freed), and never zero-filled by the allocator. They are not marked for transparent
// huge pages: on this project's machines (THP "madvise", no huge page ever formed: AnonHugePages stays 0) the
// advice made faulting 1.6 GB in 4x slower (5.3 s against 1.2 s, measured with mmap + memset), as the kernel
// tries to compact memory on every fault.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

namespace allocmon::mesh {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kThreshold = 4u << 20;
  static constexpr size_t kHugePage = 2u << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kThreshold) {
      if (void* p = std::malloc(bytes)) return static_cast<T*>(p);
      throw std::bad_alloc();
    }
    // (Not MAP_POPULATE: cheaper alone, 0.6 against 1.0 s per 1.6 GB, but it holds the address-space lock
    // while it populates, so the per-device threads filling shards wait for each other; the demo got slower
    // with it.)
    void* p = mmap(nullptr, round(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kThreshold)
      std::free(p);
    else
      munmap(p, round(bytes));
  }
  // Default-initialise instead of zero-filling: every element is written by the op or copy that follows, and
  // a single-threaded memset of a 1.7 GB result costs more than the copy itself.
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  static size_t round(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

using HostBuffer = std::vector<float, HugePageAllocator<float>>;
// bfloat16 values as their bits (the upper half of a float32), for host data that is bfloat16 already.
using Bfloat16Buffer = std::vector<uint16_t, HugePageAllocator<uint16_t>>;

}  // namespace allocmon::mesh
