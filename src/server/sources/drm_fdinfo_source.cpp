#include "drm_fdinfo_source.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace allocmon::server {

namespace {

constexpr std::string_view kDriPrefix = "/dev/dri/";

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

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "123 KiB" -> bytes; the unit is optional (bytes).
std::optional<uint64_t> parse_amount(std::string_view value) {
  value = trim(value);
  uint64_t number = 0;
  size_t i = 0;
  for (; i < value.size() && value[i] >= '0' && value[i] <= '9'; ++i) {
    if (number > (UINT64_MAX - 9) / 10) return std::nullopt;
    number = number * 10 + static_cast<uint64_t>(value[i] - '0');
  }
  if (i == 0) return std::nullopt;
  const std::string_view unit = trim(value.substr(i));
  uint64_t scale = 1;
  if (unit == "KiB")
    scale = 1ull << 10;
  else if (unit == "MiB")
    scale = 1ull << 20;
  else if (unit == "GiB")
    scale = 1ull << 30;
  else if (!unit.empty())
    return std::nullopt;
  if (number > UINT64_MAX / scale) return std::nullopt;
  return number * scale;
}

// Device-local memory: amdgpu "vram", xe "vram0", i915 "local0"; everything else lives in host memory.
bool device_local(std::string_view region) {
  return region.substr(0, 4) == "vram" || region.substr(0, 5) == "local";
}

}  // namespace

std::optional<DrmClient> parse_drm_fdinfo(std::string_view text) {
  DrmClient client;
  uint64_t total = 0, memory = 0, resident = 0;
  bool has_total = false;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    auto region_of = [&](std::string_view prefix) -> std::optional<std::string_view> {
      if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
      return key.substr(prefix.size());
    };
    if (key == "drm-driver") {
      client.driver = value;
    } else if (key == "drm-pdev") {
      client.pdev = value;
    } else if (key == "drm-client-id") {
      client.client_id = value;
    } else if (auto total_of = region_of("drm-total-"); total_of && device_local(*total_of)) {
      if (auto bytes = parse_amount(value)) total += *bytes, has_total = true;
    } else if (auto memory_of = region_of("drm-memory-"); memory_of && device_local(*memory_of)) {
      if (auto bytes = parse_amount(value)) memory += *bytes;
    } else if (auto resident_of = region_of("drm-resident-"); resident_of && device_local(*resident_of)) {
      if (auto bytes = parse_amount(value)) resident += *bytes;
    }
  }
  if (client.driver.empty()) return std::nullopt;
  client.device_bytes = has_total ? total : memory;
  client.resident_bytes = resident;
  return client;
}

DrmFdinfoSource::DrmFdinfoSource(DrmFdinfoOptions options)
    : options_(std::move(options)), proc_(options_.proc_root) {}

SourceReport DrmFdinfoSource::poll() {
  SourceReport report;
  proc_.clear();
  struct stat st {};
  if (::stat(options_.dri_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return report;

  std::map<std::string, SourceDevice> devices;                  // by PCI address
  std::set<std::tuple<std::string, std::string>> clients_seen;  // (pdev, client id): dup'ed fds count once
  for (const auto& pid_text : numeric_entries(options_.proc_root, options_.max_processes)) {
    const pid_t pid = std::atoi(pid_text.c_str());
    const std::string base = options_.proc_root + "/" + pid_text;
    std::vector<std::string> pdevs;
    for (const auto& fd : numeric_entries(base + "/fd", 65536)) {
      char target[256];
      const ssize_t n = ::readlink((base + "/fd/" + fd).c_str(), target, sizeof(target) - 1);
      ++report.items_read;
      if (n <= 0 ||
          std::string_view(target, static_cast<size_t>(n)).substr(0, kDriPrefix.size()) != kDriPrefix)
        continue;
      const auto text = read_small_file(base + "/fdinfo/" + fd, 16 * 1024);
      if (!text) continue;
      auto client = parse_drm_fdinfo(*text);
      if (!client || client->pdev.empty() || client->pdev.find('/') != std::string::npos) continue;
      if (!client->client_id.empty() && !clients_seen.emplace(client->pdev, client->client_id).second)
        continue;
      SourceDevice& device = devices[client->pdev];
      device.location = client->pdev;
      device.architecture = client->driver;
      auto share = std::find_if(device.shares.begin(), device.shares.end(),
                                [&](const ProcessShare& s) { return s.pid == pid; });
      if (share == device.shares.end())
        share = device.shares.insert(device.shares.end(), ProcessShare{pid, 0, {}, {}});
      share->bytes[ALLOCMON_DRAM] += client->device_bytes;
      device.in_use = true;
      pdevs.push_back(client->pdev);
    }
    if (!pdevs.empty()) {
      const ProcIdentity& who = proc_.lookup(pid);
      report.processes.push_back({pid, who.uid, proc_.user_name(who.uid), who.name, who.cmdline, {}});
    }
  }
  for (auto& [pdev, device] : devices) {
    auto [it, added] =
        device_ids_.try_emplace(pdev, kFirstDrmDeviceId + static_cast<int32_t>(device_ids_.size()));
    device.id = it->second;
    if (auto total =
            read_small_file(options_.sys_root + "/bus/pci/devices/" + pdev + "/mem_info_vram_total", 64))
      device.capacity[ALLOCMON_DRAM] = std::strtoull(total->c_str(), nullptr, 10);
    report.devices.push_back(std::move(device));
  }
  return report;
}

}  // namespace allocmon::server
