// Who a pid is, read from a /proc tree (the machine's, or a fixture folder in tests): existence, real uid,
// name, command line and start time. Lookups are cached until clear(), so one polling round reads each
// process once however many regions name it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace allocmon::server {

struct ProcIdentity {
  bool exists = false;
  uid_t uid = 0;
  std::string name;                       // comm
  std::string cmdline;                    // arguments joined by spaces, at most kMaxCmdline bytes
  std::optional<uint64_t> start_unix_ns;  // when the process started (needs stat and the boot time)
};

class ProcReader {
 public:
  static constexpr size_t kMaxCmdline = 256;

  explicit ProcReader(std::string root = "/proc") : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  const ProcIdentity& lookup(pid_t pid);
  std::string user_name(uid_t uid);  // the uid as text when there is no such user
  // Forgets cached processes (not user names): call at the start of each polling round.
  void clear() { processes_.clear(); }

 private:
  ProcIdentity read(pid_t pid);
  std::optional<uint64_t> boot_time_s();

  std::string root_;
  std::map<pid_t, ProcIdentity> processes_;
  std::map<uid_t, std::string> users_;
  std::optional<uint64_t> boot_time_s_;
  bool boot_time_read_ = false;
};

// Reads a small text file whole (at most `limit` bytes), non-blocking, without following a final symlink
// unless `follow`. nullopt when it cannot be opened or read.
std::optional<std::string> read_small_file(const std::string& path, size_t limit = 64 * 1024,
                                           bool follow = true);

}  // namespace allocmon::server
