// The server's log output (stdout), written by a thread of its own. The event loop hands each line over and
// goes on: a log that nobody reads (a pipe left unread, a terminal on hold) would otherwise block the server
// in fprintf, and every client with it. Past a bounded backlog, lines are dropped and counted; the count is
// written as soon as the reader catches up.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace allocmon::server {

class LogWriter {
 public:
  static constexpr size_t kDefaultMaxBacklogBytes = 4u << 20;
  // How long the destructor keeps trying to write what is pending while the reader takes nothing.
  static constexpr int kShutdownWaitMs = 1000;

  // How the writer writes to its fd without blocking (log_writer.cpp).
  enum class Output { kRegularFile, kSocket, kOwnNonBlocking, kPollFirst };

  explicit LogWriter(int fd, size_t max_backlog_bytes = kDefaultMaxBacklogBytes);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // A line-buffered stream whose lines go to the writer thread.
  std::FILE* file() const { return file_; }
  uint64_t dropped_lines() const;

 private:
  static ssize_t write_from_stream(void* self, const char* data, size_t size);
  void append(std::string_view text);
  void run();
  // Writes all of `text`, waiting for the reader; false when the fd failed or, once stopping, took nothing
  // for kShutdownWaitMs.
  bool write_out(std::string_view text);

  const int fd_;
  int own_fd_ = -1;  // a non-blocking description of fd_'s pipe or terminal, when it could be opened
  const Output output_;
  const size_t max_backlog_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;
  uint64_t dropped_ = 0, dropped_reported_ = 0;
  bool stopping_ = false;
  bool dropping_ = false;  // from the first dropped line until the writer takes the backlog
  bool failed_ = false;    // the fd failed (closed reader): later output is discarded
  std::FILE* file_ = nullptr;
  std::thread thread_;
};

}  // namespace allocmon::server
