#include "query_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/unix_socket.hpp"

namespace allocmon {

QueryClient::QueryClient(QueryClient&& other) noexcept : fd_(other.fd_), decoder_(std::move(other.decoder_)) {
  other.fd_ = -1;
}

QueryClient& QueryClient::operator=(QueryClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    decoder_ = std::move(other.decoder_);
    other.fd_ = -1;
  }
  return *this;
}

QueryClient::~QueryClient() {
  close();
}

void QueryClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  decoder_ = wire::FrameDecoder();
}

bool QueryClient::connect(const std::string& socket_path, std::string* error) {
  close();
  fd_ = connect_unix(socket_path, /*nonblocking=*/false);
  if (fd_ < 0 && error) {
    *error = "no allocation server on " + socket_path + " (" + std::strerror(errno) +
             "). Start one with `allocation_server`, or point " + wire::kSocketEnvVar +
             " at the right socket.";
    if (errno == EACCES)
      *error += " Permission denied: ask for membership of the socket's group (--socket-group).";
  }
  return fd_ >= 0;
}

std::optional<std::string> QueryClient::snapshot(int timeout_ms, std::string* error) {
  return request(wire::MessageType::kQuerySnapshot, nullptr, 0, wire::MessageType::kSnapshotJson, timeout_ms,
                 error);
}

std::optional<std::string> QueryClient::leaks(int device_id, int timeout_ms, std::string* error) {
  wire::QueryLeaks query{device_id, 0};
  return request(wire::MessageType::kQueryLeaks, &query, sizeof(query), wire::MessageType::kLeaksJson,
                 timeout_ms, error);
}

bool QueryClient::sync_sources(int timeout_ms, std::string* error) {
  const wire::Flush token{++sync_token_};
  return request(wire::MessageType::kSyncSources, &token, sizeof(token), wire::MessageType::kFlushAck,
                 timeout_ms, error)
      .has_value();
}

std::optional<std::string> QueryClient::request(wire::MessageType type, const void* payload, size_t size,
                                                wire::MessageType reply, int timeout_ms, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<std::string> {
    if (error) *error = std::move(why);
    close();
    return std::nullopt;
  };
  if (fd_ < 0) return fail("not connected to the allocation server");
  std::string frame;
  wire::append_frame(frame, type, payload, size);
  if (!write_all(fd_, frame.data(), frame.size())) return fail("the allocation server closed the connection");

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    wire::Frame decoded;
    wire::ErrorCode code;
    const auto status = decoder_.next(decoded, code);
    if (status == wire::DecodeStatus::kError)
      return fail("malformed reply from the server: " + std::string(wire::error_code_name(code)));
    if (status == wire::DecodeStatus::kFrame) {
      if (decoded.type == reply) return std::string(decoded.payload);
      if (decoded.type == wire::MessageType::kError)
        return fail("the server refused the query: " +
                    std::string(decoded.payload.substr(sizeof(wire::ErrorHeader))));
      continue;  // not ours (cannot happen today): skip
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return fail("the allocation server did not answer within " + std::to_string(timeout_ms) + " ms");
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char* space = decoder_.prepare(256 * 1024);
    const ssize_t n = ::recv(fd_, space, 256 * 1024, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("the allocation server closed the connection");
    decoder_.commit(static_cast<size_t>(n));
  }
}

}  // namespace allocmon
