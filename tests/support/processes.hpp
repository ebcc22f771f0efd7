// Real processes for end-to-end tests: an allocation_server on a temporary socket and tracked client
// processes. Synchronisation is by reading their output (the server's "listening" line, the client's "ok"
// replies) and by the client's flush barrier; never by sleeping.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace allocmon::test {

// A child process with its stdin and stdout connected to pipes.
class Child {
 public:
  Child() = default;
  // run_as: a uid (and its gid) to switch to before exec, when started as root; merge_stderr: stderr goes to
  // the same pipe as stdout.
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, int run_as = -1,
        bool merge_stderr = false);
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  ~Child();

  // Reads one line of the child's stdout (without the newline); false on EOF or after timeout_ms.
  bool read_line(std::string& line, int timeout_ms = 10000);
  // Reads lines until one contains `needle`; all lines read are appended to `seen` if given.
  bool wait_for(const std::string& needle, int timeout_ms = 10000, std::string* seen = nullptr);
  void write_line(const std::string& line);
  void kill(int signal);
  // Waits for exit; returns the exit status, 128+signal if killed, -1 on timeout.
  int wait(int timeout_ms = 10000);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
};

std::string build_dir();
std::string temp_socket_path(const std::string& tag);

class Server {
 public:
  // `wrapper`: a command that runs the server, e.g. {"prlimit", "--as=536870912", "--"} (it must exec it).
  explicit Server(std::string socket_path, std::vector<std::string> extra_args = {},
                  std::vector<std::string> wrapper = {});
  Child& process() { return child_; }
  const std::string& socket() const { return socket_; }
  // What it printed up to its "listening" line (the metrics URL, problems found at start).
  const std::string& startup_log() const { return startup_log_; }

 private:
  std::string socket_;
  std::string startup_log_;
  Child child_;
};

// A tracked process (tests/support/test_client.cpp) reporting to `socket_path`.
class Client {
 public:
  explicit Client(const std::string& socket_path, int run_as = -1, bool merge_stderr = false,
                  std::vector<std::string> extra_env = {});
  // Sends a command and returns the reply line ("ok ..." or "error ...").
  std::string command(const std::string& line);
  int flush(int timeout_ms = 5000);
  Child& process() { return child_; }

 private:
  Child child_;
};

// One snapshot (or leak report) from the server through the query API; throws on failure.
nlohmann::json query_snapshot(const std::string& socket_path);
nlohmann::json query_leaks(const std::string& socket_path, int device_id = -1);
// The server has read its polled sources after this call (QueryClient::sync_sources); throws on failure.
void sync_sources(const std::string& socket_path);

}  // namespace allocmon::test
