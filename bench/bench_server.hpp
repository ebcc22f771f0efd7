// A real allocation_server for the benchmarks: started on a temporary socket, ready when its "listening" line
// arrives, queried through the same API the monitor uses.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "query/query_client.hpp"

namespace allocmon::bench {

// Asks a child to stop (SIGTERM), and kills it if it has not exited within `grace_ms` (a server busy with a
// long request reads its signals only afterwards).
inline void stop_child(pid_t pid, int grace_ms = 5000) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int waited = 0; waited < grace_ms; waited += 10) {
    if (::waitpid(pid, nullptr, WNOHANG) != 0) return;
    timespec tick{0, 10'000'000};
    ::nanosleep(&tick, nullptr);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

class BenchServer {
 public:
  // `extra`: more arguments, e.g. {"--record", path}. Polled sources are off unless `extra` names them.
  BenchServer(const std::string& binary, const std::string& socket, std::vector<std::string> extra = {})
      : socket_(socket) {
    std::vector<std::string> args = {binary, "--socket", socket, "--quiet", "--stats-interval", "0"};
    if (std::find(extra.begin(), extra.end(), "--tt-shm-dir") == extra.end())
      args.push_back("--clients-only");
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* stream = ::fdopen(out[0], "r");
    char line[512];
    bool ready = false;
    while (!ready && std::fgets(line, sizeof(line), stream))
      ready = std::strstr(line, "listening on") != nullptr;
    if (!ready) {
      stop_child(pid_);
      std::fclose(stream);
      throw std::runtime_error("allocation_server did not start (" + binary + ")");
    }
    stdout_ = stream;  // kept open: the server's final statistics go here, unread
  }
  ~BenchServer() {
    stop_child(pid_);
    if (stdout_) std::fclose(stdout_);
  }
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return pid_; }

  nlohmann::json snapshot() const {
    QueryClient client;
    std::string error;
    if (!client.connect(socket_, &error)) throw std::runtime_error(error);
    auto text = client.snapshot(60000, &error);
    if (!text) throw std::runtime_error(error);
    return nlohmann::json::parse(*text);
  }
  uint64_t events_applied() const { return snapshot()["counters"]["events_applied"].get<uint64_t>(); }
  // Resident set of the server process, from /proc.
  uint64_t rss_bytes() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    while (status >> key) {
      if (key == "VmRSS:") {
        uint64_t kb;
        status >> kb;
        return kb * 1024;
      }
      std::getline(status, key);
    }
    return 0;
  }

 private:
  std::string socket_;
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
};

}  // namespace allocmon::bench
