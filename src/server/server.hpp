// allocation_server's event loop: one thread, epoll over the listening socket, every client connection, a
// signalfd (SIGINT/SIGTERM/SIGUSR1) and a statistics timer. Single-threaded so accounting needs no locks.
#pragma once

#include <sys/types.h>

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "accounting.hpp"
#include "event_log.hpp"
#include "protocol/frame_decoder.hpp"
#include "snapshot_json.hpp"

namespace allocmon::server {

struct ServerOptions {
  std::string socket_path;
  bool quiet = false;
  int stats_interval_s = 10;  // 0: only on SIGUSR1 and at shutdown
  unsigned socket_mode = 0660;
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
    int fd = -1;
    ClientId id = 0;
    pid_t pid = 0;
    uid_t uid = 0;
    std::string name;
    bool producer = false;  // became a process record (sent Hello, a registration or events)
    wire::FrameDecoder decoder;
    std::string outgoing;
    size_t outgoing_sent = 0;
    std::bitset<static_cast<size_t>(EventProblem::kCount)> logged_problems;
  };

  void accept_clients();
  void read_client(Connection& connection);
  // False when the connection must be closed.
  bool dispatch(Connection& connection, const wire::Frame& frame);
  void apply_batch(Connection& connection, std::string_view payload);
  void ensure_producer(Connection& connection);
  // Both return false when the connection was closed (and destroyed) meanwhile.
  bool send_frame(Connection& connection, wire::MessageType type, std::string_view payload);
  bool flush_outgoing(Connection& connection);
  void close_client(Connection& connection, std::string_view why);
  void reject(Connection& connection, wire::ErrorCode code, std::string_view detail);
  void handle_signals();
  ServerInfo info() const;

  ServerOptions options_;
  Accounting accounting_;
  EventLog log_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  bool running_ = true;
  int64_t started_unix_ms_ = 0;
  ClientId next_client_id_ = 1;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
};

}  // namespace allocmon::server
