#include "server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "common/tt_architecture.hpp"
#include "common/unix_socket.hpp"
#include "metrics.hpp"
#include "sources/device_holders_source.hpp"
#include "sources/drm_fdinfo_source.hpp"
#include "sources/tt_shm_source.hpp"

namespace allocmon::server {

namespace {

// Bytes a query client may leave unread before the server drops it (a stalled monitor must not grow the
// server).
constexpr size_t kMaxOutgoingBytes = 64u << 20;
constexpr uint64_t kListenTag = UINT64_MAX;
constexpr uint64_t kSignalTag = UINT64_MAX - 1;
constexpr uint64_t kTimerTag = UINT64_MAX - 2;
constexpr uint64_t kMetricsTag = UINT64_MAX - 3;
constexpr uint64_t kSourcesTag = UINT64_MAX - 4;
constexpr uint64_t kAcceptTimerTag = UINT64_MAX - 5;

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A socket in a directory anyone may write to, without the sticky bit, can be replaced by anyone: refuse it.
bool directory_is_safe(const std::string& socket_path) {
  const auto slash = socket_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : socket_path.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    std::fprintf(stderr, "allocation_server: socket directory %s: %s\n", dir.c_str(), std::strerror(errno));
    return false;
  }
  if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
    std::fprintf(
        stderr,
        "allocation_server: refusing to serve in %s: it is world-writable without the sticky bit, so any "
        "user could replace the socket. Use a directory like /tmp (sticky) or /run/allocmon.\n",
        dir.c_str());
    return false;
  }
  return true;
}

// The chips' architecture when every Tenstorrent card in sysfs is of one kind (PCI device ids: Wormhole
// 0x401e, Blackhole 0xb140); "" when there are none, or several kinds.
std::string architecture_from_sysfs(const std::string& sys_root) {
  std::string found;
  const std::string base = sys_root + "/class/tenstorrent";
  for (int n = 0; n < 64; ++n) {
    const auto id = read_small_file(base + "/tenstorrent!" + std::to_string(n) + "/device/device", 64);
    if (!id) continue;
    const unsigned long pci = std::strtoul(id->c_str(), nullptr, 16);
    const std::string arch = pci == 0x401e ? "wormhole_b0" : pci == 0xb140 ? "blackhole" : "";
    if (arch.empty() || (!found.empty() && found != arch)) return "";
    found = arch;
  }
  return found;
}

}  // namespace

std::vector<std::unique_ptr<Source>> Server::make_sources() {
  std::vector<std::unique_ptr<Source>> sources;
  if (options_.tt_shm) {
    TtShmOptions shm;
    shm.directory = options_.tt_shm_dir;
    shm.proc_root = options_.proc_root;
    shm.interval_ms = options_.poll_interval_ms;
    shm.architecture = options_.tt_architecture == "auto"   ? architecture_from_sysfs(options_.sys_root)
                       : options_.tt_architecture == "none" ? ""
                                                            : options_.tt_architecture;
    if (const Architecture* arch = find_architecture(shm.architecture)) {
      shm.architecture = arch->name;
      shm.capacity[ALLOCMON_DRAM] = arch->dram_capacity();
      shm.capacity[ALLOCMON_L1] = arch->l1_capacity();
    }
    sources.push_back(std::make_unique<TtShmSource>(shm));
  }
  if (options_.device_holders) {
    DeviceHoldersOptions holders;
    holders.proc_root = options_.proc_root;
    holders.device_dir = options_.dev_root + "/tenstorrent";
    holders.interval_ms = options_.poll_interval_ms;
    holders.scan_interval_ms = std::max(2000, options_.poll_interval_ms);
    sources.push_back(std::make_unique<DeviceHoldersSource>(holders));
  }
  if (options_.drm_fdinfo) {
    DrmFdinfoOptions drm;
    drm.proc_root = options_.proc_root;
    drm.sys_root = options_.sys_root;
    drm.dri_dir = options_.dev_root + "/dri";
    drm.interval_ms = std::max(1000, options_.poll_interval_ms);
    sources.push_back(std::make_unique<DrmFdinfoSource>(drm));
  }
  return sources;
}

namespace {

std::string process_name(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.empty() ? "pid-" + std::to_string(pid) : name;
}

std::string process_cmdline(pid_t pid) {
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/cmdline", ProcReader::kMaxCmdline);
  if (!text) return {};
  while (!text->empty() && text->back() == '\0') text->pop_back();
  for (char& c : *text)
    if (c == '\0' || c == '\n') c = ' ';
  return *text;
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      log_(log_writer_.file(), options_.quiet),
      context_{accounting_, log_, options_.limits, [this] { return info(); }, unix_ms} {}

Server::~Server() {
  for (auto& [fd, connection] : connections_) ::close(fd);
  for (int fd : {listen_fd_, epoll_fd_, signal_fd_, timer_fd_, accept_timer_fd_})
    if (fd >= 0) ::close(fd);
}

// systemd socket activation (allocation_server.socket): the listening socket arrives as descriptor 3 with
// LISTEN_PID set to our pid. Returns it, or -1 when not activated (or -2 when what was passed is unusable).
int socket_from_systemd(std::string* path) {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (!pid || !fds || std::atoi(pid) != ::getpid()) return -1;
  ::unsetenv("LISTEN_PID");  // not for our children
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  constexpr int kFirst = 3;
  int type = 0, listening = 0;
  socklen_t length = sizeof(type);
  sockaddr_un address{};
  socklen_t address_length = sizeof(address);
  if (std::atoi(fds) < 1 || ::getsockopt(kFirst, SOL_SOCKET, SO_TYPE, &type, &length) != 0 ||
      type != SOCK_STREAM || ::getsockopt(kFirst, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 ||
      !listening || ::getsockname(kFirst, reinterpret_cast<sockaddr*>(&address), &address_length) != 0 ||
      address.sun_family != AF_UNIX) {
    std::fprintf(stderr,
                 "allocation_server: systemd passed no listening Unix stream socket (LISTEN_FDS=%s)\n", fds);
    return -2;
  }
  *path = address.sun_path;
  ::fcntl(kFirst, F_SETFL, ::fcntl(kFirst, F_GETFL) | O_NONBLOCK);
  ::fcntl(kFirst, F_SETFD, FD_CLOEXEC);
  return kFirst;
}

bool Server::start() {
  if (const int fd = socket_from_systemd(&options_.socket_path); fd != -1) {
    if (fd < 0) return false;
    listen_fd_ = fd;
    socket_activated_ = true;
    return start_loop();
  }
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
  if (!directory_is_safe(path)) return false;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::chmod(path.c_str(), options_.socket_mode) != 0 || ::listen(listen_fd_, SOMAXCONN) != 0) {
    std::fprintf(stderr, "allocation_server: cannot listen on %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  if (!options_.socket_group.empty()) {
    const group* g = ::getgrnam(options_.socket_group.c_str());
    if (!g || ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      std::fprintf(stderr, "allocation_server: cannot give %s to group '%s': %s\n", path.c_str(),
                   options_.socket_group.c_str(), g ? std::strerror(errno) : "no such group");
      ::unlink(path.c_str());
      return false;
    }
  }
  return start_loop();
}

bool Server::start_loop() {
  const std::string& path = options_.socket_path;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);

  accept_timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  ev.data.u64 = kAcceptTimerTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, accept_timer_fd_, &ev);
  ev.data.u64 = kListenTag;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGXFSZ, SIG_IGN);  // a recording over the file-size limit fails with EFBIG instead of killing us
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

  if (!options_.record_path.empty()) {
    recorder_ = std::make_unique<Recorder>();
    if (!recorder_->open(options_.record_path, path)) {
      log_.notice("allocation_server: recording disabled; tracking continues without it");
      recorder_.reset();
    }
  }
  if (recorder_) {
    context_.recorder = recorder_.get();
    // Buffers released in bulk (exit, SIGKILL, reset) are recorded one by one: leaks are visible in the file.
    accounting_.on_bulk_release = [this](const ProcessRecord& p, const BufferKey& key,
                                         const BufferRecord& b) {
      recorder_->event({unix_ms(), p.client, p.pid, key.device_id, b.memory_type,
                        static_cast<uint8_t>(RecordKind::kReclaim), b.size, b.address, key.buffer_id});
    };
    log_.notice("allocation_server recording to " + options_.record_path);
  }
  if (!options_.metrics_address.empty()) {
    metrics_ = std::make_unique<MetricsEndpoint>();
    std::string why;
    const auto metrics_at = parse_host_port(options_.metrics_address, &why);
    if (!metrics_at) {
      std::fprintf(stderr, "allocation_server: --metrics-address %s\n", why.c_str());
      return false;
    }
    if (!metrics_->start(*metrics_at)) return false;
    ev.data.u64 = kMetricsTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, metrics_->wake_fd(), &ev);
    log_.notice("allocation_server metrics on http://" + metrics_->bound_address() + "/metrics");
  }

  sources_ = std::make_unique<SourcePoller>(make_sources());
  if (!sources_->empty()) {
    context_.request_source_round = [this] { return sources_->request_round(); };
    ev.data.u64 = kSourcesTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, sources_->wake_fd(), &ev);
    sources_->start();
  }

  started_unix_ms_ = unix_ms();
  log_.notice("allocation_server listening on " + path + (socket_activated_ ? " (from systemd)" : "") +
              " (pid " + std::to_string(::getpid()) + ", protocol v" +
              std::to_string(wire::kProtocolVersion) + ")");
  return true;
}

int Server::run() {
  epoll_event events[64];
  while (running_) {
    if (recorder_) recorder_->publish();  // what the last iteration recorded goes to the writer in one step
    // Connections with frames left over from their budget are served again without waiting for the socket.
    const int timeout = !ready_.empty() ? 0 : recorder_ ? 100 : -1;
    const int n = ::epoll_wait(epoll_fd_, events, 64, timeout);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        accept_clients();
      } else if (tag == kAcceptTimerTag) {
        resume_accepting();
      } else if (tag == kSignalTag) {
        handle_signals();
      } else if (tag == kSourcesTag) {
        apply_source_reports();
      } else if (tag == kMetricsTag) {
        metrics_->serve_pending([this] {
          MetricsOptions metrics;
          metrics.max_processes = options_.metrics_processes ? kDefaultMetricsProcessCap : 0;
          metrics.host =
              options_.metrics_host_label.empty() ? default_host_label() : options_.metrics_host_label;
          return prometheus_text(accounting_, info(), metrics);
        });
      } else if (tag == kTimerTag) {
        uint64_t expirations;
        [[maybe_unused]] auto r = ::read(timer_fd_, &expirations, sizeof(expirations));
        log_.statistics(accounting_, /*periodic=*/true);
      } else {
        auto it = connections_.find(static_cast<int>(tag));
        if (it == connections_.end()) continue;
        Connection& connection = *it->second;
        if ((events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && !flush_outgoing(connection)) continue;
        if (connection.backlog) {
          if (events[i].events & (EPOLLHUP | EPOLLERR)) serve(connection);  // finish what it sent
        } else if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          read_client(connection);
        }
      }
    }
    std::vector<int> ready;
    ready.swap(ready_);
    for (int fd : ready) {
      auto it = connections_.find(fd);
      if (it == connections_.end()) continue;
      it->second->queued = false;
      if (it->second->backlog) serve(*it->second);
    }
  }
  log_.statistics(accounting_);
  for (auto& [fd, connection] : connections_) connection->session.end("still connected at shutdown");
  if (recorder_) recorder_->flush();
  if (!socket_activated_) ::unlink(options_.socket_path.c_str());  // systemd's socket stays systemd's
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

void Server::apply_source_reports() {
  uint64_t completed = 0;
  for (auto& result : sources_->take(&completed)) {
    // Each problem is reported once while it lasts; it is reported again if it comes back after clearing.
    auto& known = source_problems_[result.source];
    for (const auto& problem : result.report.problems)
      if (std::find(known.begin(), known.end(), problem) == known.end())
        log_.notice("⚠ " + result.source + ": " + problem.path + ": " + problem.reason);
    known = result.report.problems;
    accounting_.set_polled(result.source, std::move(result.report), result.interval_ms);
  }
  if (recorder_) record_polled();
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection& connection = *(it++)->second;  // flush_outgoing may close (and erase) it
    if (!connection.session.awaits_sources()) continue;
    connection.session.complete_source_syncs(completed, connection.outgoing);
    if (!connection.outgoing.empty()) flush_outgoing(connection);
  }
}

void Server::record_polled() {
  const int64_t now = unix_ms();
  for (const auto& [id, device] : accounting_.devices()) {
    if (device.sources.empty()) continue;
    RecordedPolledDevice& last = recorded_polled_[id];
    if (!last.described || last.architecture != device.architecture || last.capacity != device.capacity ||
        last.asic_id != device.asic_id || last.logical_id != device.logical_id) {
      last.described = true;
      last.architecture = device.architecture;
      last.capacity = device.capacity;
      last.asic_id = device.asic_id;
      last.logical_id = device.logical_id;
      if (!device.reported_by_client)
        recorder_->device({now, 0, id, device.architecture, device.mesh_row, device.mesh_col, 0, 0,
                           std::vector<uint64_t>(device.capacity.begin(), device.capacity.end()),
                           device.asic_id, device.logical_id});
    }
    for (int t = 0; t < wire::kNumMemoryTypes; ++t)
      if (device.polled[t] != last.bytes[t]) {
        last.bytes[t] = device.polled[t];
        recorder_->sample({now, id, static_cast<uint8_t>(t), device.polled[t], device.sources.front()});
      }
  }
}

void Server::accept_clients() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors or memory: the listening socket stays readable, so polling it now would spin.
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) pause_accepting(errno);
      return;
    }
    if (accept_paused_logged_) {
      log_.notice("allocation_server: accepting connections again");
      accept_paused_logged_ = false;
    }
    PeerIdentity peer;
    ucred credentials{};
    socklen_t length = sizeof(credentials);
    // Identity comes from the kernel, never from what the client writes.
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
      peer.pid = credentials.pid;
      peer.uid = credentials.uid;
    }
    peer.name = process_name(peer.pid);
    peer.cmdline = process_cmdline(peer.pid);
    auto connection = std::make_unique<Connection>(context_, next_client_id_++, std::move(peer));
    connection->fd = fd;
    epoll_event ev{};
    ev.events = connection->interest = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(fd);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    connections_.emplace(fd, std::move(connection));
  }
}

void Server::pause_accepting(int error) {
  epoll_event ev{};
  ev.data.u64 = kListenTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);  // no events until the timer fires
  itimerspec spec{};
  spec.it_value.tv_nsec = kAcceptPauseMs * 1'000'000;
  ::timerfd_settime(accept_timer_fd_, 0, &spec, nullptr);
  if (!accept_paused_logged_) {
    accept_paused_logged_ = true;
    log_.notice(std::string("⚠ allocation_server: cannot accept connections: ") + std::strerror(error) +
                "; new clients wait in the backlog, retried every " + std::to_string(kAcceptPauseMs) + " ms");
  }
}

void Server::resume_accepting() {
  uint64_t expirations;
  [[maybe_unused]] auto r = ::read(accept_timer_fd_, &expirations, sizeof(expirations));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
  accept_clients();
}

void Server::read_client(Connection& connection) {
  // At most 16 reads (1 MiB) per turn: a client that never pauses cannot hold the loop.
  for (int reads = 0; reads < 16 && !connection.backlog; ++reads) {
    char* space;
    try {
      space = connection.session.prepare(64 * 1024);
    } catch (const std::bad_alloc&) {
      close_client(connection, "disconnected: the server ran out of memory reading from it");
      return;
    }
    const ssize_t n = ::recv(connection.fd, space, 64 * 1024, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close_client(connection, "exited");
      return;
    }
    connection.session.commit(static_cast<size_t>(n));
    if (!serve(connection)) return;
  }
}

bool Server::serve(Connection& connection) {
  Session::Progress progress;
  try {
    progress = connection.session.process(connection.outgoing);
  } catch (const std::bad_alloc&) {
    // Whatever a client asked for that the server could not hold closes that client, never the server.
    close_client(connection, "disconnected: the server ran out of memory answering it");
    return false;
  }
  if (progress == Session::Progress::kClose) {
    // Best effort: the Error frame explaining why, then close (the client may not be reading).
    [[maybe_unused]] auto sent =
        ::send(connection.fd, connection.outgoing.data() + connection.outgoing_sent,
               connection.outgoing.size() - connection.outgoing_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    close_client(connection, "disconnected after a protocol error or limit");
    return false;
  }
  connection.backlog = progress == Session::Progress::kMore;
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
  if (connection.outgoing_sent == connection.outgoing.size()) {
    connection.outgoing.clear();
  } else {
    connection.outgoing.erase(0, connection.outgoing_sent);  // what is left is what the session measures
  }
  connection.outgoing_sent = 0;
  if (connection.outgoing.size() > kMaxOutgoingBytes) {
    close_client(connection, "stopped reading replies");
    return false;
  }
  // Read more only when nothing it sent is still waiting; be told when the socket drains while replies wait.
  const uint32_t interest =
      (connection.backlog ? 0u : uint32_t{EPOLLIN}) | (connection.outgoing.empty() ? 0u : uint32_t{EPOLLOUT});
  if (interest != connection.interest) {
    epoll_event ev{};
    ev.events = connection.interest = interest;
    ev.data.u64 = static_cast<uint64_t>(connection.fd);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.fd, &ev);
  }
  if (connection.backlog && !connection.queued &&
      connection.outgoing.size() < options_.limits.output_high_water) {
    connection.queued = true;
    ready_.push_back(connection.fd);
  }
  return true;
}

void Server::close_client(Connection& connection, std::string_view why) {
  const int fd = connection.fd;
  connection.session.end(why);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  connections_.erase(fd);  // destroys `connection`
}

ServerInfo Server::info() const {
  return ServerInfo{options_.socket_path, ::getpid(), started_unix_ms_, connections_.size()};
}

}  // namespace allocmon::server
