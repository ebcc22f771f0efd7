#include "log_writer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace allocmon::server {

namespace {

// The writer never blocks in write(): a terminal that polls writable still blocks a write larger than the
// room it has. A pipe or terminal gets a non-blocking description of its own (O_NONBLOCK on the inherited one
// would change it for every process sharing it), a socket is sent to with MSG_DONTWAIT, and a regular file is
// written as it is (it does not wait for a reader). Where none of that works, the writer polls first and
// writes at most PIPE_BUF bytes, which a pipe that polls writable takes at once.
LogWriter::Output classify(int fd, int* own_fd) {
  *own_fd = -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return LogWriter::Output::kPollFirst;
  if (S_ISREG(st.st_mode)) return LogWriter::Output::kRegularFile;
  if (S_ISSOCK(st.st_mode)) return LogWriter::Output::kSocket;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  *own_fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  return *own_fd >= 0 ? LogWriter::Output::kOwnNonBlocking : LogWriter::Output::kPollFirst;
}

}  // namespace

LogWriter::LogWriter(int fd, size_t max_backlog_bytes)
    : fd_(fd), output_(classify(fd, &own_fd_)), max_backlog_(max_backlog_bytes) {
  cookie_io_functions_t io{};
  io.write = &LogWriter::write_from_stream;
  file_ = ::fopencookie(this, "w", io);
  if (!file_) {
    if (own_fd_ >= 0) ::close(own_fd_);
    throw std::runtime_error("allocation_server: cannot open the log stream");
  }
  std::setvbuf(file_, nullptr, _IOLBF, 0);  // each line leaves at once
  // The asynchronous signals blocked in the writer: the server takes SIGTERM, SIGINT and SIGUSR1 through a
  // signalfd, which only works if no thread would take them itself. A crash in the writer still reports.
  sigset_t blocked, old;
  sigfillset(&blocked);
  for (int synchronous : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP})
    sigdelset(&blocked, synchronous);
  ::pthread_sigmask(SIG_SETMASK, &blocked, &old);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    std::fclose(file_);
    if (own_fd_ >= 0) ::close(own_fd_);
    throw;
  }
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
  if (own_fd_ >= 0) ::close(own_fd_);
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
    // Once a line is dropped, every line is until the writer takes the backlog: the log has one gap, where
    // the count of what is missing is written, never holes a shorter line slipped through.
    if (!dropping_ && pending_.size() + text.size() > max_backlog_) {
      dropping_ = true;
      if (!pending_.empty() && pending_.back() != '\n') pending_ += '\n';  // a line cut by the stream buffer
    }
    if (dropping_) {
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
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty() || dropped_ > dropped_reported_; });
    if (pending_.empty() && dropped_ == dropped_reported_) return;  // stopping, and everything is out
    std::string out;
    out.swap(pending_);
    // Dropping started when the backlog was full, so the lines it dropped came after everything in `out`.
    if (dropped_ > dropped_reported_) {
      out += "⚠ allocation_server: " + std::to_string(dropped_ - dropped_reported_) +
             " log lines dropped: the log output was not read fast enough\n";
      dropped_reported_ = dropped_;
    }
    dropping_ = false;
    lock.unlock();
    const bool written = write_out(out);
    lock.lock();
    if (!written) {
      failed_ = true;
      pending_.clear();
      return;
    }
  }
}

bool LogWriter::write_out(std::string_view text) {
  using Clock = std::chrono::steady_clock;
  const int fd = own_fd_ >= 0 ? own_fd_ : fd_;
  auto last_progress = Clock::now();
  bool saw_stopping = false;
  bool writable = output_ != Output::kPollFirst;
  while (!text.empty()) {
    if (writable) {
      const size_t most =
          output_ == Output::kPollFirst ? std::min<size_t>(text.size(), PIPE_BUF) : text.size();
      const ssize_t n = output_ == Output::kSocket
                            ? ::send(fd, text.data(), most, MSG_DONTWAIT | MSG_NOSIGNAL)
                            : ::write(fd, text.data(), most);
      if (n > 0) {
        text.remove_prefix(static_cast<size_t>(n));
        last_progress = Clock::now();
        writable = output_ != Output::kPollFirst;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        std::fprintf(stderr, "allocation_server: the log output failed (%s); no more log lines are written\n",
                     std::strerror(errno));
        return false;
      }
    }
    pollfd ready{fd, POLLOUT, 0};
    if (::poll(&ready, 1, 100) > 0) {
      if (ready.revents & (POLLERR | POLLNVAL)) return false;  // the reader is gone, or the fd is
      writable = (ready.revents & POLLOUT) != 0;
    }
    bool stopping;
    {
      std::lock_guard lock(mutex_);
      stopping = stopping_;
    }
    if (stopping && !saw_stopping) {  // the reader gets the whole grace period from the moment we stop
      saw_stopping = true;
      last_progress = Clock::now();
    }
    if (stopping && Clock::now() - last_progress > std::chrono::milliseconds(kShutdownWaitMs)) return false;
  }
  return true;
}

}  // namespace allocmon::server
