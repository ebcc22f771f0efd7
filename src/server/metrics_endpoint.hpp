// `GET /metrics` over HTTP (cpp-httplib on its own thread). The accounting belongs to the event loop's
// thread, so a request wakes the loop (an eventfd in its epoll set), which renders the text; the HTTP thread
// waits for it.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "host_port.hpp"

namespace httplib {
class Server;
}

namespace allocmon::server {

class MetricsEndpoint {
 public:
  MetricsEndpoint();
  ~MetricsEndpoint();
  // False with a message on stderr when it cannot listen there.
  bool start(const HostPort& address);
  // The fd the event loop watches; when readable, call serve_pending().
  int wake_fd() const { return wake_fd_; }
  void serve_pending(const std::function<std::string()>& render);
  const std::string& bound_address() const { return bound_; }

 private:
  std::string request_render();

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int wake_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t requested_ = 0, served_ = 0;
  std::string text_;
  std::string bound_;
};

}  // namespace allocmon::server
