// allocmon_demo: a small C++ workload that reports through the public client API the way a device runtime
// does: it registers a few devices and allocates and frees buffers in phases, so the monitor has bars to
// move.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "allocmon/client.hpp"
#include "common/command_line.hpp"

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

struct Buffer {
  int device;
  uint64_t id;
};

}  // namespace

int main(int argc, char** argv) {
  int devices = 4;
  int phase_ms = 700;
  int rounds = 1;
  CLI::App app{"allocmon demo workload (set TT_ALLOC_TRACKING_ENABLED=1 to report to the server)"};
  app.add_option("--devices", devices, "Number of devices")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--phase-ms", phase_ms, "Pause between phases, so a person can watch")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
  app.add_option("--rounds", rounds, "How many times to run the phases")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  allocmon::add_version_flag(app, "allocmon_demo");
  if (const int status = allocmon::parse_command_line(app, argc, argv); status >= 0) return status;
  if (!allocmon::tracking_enabled())
    std::printf("note: TT_ALLOC_TRACKING_ENABLED is not 1, nothing will be reported\n");

  for (int d = 0; d < devices; ++d) {
    allocmon::DeviceInfo info;
    info.device_id = d;
    info.architecture = "wormhole_b0";
    info.capacity[ALLOCMON_DRAM] = 12ull * 1073741792ull;
    info.capacity[ALLOCMON_L1] = 64ull * 1395424ull;
    allocmon::register_device(info);
  }
  uint64_t next_id = 1;
  auto pause = [&] {
    allocmon::flush(1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(phase_ms));
  };
  auto alloc = [&](std::vector<Buffer>& held, int device, allocmon::MemoryType type, uint64_t size) {
    const uint64_t id = next_id++;
    allocmon::track_alloc(device, type, size, id * 4096, id);
    held.push_back({device, id});
  };
  auto free_all = [&](std::vector<Buffer>& held) {
    for (auto it = held.rbegin(); it != held.rend(); ++it) allocmon::track_free(it->device, it->id);
    held.clear();
  };

  for (int round = 0; round < rounds; ++round) {
    std::vector<Buffer> weights, activations, scratch;
    std::printf("[phase 1] 100 MiB of DRAM weights per device\n");
    for (int d = 0; d < devices; ++d) alloc(weights, d, allocmon::MemoryType::DRAM, 100 * kMiB);
    pause();
    std::printf("[phase 2] activations: 200 MiB DRAM + 10 MiB L1 per device\n");
    for (int d = 0; d < devices; ++d) {
      alloc(activations, d, allocmon::MemoryType::DRAM, 200 * kMiB);
      alloc(activations, d, allocmon::MemoryType::L1, 10 * kMiB);
    }
    pause();
    std::printf("[phase 3] a program runs: circular buffers and kernels\n");
    for (int d = 0; d < devices; ++d) {
      alloc(scratch, d, allocmon::MemoryType::CB, 512 * 1024);
      alloc(scratch, d, allocmon::MemoryType::KERNEL, 36 * 1024);
    }
    pause();
    std::printf("[phase 4] free activations and program memory\n");
    free_all(scratch);
    free_all(activations);
    pause();
    std::printf("[phase 5] free weights: back to baseline\n");
    free_all(weights);
    pause();
  }
  for (int d = 0; d < devices; ++d) allocmon::unregister_device(d);
  const int status = allocmon::flush(2000);
  std::printf("demo done (flush: %s)\n", status == ALLOCMON_FLUSH_OK         ? "server applied every event"
                                         : status == ALLOCMON_FLUSH_DISABLED ? "tracking disabled"
                                                                             : "no server confirmation");
  return 0;
}
