#include "device_holders_source.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>

namespace allocmon::server {

namespace {

constexpr std::string_view kDevicePrefix = "/dev/tenstorrent/";

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> numeric_entries(const std::string& dir, size_t limit) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (all_digits(e->d_name) && out.size() < limit) out.emplace_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

DeviceHoldersSource::DeviceHoldersSource(DeviceHoldersOptions options)
    : options_(std::move(options)), proc_(options_.proc_root) {}

bool DeviceHoldersSource::driver_lists_pids() const {
  return is_directory(options_.proc_root + "/driver/tenstorrent");
}

int DeviceHoldersSource::interval_ms() const {
  return driver_lists_pids() ? options_.interval_ms : options_.scan_interval_ms;
}

SourceReport DeviceHoldersSource::poll() {
  SourceReport report;
  proc_.clear();
  // (pid, device path) -> open descriptors
  std::map<std::pair<pid_t, std::string>, int> open_files;
  const std::string driver = options_.proc_root + "/driver/tenstorrent";
  if (is_directory(driver)) {
    for (const auto& n : numeric_entries(driver, 1024)) {
      const std::string path = driver + "/" + n + "/pids";
      const auto text = read_small_file(path);
      ++report.items_read;
      if (!text) continue;  // an older tt-kmd: no pids file for this device
      const char* p = text->c_str();
      while (*p) {
        char* end = nullptr;
        const long pid = std::strtol(p, &end, 10);
        if (end == p) {
          ++p;
          continue;
        }
        if (pid > 0) ++open_files[{static_cast<pid_t>(pid), std::string(kDevicePrefix) + n}];
        p = end;
      }
    }
  } else if (is_directory(options_.device_dir)) {
    for (const auto& pid : numeric_entries(options_.proc_root, options_.max_processes)) {
      const std::string fd_dir = options_.proc_root + "/" + pid + "/fd";
      for (const auto& fd : numeric_entries(fd_dir, 65536)) {
        char target[256];
        const ssize_t n = ::readlink((fd_dir + "/" + fd).c_str(), target, sizeof(target) - 1);
        ++report.items_read;
        if (n <= 0) continue;
        const std::string_view link(target, static_cast<size_t>(n));
        if (link.substr(0, kDevicePrefix.size()) == kDevicePrefix &&
            all_digits(link.substr(kDevicePrefix.size())))
          ++open_files[{static_cast<pid_t>(std::atoi(pid.c_str())), std::string(link)}];
      }
    }
  }
  for (const auto& [key, count] : open_files) {
    const auto& [pid, path] = key;
    const ProcIdentity& who = proc_.lookup(pid);
    if (!who.exists) continue;  // exited since the driver listed it
    if (report.processes.empty() || report.processes.back().pid != pid)
      report.processes.push_back({pid, who.uid, proc_.user_name(who.uid), who.name, who.cmdline, {}});
    report.processes.back().holds.push_back(path);
  }
  return report;
}

}  // namespace allocmon::server
