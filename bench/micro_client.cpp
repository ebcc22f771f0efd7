// Google Benchmark micro-benchmarks of the client's hot path, each beside its baseline:
//   - tracked alloc+free pair and single event, tracking on and connected to a real server;
//   - the same calls with tracking off (C ABI call, and the C++ header's inline check);
//   - the proof of concept's design: one blocking send() of a 128-byte message per event under a process
//   mutex.
// Each runs at 1, 2, 4 and 8 threads on a 2-core machine; repetitions give the median and p99 of the
// per-event cost. The server socket comes from micro_socket (set by main before the benchmarks run).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include "allocmon/client.hpp"
#include "common/unix_socket.hpp"
#include "protocol/wire.hpp"
#include "raw_client.hpp"

namespace allocmon::bench {

std::string micro_socket;  // set by main

namespace {

constexpr int kIterations = 200000;
constexpr int kRepetitions = 15;

double percentile_99(const std::vector<double>& v) {
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  return s[std::min(s.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(s.size())))];
}

void enable_tracking(bool on) {
  allocmon_configure(on ? 1 : 0, micro_socket.c_str());
  if (!on) return;
  static bool registered = false;
  if (!registered) {
    registered = true;
    for (int d = 0; d < 8; ++d) {
      DeviceInfo info;
      info.device_id = d;
      info.architecture = "bench";
      register_device(info);
    }
  }
}

// Before the timed loop: everything earlier has reached the server, so runs do not inherit a backlog.
void settle(benchmark::State& state, bool tracking) {
  if (state.thread_index() == 0) {
    enable_tracking(tracking);
    if (tracking) allocmon_flush(60000);
  }
}

double thread_cpu_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// Google Benchmark's real time with threads is wall time over all threads' iterations (aggregate throughput).
// What a calling thread pays is its own loop's wall time per event, so each thread times its loop after the
// start barrier and reports that as a per-thread average counter.
template <typename Body>
void timed_loop(benchmark::State& state, double events_per_iteration, Body body) {
  auto it = state.begin();
  const auto last = state.end();  // end() is where Google Benchmark waits at the start barrier
  const double cpu0 = thread_cpu_ns();
  const auto t0 = std::chrono::steady_clock::now();
  for (; it != last; ++it) body();
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = thread_cpu_ns() - cpu0;
  const double events = static_cast<double>(state.iterations()) * events_per_iteration;
  state.counters["thread_ns_per_event"] = benchmark::Counter(ns / events, benchmark::Counter::kAvgThreads);
  // The CPU time the calling thread spent (its own work, page faults included; not time it waited for a
  // core while the shipper and the server ran on this 2-core machine).
  state.counters["thread_cpu_ns_per_event"] =
      benchmark::Counter(cpu / events, benchmark::Counter::kAvgThreads);
  state.counters["events_per_iteration"] = events_per_iteration;
}

uint64_t first_id(const benchmark::State& state) {
  static std::atomic<uint64_t> run{0};
  return ((run.fetch_add(1) + 1) << 40) | (static_cast<uint64_t>(state.thread_index()) << 32);
}

void BM_TrackedPair(benchmark::State& state) {
  settle(state, true);
  const int device = state.thread_index() % 8;
  uint64_t id = first_id(state);
  timed_loop(state, 2, [&] {
    allocmon_alloc(device, ALLOCMON_DRAM, 4096, id, id);
    allocmon_free(device, id);
    ++id;
  });
}

// The same pairs while a scope and an op are in force (attribution, docs/attribution.md): the alloc path is
// the same store, so the two should not differ beyond noise.
void BM_TrackedPairInScope(benchmark::State& state) {
  settle(state, true);
  const int device = state.thread_index() % 8;
  uint64_t id = first_id(state);
  allocmon_scope_push("model");
  allocmon_scope_push("decoder.3");
  allocmon_op_begin("ttnn.matmul", "model.py:123");
  timed_loop(state, 2, [&] {
    allocmon_alloc(device, ALLOCMON_DRAM, 4096, id, id);
    allocmon_free(device, id);
    ++id;
  });
  allocmon_op_end();
  allocmon_scope_pop();
  allocmon_scope_pop();
}

void BM_TrackedSingle(benchmark::State& state) {
  settle(state, true);
  const int device = state.thread_index() % 8;
  uint64_t n = 0;
  timed_loop(state, 1, [&] {
    ++n;
    allocmon_report_free_space(device, ALLOCMON_L1, n, n);
  });
}

void BM_DisabledPairCAbi(benchmark::State& state) {
  settle(state, false);
  uint64_t id = 1;
  timed_loop(state, 2, [&] {
    allocmon_alloc(0, ALLOCMON_DRAM, 4096, id, id);
    allocmon_free(0, id);
    ++id;
  });
}

void BM_DisabledPairCInline(benchmark::State& state) {
  settle(state, false);
  uint64_t id = 1;
  timed_loop(state, 2, [&] {
    allocmon_track_alloc(0, ALLOCMON_DRAM, 4096, id, id);
    allocmon_track_free(0, id);
    ++id;
    benchmark::ClobberMemory();
  });
}

void BM_DisabledPairInline(benchmark::State& state) {
  settle(state, false);
  uint64_t id = 1;
  timed_loop(state, 2, [&] {
    track_alloc(0, MemoryType::DRAM, 4096, id, id);
    track_free(0, id);
    ++id;
    benchmark::ClobberMemory();
  });
}

// ---- baseline: the proof of concept's client ----
std::mutex baseline_mutex;
int baseline_fd = -1;

void baseline_connect() {
  std::lock_guard lock(baseline_mutex);
  if (baseline_fd >= 0) return;
  baseline_fd = connect_with_devices(micro_socket, 8);
}

void BM_BaselinePocPair(benchmark::State& state) {
  settle(state, false);
  if (state.thread_index() == 0) baseline_connect();
  const int device = state.thread_index() % 8;
  uint64_t id = first_id(state);
  timed_loop(state, 2, [&] {
    wire::Event alloc{id, 4096, id, device, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_DRAM, 0};
    wire::Event release{id, 0, 0, device, static_cast<uint8_t>(wire::EventKind::kFree), 0, 0};
    const std::string a = baseline_message(alloc), f = baseline_message(release);
    {
      std::lock_guard lock(baseline_mutex);
      write_all(baseline_fd, a.data(), a.size());
    }
    {
      std::lock_guard lock(baseline_mutex);
      write_all(baseline_fd, f.data(), f.size());
    }
    ++id;
  });
}

void configure(benchmark::internal::Benchmark* b) {
  b->Iterations(kIterations)
      ->Repetitions(kRepetitions)
      ->ReportAggregatesOnly(true)
      ->UseRealTime()
      ->ComputeStatistics("p99", percentile_99)
      ->ThreadRange(1, 8);
}

}  // namespace

BENCHMARK(BM_TrackedPair)->Apply(configure);
BENCHMARK(BM_TrackedSingle)->Apply(configure);
BENCHMARK(BM_TrackedPairInScope)->Apply(configure);
BENCHMARK(BM_DisabledPairCAbi)->Apply(configure);
BENCHMARK(BM_DisabledPairCInline)->Apply(configure);
BENCHMARK(BM_DisabledPairInline)->Apply(configure);
BENCHMARK(BM_BaselinePocPair)->Apply([](benchmark::internal::Benchmark* b) {
  configure(b);
  b->Iterations(20000);  // a blocking send per event is ~100x slower: fewer iterations, same repetitions
});

}  // namespace allocmon::bench
