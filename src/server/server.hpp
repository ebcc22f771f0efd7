// allocation_server's event loop: one thread, epoll over the listening socket, every client connection, a
// signalfd (SIGINT/SIGTERM/SIGUSR1) and a statistics timer. Single-threaded so accounting needs no locks. The
// protocol itself lives in Session; this file does sockets, signals and timers.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "accounting.hpp"
#include "event_log.hpp"
#include "log_writer.hpp"
#include "metrics_endpoint.hpp"
#include "session.hpp"
#include "source_poller.hpp"

namespace allocmon::server {

struct ServerOptions {
  std::string socket_path;
  bool quiet = false;
  int stats_interval_s = 10;  // 0: only on SIGUSR1 and at shutdown
  unsigned socket_mode = 0660;
  std::string socket_group;  // empty: the server's own group
  SessionLimits limits;
  std::string metrics_address;     // empty: no Prometheus endpoint
  bool metrics_processes = false;  // per-process series on /metrics (default: totals only)
  std::string metrics_host_label;  // the `host` label on /metrics; empty: this machine's hostname
  std::string record_path;         // empty: no recording

  // Polled sources (docs/sources.md). The roots are the machine's; tests point them at fixture folders.
  bool tt_shm = true;
  std::string tt_shm_dir = "/dev/shm";
  std::string tt_architecture = "auto";  // of the chips behind the regions: auto (from sysfs), a name, none
  bool device_holders = true;
  bool drm_fdinfo = true;
  int poll_interval_ms = 250;
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  std::string dev_root = "/dev";
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  // Binds the socket; false (with a message on stderr) if another server is live on the path or bind fails.
  bool start();
  // Runs until SIGINT/SIGTERM; returns the exit status.
  int run();

 private:
  struct Connection {
    Connection(ServerContext& context, ClientId id, PeerIdentity peer)
        : session(context, id, std::move(peer)) {}
    int fd = -1;
    Session session;
    std::string outgoing;
    size_t outgoing_sent = 0;
    uint32_t interest = 0;  // epoll events asked for now
    bool backlog = false;   // frames it sent are still waiting (budget or output full): not read meanwhile
    bool queued = false;    // in ready_
  };

  bool start_loop();  // everything after the listening socket exists
  void accept_clients();
  void pause_accepting(int error);
  void resume_accepting();
  void read_client(Connection& connection);
  // Handles what the connection sent, within its budget; false when it was closed (and destroyed).
  bool serve(Connection& connection);
  // False when the connection was closed (and destroyed) meanwhile.
  bool flush_outgoing(Connection& connection);
  void close_client(Connection& connection, std::string_view why);
  void handle_signals();
  void apply_source_reports();
  void record_polled();
  std::vector<std::unique_ptr<Source>> make_sources();
  ServerInfo info() const;

  ServerOptions options_;
  Accounting accounting_;
  LogWriter log_writer_{STDOUT_FILENO};  // before log_, which writes through it
  EventLog log_;
  ServerContext context_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  int accept_timer_fd_ = -1;
  bool accept_paused_logged_ = false;
  bool socket_activated_ = false;
  static constexpr long kAcceptPauseMs = 100;
  std::vector<int> ready_;  // connections with frames left to serve, served again before waiting
  bool running_ = true;
  int64_t started_unix_ms_ = 0;
  ClientId next_client_id_ = 1;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::unique_ptr<MetricsEndpoint> metrics_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<SourcePoller> sources_;
  std::map<std::string, std::vector<SourceProblem>> source_problems_;  // reported already, while they last
  struct RecordedPolledDevice {
    bool described = false;
    std::string architecture;
    std::array<uint64_t, wire::kNumMemoryTypes> capacity{};
    std::optional<uint64_t> asic_id;
    std::optional<int32_t> logical_id;
    TypeBytes bytes{};
  };
  std::map<int32_t, RecordedPolledDevice> recorded_polled_;  // what the recording holds already
};

}  // namespace allocmon::server
