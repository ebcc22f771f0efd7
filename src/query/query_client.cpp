#include "query_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "common/unix_socket.hpp"

namespace allocmon {

namespace {
int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

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
  decoder_ = wire::FrameDecoder(wire::Direction::kFromServer);
}

bool QueryClient::connect(const std::string& socket_path, std::string* error) {
  close();
  fd_ = connect_unix(socket_path, /*nonblocking=*/false);
  if (fd_ < 0 && error) {
    if (errno == ENAMETOOLONG) {
      *error = "the socket path " + socket_path.substr(0, 40) + "... is " +
               std::to_string(socket_path.size()) + " bytes long; a Unix socket path holds at most " +
               std::to_string(kMaxSocketPath - 1);
      return false;
    }
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
  auto report = leak_report(device_id, timeout_ms, error);
  if (!report) return std::nullopt;
  using nlohmann::json;
  json processes = json::array();
  for (const auto& p : report->processes) {
    json buffers = json::array();
    for (size_t i = 0; i < p.buffers.size(); ++i) {
      const auto& b = p.buffers[i];
      json entry = {{"device", b.device_id},
                    {"type", std::string(wire::memory_type_name(b.memory_type))},
                    {"size", b.size},
                    {"address", b.address},
                    {"buffer_id", b.buffer_id},
                    {"age_ms", b.age_ms},
                    {"page_size", b.page_size},
                    {"layout", b.layout == 2   ? "sharded"
                               : b.layout == 1 ? "interleaved"
                                               : "unknown"},
                    {"shard_count", b.shard_count}};
      if (i < p.origins.size() && p.origins[i].seq) {  // what the bytes are (docs/attribution.md)
        const auto context = report->contexts.find(p.origins[i].context);
        const LeakReport::Context none;
        const auto& named = context == report->contexts.end() ? none : context->second;
        entry["scope"] = named.scope;
        entry["op"] = named.op;
        entry["site"] = named.site;
        entry["tensor"] = named.tensor;
        entry["seq"] = p.origins[i].seq;
      }
      buffers.push_back(std::move(entry));
    }
    processes.push_back(
        {{"pid", p.pid}, {"name", p.name}, {"count", p.buffers.size()}, {"buffers", std::move(buffers)}});
  }
  return json{{"schema", "allocmon.leaks/1"},
              {"time_unix_ms", report->time_unix_ms},
              {"device", device_id},
              {"processes", std::move(processes)}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

bool QueryClient::sync_sources(int timeout_ms, std::string* error) {
  const wire::Flush token{++sync_token_};
  return request(wire::MessageType::kSyncSources, &token, sizeof(token), wire::MessageType::kFlushAck,
                 timeout_ms, error)
      .has_value();
}

std::optional<std::string> QueryClient::largest_buffers(int device_id, uint32_t largest, int timeout_ms,
                                                        std::string* error) {
  wire::QueryLeaks query{device_id, largest};
  return request(wire::MessageType::kQueryLeaks, &query, sizeof(query), wire::MessageType::kLeaksJson,
                 timeout_ms, error);
}

std::optional<LeakReport> QueryClient::leak_report(int device_id, int timeout_ms, std::string* error) {
  const wire::QueryLeaks query{device_id, 0};
  if (!send_request(wire::MessageType::kQueryLeakStream, &query, sizeof(query), error)) return std::nullopt;
  const int64_t deadline = steady_ms() + timeout_ms;
  LeakReport report;
  report.device_id = device_id;
  std::map<int32_t, size_t> by_pid;            // a process's chunks may come in several frames
  size_t last_process = 0, last_chunk_at = 0;  // where the last chunk's records went (LeakOrigins follow it)
  for (;;) {
    wire::Frame frame;
    if (!next_frame(frame, deadline, timeout_ms, error)) return std::nullopt;
    if (frame.type == wire::MessageType::kLeakEnd) {
      wire::LeakEnd end;
      std::memcpy(&end, frame.payload.data(), sizeof(end));
      report.time_unix_ms = static_cast<int64_t>(end.time_unix_ms);
      return report;
    }
    if (frame.type == wire::MessageType::kLeakContext) {
      if (const auto named = wire::parse_context(frame.payload, frame.version))
        report.contexts[named->id] = {std::string(named->scope), std::string(named->op),
                                      std::string(named->site), std::string(named->tensor)};
      continue;
    }
    if (frame.type == wire::MessageType::kLeakOrigins) {
      if (last_process >= report.processes.size()) continue;
      auto& process = report.processes[last_process];
      const size_t count = frame.payload.size() / sizeof(wire::LeakOrigin);
      if (last_chunk_at + count > process.buffers.size()) continue;
      process.origins.resize(last_chunk_at + count, wire::LeakOrigin{0, 0, 0});
      std::memcpy(process.origins.data() + last_chunk_at, frame.payload.data(),
                  count * sizeof(wire::LeakOrigin));
      continue;
    }
    if (frame.type != wire::MessageType::kLeakChunk) continue;
    wire::LeakChunkHeader header;
    std::memcpy(&header, frame.payload.data(), sizeof(header));
    const size_t count = (frame.payload.size() - sizeof(header)) / sizeof(wire::LeakBuffer);
    auto [it, added] = by_pid.try_emplace(header.pid, report.processes.size());
    if (added)
      report.processes.push_back(
          {header.pid, std::string(wire::fixed_string(header.name, sizeof(header.name))), {}});
    auto& buffers = report.processes[it->second].buffers;
    if (header.flags & wire::kRestartProcess) {
      buffers.clear();
      report.processes[it->second].origins.clear();
    }
    const size_t at = buffers.size();
    last_process = it->second;
    last_chunk_at = at;
    buffers.resize(at + count);
    std::memcpy(buffers.data() + at, frame.payload.data() + sizeof(header), count * sizeof(wire::LeakBuffer));
  }
}

bool QueryClient::send_request(wire::MessageType type, const void* payload, size_t size, std::string* error) {
  if (fd_ < 0) {
    if (error) *error = "not connected to the allocation server";
    return false;
  }
  std::string frame;
  wire::append_frame(frame, type, payload, size);
  if (!write_all(fd_, frame.data(), frame.size())) {
    if (error) *error = "the allocation server closed the connection";
    close();
    return false;
  }
  return true;
}

bool QueryClient::next_frame(wire::Frame& frame, int64_t deadline_ms, int timeout_ms, std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    close();
    return false;
  };
  for (;;) {
    wire::ErrorCode code;
    const auto status = decoder_.next(frame, code);
    if (status == wire::DecodeStatus::kError)
      return fail("malformed reply from the server: " + std::string(wire::error_code_name(code)));
    if (status == wire::DecodeStatus::kFrame) {
      if (frame.type == wire::MessageType::kError)
        return fail("the server refused the query: " +
                    std::string(frame.payload.substr(sizeof(wire::ErrorHeader))));
      return true;
    }
    const int64_t left = deadline_ms - steady_ms();
    if (left <= 0)
      return fail("the allocation server did not answer within " + std::to_string(timeout_ms) + " ms");
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    char* space = decoder_.prepare(256 * 1024);
    const ssize_t n = ::recv(fd_, space, 256 * 1024, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("the allocation server closed the connection");
    decoder_.commit(static_cast<size_t>(n));
  }
}

std::optional<std::string> QueryClient::request(wire::MessageType type, const void* payload, size_t size,
                                                wire::MessageType reply, int timeout_ms, std::string* error) {
  if (!send_request(type, payload, size, error)) return std::nullopt;
  const int64_t deadline = steady_ms() + timeout_ms;
  for (;;) {
    wire::Frame frame;
    if (!next_frame(frame, deadline, timeout_ms, error)) return std::nullopt;
    if (frame.type == reply) return std::string(frame.payload);
  }
}

}  // namespace allocmon
