#include "metrics_endpoint.hpp"

#include <httplib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace allocmon::server {

MetricsEndpoint::MetricsEndpoint() : http_(std::make_unique<httplib::Server>()) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

MetricsEndpoint::~MetricsEndpoint() {
  http_->stop();
  {
    std::lock_guard lock(mutex_);
    served_ = requested_;  // release any waiting handler
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool MetricsEndpoint::start(const HostPort& address) {
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(request_render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("allocmon allocation_server: metrics at /metrics\n", "text/plain");
  });
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which a second server on the same
  // address binds too and the kernel splits the scrapes between the two. A taken address must be an error.
  http_->set_socket_options([](int fd) {
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  errno = 0;
  int port = address.port;
  if (port == 0)
    port = http_->bind_to_any_port(address.host);
  else if (!http_->bind_to_port(address.host, port))
    port = -1;
  if (port <= 0) {
    const int error = errno;
    std::fprintf(stderr, "allocation_server: cannot serve metrics on %s: %s\n",
                 address.url_authority().c_str(),
                 error == EADDRINUSE ? "address in use (another server or program listens there)"
                 : error             ? std::strerror(error)
                                     : "cannot bind");
    return false;
  }
  bound_ = HostPort{address.host, port}.url_authority();
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return true;
}

std::string MetricsEndpoint::request_render() {
  std::unique_lock lock(mutex_);
  const uint64_t ticket = ++requested_;
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  cv_.wait_for(lock, std::chrono::seconds(5), [&] { return served_ >= ticket; });
  return text_;
}

void MetricsEndpoint::serve_pending(const std::function<std::string()>& render) {
  uint64_t value;
  [[maybe_unused]] auto n = ::read(wake_fd_, &value, sizeof(value));
  std::string text = render();
  {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
    served_ = requested_;
  }
  cv_.notify_all();
}

}  // namespace allocmon::server
