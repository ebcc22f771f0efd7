#include "log_writer.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <stdexcept>

namespace allocmon::server {

LogWriter::LogWriter(int fd, size_t max_backlog_bytes) : fd_(fd), max_backlog_(max_backlog_bytes) {
  cookie_io_functions_t io{};
  io.write = &LogWriter::write_from_stream;
  file_ = ::fopencookie(this, "w", io);
  if (!file_) throw std::runtime_error("allocation_server: cannot open the log stream");
  std::setvbuf(file_, nullptr, _IOLBF, 0);  // each line leaves at once
  // Every signal blocked in the writer: the server takes SIGTERM, SIGINT and SIGUSR1 through a signalfd,
  // which only works if no thread would take them itself.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([this] { run(); });
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

LogWriter::~LogWriter() {
  std::fclose(file_);  // hands over what the stream still buffers
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

uint64_t LogWriter::dropped_lines() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

ssize_t LogWriter::write_from_stream(void* self, const char* data, size_t size) {
  static_cast<LogWriter*>(self)->append({data, size});
  return static_cast<ssize_t>(size);  // taken, written or dropped: the stream never sees an error
}

void LogWriter::append(std::string_view text) {
  {
    std::lock_guard lock(mutex_);
    if (failed_) return;
    if (pending_.size() + text.size() > max_backlog_) {
      for (char c : text) dropped_ += c == '\n';
      return;
    }
    pending_.append(text);
  }
  wake_.notify_one();
}

void LogWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and everything is out
    std::string out;
    out.swap(pending_);
    // Lines are dropped only while the backlog is full, so they came after everything in `out`.
    if (dropped_ > dropped_reported_) {
      out += "⚠ allocation_server: " + std::to_string(dropped_ - dropped_reported_) +
             " log lines dropped: the log output was not read fast enough\n";
      dropped_reported_ = dropped_;
    }
    lock.unlock();
    const bool written = write_out(out);
    lock.lock();
    if (!written) {
      failed_ = true;
      pending_.clear();
      if (stopping_) return;
    }
  }
}

bool LogWriter::write_out(std::string_view text) {
  using Clock = std::chrono::steady_clock;
  auto last_progress = Clock::now();
  while (!text.empty()) {
    pollfd ready{fd_, POLLOUT, 0};
    const int polled = ::poll(&ready, 1, 100);
    if (polled < 0 && errno != EINTR) return false;
    if (polled > 0 && (ready.revents & (POLLERR | POLLNVAL))) return false;
    if (polled > 0) {
      // At most PIPE_BUF at a time: a pipe that polls writable takes that much without blocking.
      const ssize_t n = ::write(fd_, text.data(), std::min<size_t>(text.size(), PIPE_BUF));
      if (n > 0) {
        text.remove_prefix(static_cast<size_t>(n));
        last_progress = Clock::now();
        continue;
      }
      if (n < 0 && errno != EINTR && errno != EAGAIN) return false;
    }
    bool stopping;
    {
      std::lock_guard lock(mutex_);
      stopping = stopping_;
    }
    if (stopping && Clock::now() - last_progress > std::chrono::milliseconds(kShutdownWaitMs)) return false;
  }
  return true;
}

}  // namespace allocmon::server
