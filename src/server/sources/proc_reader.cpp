#include "proc_reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace allocmon::server {

std::optional<std::string> read_small_file(const std::string& path, size_t limit, bool follow) {
  const int fd =
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0) return std::nullopt;
  std::string text;
  char chunk[4096];
  while (text.size() < limit) {
    const ssize_t n = ::read(fd, chunk, std::min(sizeof(chunk), limit - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

namespace {

// "NSpid:\t41230\t1": the pid in the tree's namespace, then in each nested one (Linux 4.1+).
std::vector<pid_t> parse_nspids(const std::string& status) {
  std::vector<pid_t> out;
  const auto at = status.find("\nNSpid:");
  if (at == std::string::npos) return out;
  const char* p = status.c_str() + at + 7;
  for (;;) {
    char* end = nullptr;
    const long value = std::strtol(p, &end, 10);
    if (end == p || value <= 0) break;
    out.push_back(static_cast<pid_t>(value));
    p = end;
    if (*p == '\n' || *p == '\0') break;
  }
  return out;
}

}  // namespace

const ProcIdentity& ProcReader::lookup(pid_t pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) it = processes_.emplace(pid, read(pid)).first;
  return it->second;
}

ProcIdentity ProcReader::read(pid_t pid) {
  ProcIdentity id;
  if (pid <= 0) return id;
  const std::string dir = root_ + "/" + std::to_string(pid);
  const auto status = read_small_file(dir + "/status");
  if (!status) return id;
  id.exists = true;
  // "Uid:\treal\teffective\tsaved\tfs": the real uid is who runs it.
  if (auto at = status->find("\nUid:"); at != std::string::npos)
    id.uid = static_cast<uid_t>(std::strtoul(status->c_str() + at + 5, nullptr, 10));
  id.nspids = parse_nspids(*status);
  if (auto comm = read_small_file(dir + "/comm", 256)) {
    while (!comm->empty() && comm->back() == '\n') comm->pop_back();
    id.name = *comm;
  }
  if (auto cmdline = read_small_file(dir + "/cmdline", kMaxCmdline)) {
    while (!cmdline->empty() && cmdline->back() == '\0') cmdline->pop_back();
    for (char& c : *cmdline)
      if (c == '\0' || c == '\n') c = ' ';
    id.cmdline = *cmdline;
  }
  // stat: field 22 (starttime, clock ticks after boot) counts from the field after the ")" ending comm.
  if (auto stat = read_small_file(dir + "/stat", 4096)) {
    const auto close = stat->rfind(')');
    if (close != std::string::npos) {
      const char* p = stat->c_str() + close + 1;
      for (int field = 3; field < 22 && *p; ++field) {
        while (*p == ' ') ++p;
        while (*p && *p != ' ') ++p;
      }
      char* end = nullptr;
      const unsigned long long ticks = std::strtoull(p, &end, 10);
      const long hz = ::sysconf(_SC_CLK_TCK);
      if (end != p && hz > 0) {
        id.start_since_boot_ns = ticks * (1'000'000'000ull / static_cast<unsigned long long>(hz));
        if (boot_time_s()) id.start_unix_ns = (*boot_time_s_ * 1'000'000'000ull) + *id.start_since_boot_ns;
      }
    }
  }
  return id;
}

const std::vector<pid_t>& ProcReader::namespaced(pid_t inner, std::chrono::milliseconds rescan) {
  const auto now = std::chrono::steady_clock::now();
  if (!scanned_ || now - *scanned_ >= rescan) {
    scanned_ = now;
    by_inner_pid_.clear();
    if (DIR* dir = ::opendir(root_.c_str())) {
      std::vector<pid_t> pids;
      while (dirent* entry = ::readdir(dir)) {
        char* end = nullptr;
        const long pid = std::strtol(entry->d_name, &end, 10);
        if (pid > 0 && end && *end == '\0') pids.push_back(static_cast<pid_t>(pid));
      }
      ::closedir(dir);
      for (pid_t pid : pids) {
        const auto status = read_small_file(root_ + "/" + std::to_string(pid) + "/status", 4096);
        if (!status) continue;
        const auto nspids = parse_nspids(*status);
        if (nspids.size() > 1) by_inner_pid_[nspids.back()].push_back(pid);
      }
    }
  }
  static const std::vector<pid_t> none;
  auto it = by_inner_pid_.find(inner);
  return it == by_inner_pid_.end() ? none : it->second;
}

bool ProcReader::sees_every_process() {
  if (!every_process_) {
    const auto status = read_small_file(root_ + "/2/status", 4096);
    every_process_ = status && status->find("Name:\tkthreadd\n") != std::string::npos &&
                     status->find("\nPPid:\t0\n") != std::string::npos;
  }
  return *every_process_;
}

std::optional<uint64_t> ProcReader::boot_time_s() {
  if (!boot_time_read_) {
    boot_time_read_ = true;
    if (auto stat = read_small_file(root_ + "/stat", 256 * 1024))
      if (auto at = stat->find("\nbtime "); at != std::string::npos)
        boot_time_s_ = std::strtoull(stat->c_str() + at + 7, nullptr, 10);
  }
  return boot_time_s_;
}

std::string ProcReader::user_name(uid_t uid) {
  auto it = users_.find(uid);
  if (it != users_.end()) return it->second;
  std::string name = std::to_string(uid);
  passwd entry{};
  passwd* result = nullptr;
  std::vector<char> buffer(4096);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &result) == 0 && result) name = result->pw_name;
  users_.emplace(uid, name);
  return name;
}

}  // namespace allocmon::server
