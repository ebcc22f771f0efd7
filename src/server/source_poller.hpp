// Runs the polled sources on their own thread, each at its own interval, so a slow /proc walk never delays a
// client's flush in the event loop. Reports come back through take(); wake_fd() becomes readable when there
// are some. request_round() asks for every source at once (the barrier behind allocmon's SyncSources
// message: "what the files say now").
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sources/source.hpp"

namespace allocmon::server {

class SourcePoller {
 public:
  struct Result {
    std::string source;
    int interval_ms = 0;
    SourceReport report;
  };

  explicit SourcePoller(std::vector<std::unique_ptr<Source>> sources);
  ~SourcePoller();
  SourcePoller(const SourcePoller&) = delete;
  SourcePoller& operator=(const SourcePoller&) = delete;

  void start();
  bool empty() const { return sources_.empty(); }
  int wake_fd() const { return wake_fd_; }
  // Reports since the last call, and the newest round that is complete among them.
  std::vector<Result> take(uint64_t* completed_round);
  // Asks for a round of every source now; returns the number take() reports once that round is in.
  uint64_t request_round();

 private:
  void run();

  std::vector<std::unique_ptr<Source>> sources_;
  int wake_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Result> results_;
  uint64_t requested_round_ = 0, completed_round_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace allocmon::server
