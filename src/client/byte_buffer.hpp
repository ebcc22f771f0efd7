// The shipper's outgoing bytes: appends without zero-filling first (std::vector<char>::resize did, then the
// event was copied over it), and grows geometrically. Usable with wire::append_frame (insert at end()).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace allocmon::client {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  char* end() { return data_.get() + size_; }

  // Room for `n` more bytes at the end, uninitialised; the caller fills them.
  char* extend(size_t n) {
    if (size_ + n > capacity_) reserve(std::max(size_ + n, capacity_ * 2));
    char* at = data_.get() + size_;
    size_ += n;
    return at;
  }
  void append(const void* bytes, size_t n) {
    if (n) std::memcpy(extend(n), bytes, n);
  }
  // For wire::append_frame: only appends are supported.
  void insert(char* /*at end()*/, const char* first, const char* last) {
    append(first, static_cast<size_t>(last - first));
  }
  void truncate(size_t n) {
    if (n < size_) size_ = n;
  }
  void erase_front(size_t n) {
    if (n >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_.get(), data_.get() + n, size_ - n);
    size_ -= n;
  }
  void clear() { size_ = 0; }

 private:
  void reserve(size_t capacity) {
    std::unique_ptr<char[]> bigger(new char[capacity]);
    if (size_) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace allocmon::client
