#include "server.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "common/unix_socket.hpp"

namespace allocmon::server {

namespace {

// Bytes a query client may leave unread before the server drops it (a stalled monitor must not grow the
// server).
constexpr size_t kMaxOutgoingBytes = 64u << 20;
constexpr uint64_t kListenTag = UINT64_MAX;
constexpr uint64_t kSignalTag = UINT64_MAX - 1;
constexpr uint64_t kTimerTag = UINT64_MAX - 2;

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string process_name(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.empty() ? "pid-" + std::to_string(pid) : name;
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)), log_(stdout, options_.quiet) {}

Server::~Server() {
  for (auto& [fd, connection] : connections_) ::close(fd);
  for (int fd : {listen_fd_, epoll_fd_, signal_fd_, timer_fd_})
    if (fd >= 0) ::close(fd);
}

bool Server::start() {
  const std::string& path = options_.socket_path;
  // A live server already on the path is an error; a stale socket file left by a crash is replaced.
  if (int probe = connect_unix(path, false); probe >= 0) {
    ::close(probe);
    std::fprintf(
        stderr,
        "allocation_server: another server is already listening on %s; stop it first or use --socket\n",
        path.c_str());
    return false;
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      std::fprintf(stderr, "allocation_server: %s exists and is not a socket; refusing to replace it\n",
                   path.c_str());
      return false;
    }
    ::unlink(path.c_str());
  }

  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    std::fprintf(stderr, "allocation_server: socket path too long: %s\n", path.c_str());
    return false;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::chmod(path.c_str(), options_.socket_mode) != 0 || ::listen(listen_fd_, 128) != 0) {
    std::fprintf(stderr, "allocation_server: cannot listen on %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }

  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  ev.data.u64 = kSignalTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev);

  if (options_.stats_interval_s > 0) {
    timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    itimerspec spec{};
    spec.it_interval.tv_sec = spec.it_value.tv_sec = options_.stats_interval_s;
    ::timerfd_settime(timer_fd_, 0, &spec, nullptr);
    ev.data.u64 = kTimerTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev);
  }

  started_unix_ms_ = unix_ms();
  log_.notice("allocation_server listening on " + path + " (pid " + std::to_string(::getpid()) +
              ", protocol v" + std::to_string(wire::kProtocolVersion) + ")");
  return true;
}

int Server::run() {
  epoll_event events[64];
  while (running_) {
    const int n = ::epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        accept_clients();
      } else if (tag == kSignalTag) {
        handle_signals();
      } else if (tag == kTimerTag) {
        uint64_t expirations;
        [[maybe_unused]] auto r = ::read(timer_fd_, &expirations, sizeof(expirations));
        log_.statistics(accounting_);
      } else {
        auto it = connections_.find(static_cast<int>(tag));
        if (it == connections_.end()) continue;
        Connection& connection = *it->second;
        if (events[i].events & EPOLLOUT) flush_outgoing(connection);
        if (connections_.count(static_cast<int>(tag)) && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
          read_client(connection);
      }
    }
  }
  log_.statistics(accounting_);
  ::unlink(options_.socket_path.c_str());
  log_.notice("allocation_server stopped");
  return 0;
}

void Server::handle_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    if (info.ssi_signo == SIGUSR1) {
      log_.statistics(accounting_);
    } else {
      log_.notice(std::string("allocation_server: received ") + strsignal(static_cast<int>(info.ssi_signo)) +
                  ", shutting down");
      running_ = false;
    }
  }
}

void Server::accept_clients() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    connection->id = next_client_id_++;
    ucred credentials{};
    socklen_t length = sizeof(credentials);
    // Identity comes from the kernel, never from what the client writes.
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
      connection->pid = credentials.pid;
      connection->uid = credentials.uid;
    }
    connection->name = process_name(connection->pid);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(fd);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    connections_.emplace(fd, std::move(connection));
  }
}

void Server::read_client(Connection& connection) {
  for (;;) {
    char* space = connection.decoder.prepare(64 * 1024);
    const ssize_t n = ::recv(connection.fd, space, 64 * 1024, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close_client(connection, "exited");
      return;
    }
    connection.decoder.commit(static_cast<size_t>(n));
    wire::Frame frame;
    wire::ErrorCode error;
    for (;;) {
      const auto status = connection.decoder.next(frame, error);
      if (status == wire::DecodeStatus::kNeedMore) break;
      if (status == wire::DecodeStatus::kError) {
        reject(connection, error, "");
        return;
      }
      if (!dispatch(connection, frame)) return;
    }
  }
}

void Server::ensure_producer(Connection& connection) {
  if (connection.producer) return;
  connection.producer = true;
  accounting_.add_client(connection.id, connection.pid, connection.uid, connection.name);
}

bool Server::dispatch(Connection& connection, const wire::Frame& frame) {
  switch (frame.type) {
    case wire::MessageType::kHello:
      ensure_producer(connection);
      return true;
    case wire::MessageType::kRegisterDevice: {
      ensure_producer(connection);
      wire::RegisterDevice registration;
      std::memcpy(&registration, frame.payload.data(), sizeof(registration));
      accounting_.register_device(connection.id, registration);
      log_.registered(connection.pid, connection.name, registration);
      return true;
    }
    case wire::MessageType::kUnregisterDevice: {
      ensure_producer(connection);
      wire::UnregisterDevice message;
      std::memcpy(&message, frame.payload.data(), sizeof(message));
      log_.unregistered(connection.pid, message.device_id,
                        accounting_.unregister_device(connection.id, message.device_id));
      return true;
    }
    case wire::MessageType::kEventBatch:
      ensure_producer(connection);
      apply_batch(connection, frame.payload);
      return true;
    case wire::MessageType::kReset:
      ensure_producer(connection);
      log_.reclaimed(connection.pid, connection.name, "resynchronised after a stall",
                     accounting_.reset_client(connection.id));
      return true;
    case wire::MessageType::kFlush:
      // Frames of one connection are applied in order, so everything before the barrier is applied by now.
      return send_frame(connection, wire::MessageType::kFlushAck, frame.payload);
    case wire::MessageType::kQuerySnapshot: {
      ServerInfo server_info = info();
      return send_frame(connection, wire::MessageType::kSnapshotJson,
                        snapshot_json(accounting_, server_info, unix_ms()));
    }
    case wire::MessageType::kQueryLeaks: {
      wire::QueryLeaks query;
      std::memcpy(&query, frame.payload.data(), sizeof(query));
      return send_frame(connection, wire::MessageType::kLeaksJson,
                        leaks_json(accounting_, query.device_id, unix_ms()));
    }
    case wire::MessageType::kFlushAck:
    case wire::MessageType::kSnapshotJson:
    case wire::MessageType::kLeaksJson:
    case wire::MessageType::kError:
      break;
  }
  reject(connection, wire::ErrorCode::kUnknownMessage, " (a server reply sent by a client)");
  return false;
}

void Server::apply_batch(Connection& connection, std::string_view payload) {
  ProcessRecord* process = accounting_.find(connection.id);
  const int64_t now = unix_ms();
  const size_t count = payload.size() / sizeof(wire::Event);
  for (size_t i = 0; i < count; ++i) {
    wire::Event event;
    std::memcpy(&event, payload.data() + i * sizeof(wire::Event), sizeof(event));
    const ApplyResult result = accounting_.apply(*process, event, now);
    if (result.problem != EventProblem::kNone) {
      const auto bit = static_cast<size_t>(result.problem);
      if (!connection.logged_problems.test(bit)) {
        connection.logged_problems.set(bit);
        log_.problem(connection.pid, result.problem, event);
      }
    } else if (event.kind == static_cast<uint8_t>(wire::EventKind::kAlloc)) {
      log_.allocated(connection.pid, event);
    } else if (event.kind == static_cast<uint8_t>(wire::EventKind::kFree)) {
      log_.freed(connection.pid, event, result.size);
    }
  }
}

bool Server::send_frame(Connection& connection, wire::MessageType type, std::string_view payload) {
  wire::append_frame(connection.outgoing, type, payload.data(), payload.size());
  return flush_outgoing(connection);
}

bool Server::flush_outgoing(Connection& connection) {
  while (connection.outgoing_sent < connection.outgoing.size()) {
    const ssize_t n =
        ::send(connection.fd, connection.outgoing.data() + connection.outgoing_sent,
               connection.outgoing.size() - connection.outgoing_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      connection.outgoing_sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    close_client(connection, "disconnected");
    return false;
  }
  epoll_event ev{};
  ev.data.u64 = static_cast<uint64_t>(connection.fd);
  if (connection.outgoing_sent == connection.outgoing.size()) {
    connection.outgoing.clear();
    connection.outgoing_sent = 0;
    ev.events = EPOLLIN;
  } else if (connection.outgoing.size() - connection.outgoing_sent > kMaxOutgoingBytes) {
    close_client(connection, "stopped reading replies");
    return false;
  } else {
    ev.events = EPOLLIN | EPOLLOUT;
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.fd, &ev);
  return true;
}

void Server::reject(Connection& connection, wire::ErrorCode code, std::string_view detail) {
  ++accounting_.counters().frames_invalid;
  std::string message = std::string(wire::error_code_name(code)) + std::string(detail);
  log_.protocol_error(connection.pid, message);
  // Best effort: tell the client why before closing (it may not be reading).
  std::string frame;
  wire::ErrorHeader header{static_cast<uint32_t>(code)};
  std::string payload(reinterpret_cast<const char*>(&header), sizeof(header));
  payload += message;
  wire::append_frame(frame, wire::MessageType::kError, payload.data(), payload.size());
  [[maybe_unused]] auto n = ::send(connection.fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  close_client(connection, "closed after a protocol error");
}

void Server::close_client(Connection& connection, std::string_view why) {
  const int fd = connection.fd;
  if (connection.producer)
    log_.reclaimed(connection.pid, connection.name, why, accounting_.remove_client(connection.id));
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  connections_.erase(fd);  // destroys `connection`
}

ServerInfo Server::info() const {
  return ServerInfo{options_.socket_path, ::getpid(), started_unix_ms_, connections_.size()};
}

}  // namespace allocmon::server
