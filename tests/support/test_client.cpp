// allocmon_test_client: a real tracked process for end-to-end tests, driven line by line on stdin.
// Each command answers one line on stdout starting with "ok" (or "error ...").
//   register DEV [ROW COL]   unregister DEV   alloc DEV TYPE SIZE ID   free DEV ID   flush [TIMEOUT_MS]
//   stats   pingpong DEV N (alloc on one thread, free on another, ids reused)   bulk DEV N FIRST SIZE
//   churn DEV N (N alloc+free pairs, flat out)   peak_rss (kB)   exit
//   scope NAME   scope_end   tensor DESCRIPTION... (the rest of the line)   tensor_end
//   described DEV N FIRST SIZE (N allocs, each in a tensor description of its own)
//   drip DEV ID PERIOD_US (a thread that allocs ID once, then an alloc+free pair every PERIOD_US, busy in
//   between, until drip_end)   drip_end
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "allocmon/client.hpp"
#include "protocol/wire.hpp"

namespace {

void pingpong(int device, int count) {
  // Thread A allocates, thread B frees the same id right after, and A reuses the id: the shipper must apply
  // them in causal order for the server's totals to stay exact.
  std::atomic<int> handed{-1};
  std::atomic<int> freed{-1};
  // atomic wait/notify (futex) rather than spinning: stays fast when the machine is oversubscribed.
  std::thread freer([&] {
    for (int i = 0; i < count; ++i) {
      for (int seen = handed.load(); seen < i; seen = handed.load()) handed.wait(seen);
      allocmon::track_free(device, 7);
      freed.store(i);
      freed.notify_one();
    }
  });
  for (int i = 0; i < count; ++i) {
    for (int seen = freed.load(); seen < i - 1; seen = freed.load()) freed.wait(seen);
    allocmon::track_alloc(device, allocmon::MemoryType::L1, 4096 + i, 0x1000, 7);
    handed.store(i);
    handed.notify_one();
  }
  freer.join();
}

// A thread that reports steadily, so its queue head moves between any two of the shipper's passes.
class Drip {
 public:
  void start(int device, uint64_t marker, int period_us) {
    stop();
    running_ = true;
    thread_ = std::thread([this, device, marker, period_us] {
      allocmon::track_alloc(device, allocmon::MemoryType::DRAM, 4096, marker * 64, marker);
      for (uint64_t id = marker + 1; running_.load(std::memory_order_relaxed); ++id) {
        allocmon::track_alloc(device, allocmon::MemoryType::L1, 64, id * 64, id);
        allocmon::track_free(device, id);
        // The workload's pace, kept by spinning: a sleep would let the shipper see the thread paused.
        const auto next = std::chrono::steady_clock::now() + std::chrono::microseconds(period_us);
        while (std::chrono::steady_clock::now() < next) {
        }
      }
    });
  }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  ~Drip() { stop(); }

 private:
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace

int main() {
  Drip drip;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    if (command == "register") {
      allocmon::DeviceInfo info;
      in >> info.device_id;
      if (!(in >> info.mesh_row >> info.mesh_col)) info.mesh_row = info.mesh_col = -1;
      info.architecture = "wormhole_b0";
      info.capacity[ALLOCMON_DRAM] = 12ull * 1073741792ull;
      info.capacity[ALLOCMON_L1] = 64ull * 1395424ull;
      allocmon::register_device(info);
    } else if (command == "unregister") {
      int device;
      in >> device;
      allocmon::unregister_device(device);
    } else if (command == "alloc") {
      int device;
      std::string type;
      uint64_t size, id;
      in >> device >> type >> size >> id;
      auto code = allocmon::wire::memory_type_from_name(type);
      if (!code) {
        std::printf("error unknown type %s\n", type.c_str());
        continue;
      }
      allocmon::track_alloc(device, static_cast<allocmon::MemoryType>(*code), size, id * 64, id);
    } else if (command == "free") {
      int device;
      uint64_t id;
      in >> device >> id;
      allocmon::track_free(device, id);
    } else if (command == "flush") {
      int timeout = 5000;
      in >> timeout;
      std::printf("ok %d\n", allocmon::flush(timeout));
      continue;
    } else if (command == "stats") {
      allocmon_client_stats s;
      allocmon_get_client_stats(&s);
      std::printf("ok connected=%d resyncs=%llu errors=%llu live=%llu superseded=%llu\n", s.connected,
                  static_cast<unsigned long long>(s.resyncs),
                  static_cast<unsigned long long>(s.client_errors),
                  static_cast<unsigned long long>(s.live_buffers),
                  static_cast<unsigned long long>(s.events_superseded));
      continue;
    } else if (command == "bulk") {
      // bulk DEV COUNT FIRST_ID SIZE: COUNT live allocations in a tight loop (never blocks, server or not)
      int device;
      uint64_t count, first, size;
      in >> device >> count >> first >> size;
      for (uint64_t id = first; id < first + count; ++id)
        allocmon::track_alloc(device, allocmon::MemoryType::DRAM, size, id, id);
    } else if (command == "churn") {
      // churn DEV COUNT: COUNT alloc+free pairs on this thread as fast as it can (outruns the shipper)
      int device;
      uint64_t count;
      in >> device >> count;
      for (uint64_t id = 1; id <= count; ++id) {
        allocmon::track_alloc(device, allocmon::MemoryType::L1, 4096, id, id);
        allocmon::track_free(device, id);
      }
    } else if (command == "scope") {  // attribution (docs/attribution.md), through the C ABI
      std::string name;
      in >> name;
      allocmon_scope_push(name.c_str());
    } else if (command == "scope_end") {
      allocmon_scope_pop();
    } else if (command == "tensor") {
      std::string description;
      std::getline(in >> std::ws, description);
      allocmon_tensor_begin(description.c_str());
    } else if (command == "tensor_end") {
      allocmon_tensor_end();
    } else if (command == "described") {
      int device;
      uint64_t count, first, size;
      in >> device >> count >> first >> size;
      for (uint64_t id = first; id < first + count; ++id) {
        allocmon_tensor_begin(("bfloat16 TILE [1, " + std::to_string(id) + "] DRAM interleaved").c_str());
        allocmon::track_alloc(device, allocmon::MemoryType::DRAM, size, id * 64, id);
        allocmon_tensor_end();
      }
    } else if (command == "peak_rss") {
      std::ifstream status("/proc/self/status");
      std::string key, value;
      while (status >> key && key != "VmHWM:") std::getline(status, value);
      status >> value;
      std::printf("ok %s\n", value.c_str());  // kB
      continue;
    } else if (command == "pingpong") {
      int device, count;
      in >> device >> count;
      pingpong(device, count);
    } else if (command == "drip") {
      int device, period_us;
      uint64_t marker;
      in >> device >> marker >> period_us;
      drip.start(device, marker, period_us);
    } else if (command == "drip_end") {
      drip.stop();
    } else if (command == "exit") {
      std::printf("ok\n");
      return 0;
    } else {
      std::printf("error unknown command %s\n", command.c_str());
      continue;
    }
    std::printf("ok\n");
  }
  return 0;
}
