// Who a pid is, read from a /proc tree (the machine's, or a fixture folder in tests): existence, real uid,
// name, command line and start time. Lookups are cached until clear(), so one polling round reads each
// process once however many regions name it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace allocmon::server {

struct ProcIdentity {
  bool exists = false;
  uid_t uid = 0;
  std::string name;                             // comm
  std::string cmdline;                          // arguments joined by spaces, at most kMaxCmdline bytes
  std::optional<uint64_t> start_unix_ns;        // when the process started (needs stat and the boot time)
  std::optional<uint64_t> start_since_boot_ns;  // the same, counted from boot (stat alone)
  std::vector<pid_t> nspids;                    // status NSpid: this pid, then in each nested namespace
};

class ProcReader {
 public:
  static constexpr size_t kMaxCmdline = 256;

  explicit ProcReader(std::string root = "/proc") : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  const ProcIdentity& lookup(pid_t pid);
  std::string user_name(uid_t uid);  // the uid as text when there is no such user
  // Processes in a nested pid namespace whose own pid there is `inner` (a container's pid 1), by the pid this
  // tree knows them by. The tree is walked at most once per `rescan` (every status file is read).
  const std::vector<pid_t>& namespaced(pid_t inner, std::chrono::milliseconds rescan);
  // Whether this tree is the initial pid namespace's, where every process of the machine is visible: only
  // there is kernel thread 2 (kthreadd, parent 0) listed.
  bool sees_every_process();
  // Forgets cached processes (not user names): call at the start of each polling round.
  void clear() {
    processes_.clear();
    every_process_.reset();
  }

 private:
  ProcIdentity read(pid_t pid);
  std::optional<uint64_t> boot_time_s();

  std::string root_;
  std::map<pid_t, ProcIdentity> processes_;
  std::map<uid_t, std::string> users_;
  std::optional<uint64_t> boot_time_s_;
  bool boot_time_read_ = false;
  std::map<pid_t, std::vector<pid_t>> by_inner_pid_;  // innermost namespaced pid -> pids here
  std::optional<std::chrono::steady_clock::time_point> scanned_;
  std::optional<bool> every_process_;
};

// Reads a small text file whole (at most `limit` bytes), non-blocking, without following a final symlink
// unless `follow`. nullopt when it cannot be opened or read.
std::optional<std::string> read_small_file(const std::string& path, size_t limit = 64 * 1024,
                                           bool follow = true);

}  // namespace allocmon::server
