#include "tt_shm_polling.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "bench_server.hpp"
#include "server/sources/tt_shm_source.hpp"
#include "support/tt_shm_fixture.hpp"

namespace allocmon::bench {

namespace {

// utime + stime of a process, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double busy_percent(BenchServer& server, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  const double before = cpu_seconds(server.pid());
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measurement window itself
  const double used = cpu_seconds(server.pid()) - before;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 100.0 * used / wall;
}

}  // namespace

ShmPollingResult measure_tt_shm_polling(const std::string& server_binary, int regions, int interval_ms,
                                        double seconds) {
  ShmPollingResult result;
  result.regions = regions;
  result.interval_ms = interval_ms;
  result.seconds = seconds;
  const std::string shm = test::make_temp_dir("bench-shm"), proc = test::make_temp_dir("bench-proc");
  // A Galaxy as a real run leaves it: one workload on every chip, another user's process, a dead process.
  test::write_fake_process(proc, 1000, ::getuid(), "python3", {"python3", "model.py"});
  test::write_fake_process(proc, 1001, ::getuid() + 1, "python3");
  for (int id = 0; id < regions; ++id)
    test::write_region(shm,
                       test::make_region(4, 0x10000 + static_cast<uint64_t>(id), static_cast<uint32_t>(id),
                                         {{1000, "python3", 1ull << 30, 1 << 20, 0, 0, 1 << 18},
                                          {1001, "python3", 1 << 20},
                                          {1002, "gone", 1 << 20}}));

  server::TtShmOptions options;
  options.directory = shm;
  options.proc_root = proc;
  server::TtShmSource source(options);
  std::vector<double> rounds;
  for (int i = 0; i < 2000; ++i) {
    const auto t = std::chrono::steady_clock::now();
    const auto report = source.poll();
    rounds.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
    if (static_cast<int>(report.devices.size()) != regions) throw std::runtime_error("regions not read");
  }
  std::sort(rounds.begin(), rounds.end());
  result.round_us_p50 = rounds[rounds.size() / 2];
  result.round_us_p99 = rounds[rounds.size() * 99 / 100];

  const std::string socket = "/tmp/allocmon-bench-shm-" + std::to_string(::getpid()) + ".sock";
  {
    BenchServer polling(server_binary, socket,
                        {"--tt-shm-dir", shm, "--proc-root", proc, "--dev-root", shm, "--sys-root", shm,
                         "--poll-interval", std::to_string(interval_ms)});
    if (polling.snapshot()["devices"].size() > static_cast<size_t>(regions))
      throw std::runtime_error("unexpected devices");
    result.server_core_percent = busy_percent(polling, seconds);
    if (polling.snapshot()["devices"].size() != static_cast<size_t>(regions))
      throw std::runtime_error("the server did not read every region");
  }
  {
    BenchServer idle(server_binary, socket + ".idle");
    result.baseline_core_percent = busy_percent(idle, seconds);
  }
  test::remove_tree(shm);
  test::remove_tree(proc);
  return result;
}

}  // namespace allocmon::bench
