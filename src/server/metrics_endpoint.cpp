#include "metrics_endpoint.hpp"

#include <httplib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

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

bool MetricsEndpoint::start(const std::string& address) {
  const auto colon = address.rfind(':');
  const std::string host = colon == std::string::npos || colon == 0 ? "127.0.0.1" : address.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(colon == std::string::npos ? address : address.substr(colon + 1));
  } catch (const std::exception&) {
    std::fprintf(stderr, "allocation_server: --metrics-address wants HOST:PORT, got '%s'\n", address.c_str());
    return false;
  }
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(request_render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("allocmon allocation_server: metrics at /metrics\n", "text/plain");
  });
  if (port == 0)
    port = http_->bind_to_any_port(host);
  else if (!http_->bind_to_port(host, port))
    port = -1;
  if (port <= 0) {
    std::fprintf(stderr, "allocation_server: cannot serve metrics on %s\n", address.c_str());
    return false;
  }
  bound_ = host + ":" + std::to_string(port);
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
