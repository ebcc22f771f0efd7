#include "source_poller.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace allocmon::server {

SourcePoller::SourcePoller(std::vector<std::unique_ptr<Source>> sources)
    : sources_(std::move(sources)), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

SourcePoller::~SourcePoller() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void SourcePoller::start() {
  if (!sources_.empty()) thread_ = std::thread([this] { run(); });
}

uint64_t SourcePoller::request_round() {
  uint64_t round;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    round = ++requested_round_;
  }
  wake_.notify_all();
  return round;
}

std::vector<SourcePoller::Result> SourcePoller::take(uint64_t* completed_round) {
  uint64_t counter;
  [[maybe_unused]] auto r = ::read(wake_fd_, &counter, sizeof(counter));
  std::lock_guard<std::mutex> lock(mutex_);
  if (completed_round) *completed_round = completed_round_;
  return std::move(results_);
}

void SourcePoller::run() {
  using clock = std::chrono::steady_clock;
  std::vector<clock::time_point> due(sources_.size(), clock::now());
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    auto next = due[0];
    for (auto t : due) next = std::min(next, t);
    wake_.wait_until(lock, next, [&] { return stop_ || requested_round_ > completed_round_; });
    if (stop_) break;
    const uint64_t round = requested_round_;
    const bool everyone = round > completed_round_;
    lock.unlock();
    std::vector<Result> results;
    const auto now = clock::now();
    for (size_t i = 0; i < sources_.size(); ++i) {
      if (!everyone && now < due[i]) continue;
      Source& source = *sources_[i];
      results.push_back({std::string(source.name()), source.interval_ms(), source.poll()});
      due[i] = clock::now() + std::chrono::milliseconds(source.interval_ms());
    }
    lock.lock();
    for (auto& result : results) {  // only the newest report of each source waits for the event loop
      auto same = std::find_if(results_.begin(), results_.end(),
                               [&](const Result& r) { return r.source == result.source; });
      if (same != results_.end())
        *same = std::move(result);
      else
        results_.push_back(std::move(result));
    }
    if (everyone) completed_round_ = round;
    const uint64_t one = 1;
    [[maybe_unused]] auto w = ::write(wake_fd_, &one, sizeof(one));
  }
}

}  // namespace allocmon::server
