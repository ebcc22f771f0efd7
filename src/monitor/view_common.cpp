#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <thread>

#include "view.hpp"

namespace allocmon::monitor {

namespace {
std::atomic<bool> stop_flag{false};
extern "C" void on_stop_signal(int) {
  stop_flag.store(true);
}
}  // namespace

void install_stop_handler() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);  // no SA_RESTART: a blocking wait returns at once
  ::sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() {
  return stop_flag.load();
}

bool wait_or_stop(int ms) {
  using namespace std::chrono;
  const auto until = steady_clock::now() + milliseconds(ms);
  while (!stop_requested()) {
    const auto left = until - steady_clock::now();
    if (left <= steady_clock::duration::zero()) return true;
    std::this_thread::sleep_for(std::min<steady_clock::duration>(left, milliseconds(20)));
  }
  return false;
}

std::vector<int> devices_to_show(const Snapshot* snapshot, const ViewOptions& options) {
  if (!options.device_ids.empty()) return options.device_ids;
  std::vector<int> ids;
  if (snapshot)
    for (const auto& d : snapshot->devices) ids.push_back(d.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string format_bytes(uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0)
    std::snprintf(text, sizeof(text), "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(text, sizeof(text), "%.1f %s", value, units[unit]);
  return text;
}

std::string clock_text(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[16];
  std::strftime(text, sizeof(text), "%H:%M:%S", &local);
  return text;
}

int fill_level(double fraction) {
  return fraction >= 0.90 ? 2 : fraction >= 0.75 ? 1 : 0;
}

bool shown(const MemoryView& memory) {
  return memory.capacity > 0 || memory.allocated > 0 || memory.peak > 0;
}

}  // namespace allocmon::monitor
