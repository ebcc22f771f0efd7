// allocmon_bench: every figure of docs/performance.md in one run, each beside its baseline, as one table and
// as bench/results.json. `--quick` runs a small version with correctness checks only (CTest uses it).
#include <benchmark/benchmark.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_server.hpp"
#include "load_generator.hpp"
#include "tt_shm_polling.hpp"

using namespace allocmon::bench;
using nlohmann::json;

namespace allocmon::bench {
extern std::string micro_socket;
}

namespace {

// Collects the median and p99 aggregates of every micro-benchmark run, in ns per event.
class CollectingReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.aggregate_name != "median" && run.aggregate_name != "p99") continue;
      std::string name = run.run_name.function_name;
      auto& entry = results[name][run.threads];
      // Wall time per event as each calling thread sees it (includes time descheduled when threads > cores).
      entry[run.aggregate_name + "_ns"] = run.counters.at("thread_ns_per_event").value;
      entry[run.aggregate_name + "_cpu_ns"] = run.counters.at("thread_cpu_ns_per_event").value;
    }
  }
  std::map<std::string, std::map<int, std::map<std::string, double>>> results;
};

std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string self_path() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  return std::string(path, n > 0 ? static_cast<size_t>(n) : 0);
}

const char* verdict(bool ok) {
  return ok ? "met" : "MISSED";
}

// One process reporting alloc+free pairs as fast as it can, until its flush barrier passes: through
// liballocmon, and through the proof of concept's blocking send of one message per event (the baseline), in
// the same run.
struct EndToEnd {
  double client_events_per_second = 0;
  double baseline_events_per_second = 0;
  uint64_t client_lost = 0;
};

EndToEnd measure_end_to_end(const std::string& self, BenchServer& server) {
  EndToEnd e;
  double best = 0;
  for (int run = 0; run < 3; ++run) {  // the best of three: this 2-core VM's neighbours come and go
    auto r = measure_ingest(self, server, "pairs", 1, 16000000ull);
    if (r.events_per_second > best) best = r.events_per_second, e.client_lost = r.lost;
  }
  e.client_events_per_second = best;
  best = 0;
  for (int run = 0; run < 3; ++run) {
    auto r = measure_ingest(self, server, "poc", 1, 400000ull);
    best = std::max(best, static_cast<double>(r.events_reported) / r.seconds);
  }
  e.baseline_events_per_second = best;
  return e;
}

void print_end_to_end(const EndToEnd& e) {
  std::printf(
      "\nEnd to end, one process reporting alloc+free pairs until its flush barrier passes (best of 3)\n"
      "  through liballocmon:                  %6.1f M events/s (lost %llu)\n"
      "  baseline, PoC blocking send per event: %6.2f M events/s\n"
      "  liballocmon / baseline:               %6.1fx\n",
      e.client_events_per_second / 1e6, static_cast<unsigned long long>(e.client_lost),
      e.baseline_events_per_second / 1e6, e.client_events_per_second / e.baseline_events_per_second);
}

void print_shm_polling(const ShmPollingResult& shm) {
  std::printf(
      "\ntt-metal shared-memory regions: a Galaxy's %d chips, polled every %d ms\n"
      "  one round in-process: p50 %.0f us, p99 %.0f us (%.3f%% of a core at that interval)\n"
      "  allocation_server over %.0f s: %.3f%% of a core polling; %.3f%% with no polled sources (baseline)\n",
      shm.regions, shm.interval_ms, shm.round_us_p50, shm.round_us_p99,
      shm.round_us_p50 / (shm.interval_ms * 10.0), shm.seconds, shm.server_core_percent,
      shm.baseline_core_percent);
}

nlohmann::json shm_polling_json(const ShmPollingResult& shm) {
  return {{"regions", shm.regions},
          {"interval_ms", shm.interval_ms},
          {"round_us_p50", shm.round_us_p50},
          {"round_us_p99", shm.round_us_p99},
          {"server_core_percent", shm.server_core_percent},
          {"baseline_core_percent", shm.baseline_core_percent},
          {"seconds", shm.seconds}};
}

// Server memory per live buffer, snapshot latency and the streamed leak report at 1 M and 10 M live buffers.
struct MemoryFigures {
  json rows = json::array();
  double bytes_10m = 0, snapshot_1m = 0, leaks_1m_ms = 0, leaks_10m_ms = 0;
};

MemoryFigures measure_memory(const std::string& self, const std::string& dir, const std::string& socket) {
  MemoryFigures f;
  std::printf("\nServer memory and queries with live buffers\n");
  std::printf("%-14s %16s %14s %20s %18s\n", "live buffers", "RSS delta", "bytes/buffer",
              "snapshot p50/max ms", "leak report ms");
  for (uint64_t live : {1000000ull, 10000000ull}) {
    // One producer holds every buffer: raise the per-connection limit (4 M by default) above the count.
    BenchServer fresh(dir + "/allocation_server", socket + ".mem", {"--max-buffers-per-client", "20000000"});
    auto r = measure_memory_per_buffer(self, fresh, live);
    std::printf("%-14llu %16llu %14.1f %13.3f / %-6.3f %18.1f\n", static_cast<unsigned long long>(live),
                static_cast<unsigned long long>(r.server_rss_delta), r.bytes_per_buffer, r.snapshot_ms_p50,
                r.snapshot_ms_p99, r.leak_report_ms_p50);
    f.rows.push_back({{"live_buffers", live},
                      {"server_rss_delta", r.server_rss_delta},
                      {"bytes_per_buffer", r.bytes_per_buffer},
                      {"snapshot_ms_p50", r.snapshot_ms_p50},
                      {"snapshot_ms_max", r.snapshot_ms_p99},
                      {"leak_report_ms_p50", r.leak_report_ms_p50}});
    if (live == 10000000ull) f.bytes_10m = r.bytes_per_buffer, f.leaks_10m_ms = r.leak_report_ms_p50;
    if (live == 1000000ull) f.snapshot_1m = r.snapshot_ms_p50, f.leaks_1m_ms = r.leak_report_ms_p50;
  }
  return f;
}

int run_benchmarks(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--producer") return producer_main(argc, argv);
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const bool micro_only = argc > 1 && std::string(argv[1]) == "--micro";  // the client-cost table alone
  std::string out_path = "bench/results.json";
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--out") out_path = argv[i + 1];
  const std::string self = self_path();
  const std::string dir = self.substr(0, self.rfind('/'));
  const std::string socket = "/tmp/allocmon-bench-" + std::to_string(::getpid()) + ".sock";
  if (argc > 1 && std::string(argv[1]) == "--memory") {  // these figures alone
    measure_memory(self, dir, socket);
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--end-to-end") {  // this figure alone
    BenchServer alone(dir + "/allocation_server", socket);
    print_end_to_end(measure_end_to_end(self, alone));
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--tt-shm") {  // this figure alone
    print_shm_polling(measure_tt_shm_polling(dir + "/allocation_server", 32, 250, 20.0));
    return 0;
  }
  BenchServer server(dir + "/allocation_server", socket);
  micro_socket = socket;
  json results;
  utsname host{};
  ::uname(&host);
  results["machine"] = {
      {"cpu", cpu_model()}, {"cores", ::sysconf(_SC_NPROCESSORS_ONLN)}, {"kernel", host.release}};

  int failures = 0;
  if (quick) {
    // Correctness of the benchmark path (not speed): every event the producers reported was applied.
    for (int producers : {1, 4}) {
      auto r = measure_ingest(self, server, "pairs", producers, 200000);
      std::printf("quick: %d producers, %llu events reported, %llu applied, %llu lost\n", producers,
                  static_cast<unsigned long long>(r.events_reported),
                  static_cast<unsigned long long>(r.events_applied), static_cast<unsigned long long>(r.lost));
      failures += r.lost != 0 || r.events_reported != 200000ull * producers;
    }
    auto raw = measure_ingest(self, server, "raw", 2, 204800);
    failures += raw.lost != 0 || raw.events_applied != raw.events_reported;
    auto snapshot = server.snapshot();
    failures += snapshot["totals"]["buffers"].get<uint64_t>() != 0;
    std::printf("quick: raw stream %llu/%llu applied; live buffers after all frees: %llu\n",
                static_cast<unsigned long long>(raw.events_applied),
                static_cast<unsigned long long>(raw.events_reported),
                static_cast<unsigned long long>(snapshot["totals"]["buffers"].get<uint64_t>()));
    auto shm = measure_tt_shm_polling(dir + "/allocation_server", 32, 250, 0.5);
    std::printf("quick: 32 tt-metal regions read in %.0f us per round\n", shm.round_us_p50);
    std::printf("%d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
    return failures ? 1 : 0;
  }

  // ---- micro-benchmarks ----
  // Google Benchmark's own flags (--benchmark_filter=...) pass through, for runs of part of the table.
  std::vector<char*> bench_args{argv[0]};
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]).starts_with("--benchmark_")) bench_args.push_back(argv[i]);
  int bench_argc = static_cast<int>(bench_args.size());
  bench_args.push_back(nullptr);
  benchmark::Initialize(&bench_argc, bench_args.data());
  CollectingReporter reporter;
  std::fprintf(stderr, "running micro-benchmarks (about a minute)...\n");
  // 8 threads queue 128 MB per repetition, over the default 64 MiB budget: with a larger one the figure is
  // the call's cost, not back-pressure (what a sustained flood gets is the end-to-end figure below). Only
  // this process: the load generator's producers keep the default.
  ::setenv("ALLOCMON_MAX_QUEUED_BYTES", "536870912", 0);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  ::unsetenv("ALLOCMON_MAX_QUEUED_BYTES");
  auto& micro = reporter.results;
  results["micro"] = micro;

  std::printf("\nallocmon benchmark — %s, %ld cores\n\n", cpu_model().c_str(),
              ::sysconf(_SC_NPROCESSORS_ONLN));
  std::printf(
      "Client cost per event (ns; median / p99 over 15 repetitions of 200k iterations per thread). wall: the "
      "time\n"
      "each calling thread sees, including time it waited for a core; cpu: the calling thread's CPU time, "
      "the\n"
      "hot path's own cost (the shipper and the server run on the other core meanwhile)\n");
  std::printf("%-8s %-22s %-9s %-22s %-9s %-24s %-16s %s\n", "threads", "tracked pair: wall", "cpu",
              "single event: wall", "cpu", "disabled (C call/inline)", "baseline: PoC",
              "baseline / allocmon");
  for (int threads : {1, 2, 4, 8}) {
    auto& pair = micro["BM_TrackedPair"][threads];
    auto& single = micro["BM_TrackedSingle"][threads];
    auto& off = micro["BM_DisabledPairCAbi"][threads];
    auto& inl = micro["BM_DisabledPairCInline"][threads];
    auto& poc = micro["BM_BaselinePocPair"][threads];
    char a[64], b[64], c[64], d[64], e[64], f[64];
    std::snprintf(a, sizeof(a), "%.1f / %.1f", pair["median_ns"], pair["p99_ns"]);
    std::snprintf(b, sizeof(b), "%.1f", pair["median_cpu_ns"]);
    std::snprintf(c, sizeof(c), "%.1f / %.1f", single["median_ns"], single["p99_ns"]);
    std::snprintf(d, sizeof(d), "%.1f", single["median_cpu_ns"]);
    std::snprintf(e, sizeof(e), "%.2f / %.2f", off["median_ns"], inl["median_ns"]);
    std::snprintf(f, sizeof(f), "%.0f / %.0f", poc["median_ns"], poc["p99_ns"]);
    std::printf("%-8d %-22s %-9s %-22s %-9s %-24s %-16s %.0fx\n", threads, a, b, c, d, e, f,
                poc["median_ns"] / pair["median_ns"]);
  }
  {
    auto& plain = micro["BM_TrackedPair"][1];
    auto& scoped = micro["BM_TrackedPairInScope"][1];
    std::printf(
        "with a scope and an op in force (1 thread): %.1f ns wall, %.1f ns cpu per event; without: %.1f / "
        "%.1f (ratio %.2f cpu)\n",
        scoped["median_ns"], scoped["median_cpu_ns"], plain["median_ns"], plain["median_cpu_ns"],
        scoped["median_cpu_ns"] / plain["median_cpu_ns"]);
  }
  if (micro_only) return 0;
  const double one = micro["BM_TrackedPair"][1]["median_ns"];
  const double one_cpu = micro["BM_TrackedPair"][1]["median_cpu_ns"];
  const double eight = micro["BM_TrackedPair"][8]["median_ns"];
  const double ratio = micro["BM_BaselinePocPair"][1]["median_ns"] / one;
  const double disabled = micro["BM_DisabledPairCInline"][1]["median_ns"];
  const double disabled_call = micro["BM_DisabledPairCAbi"][1]["median_ns"];

  // ---- server ----
  std::fprintf(stderr, "running the load generator...\n");
  json ingest = json::array();
  std::printf(
      "\nServer ingest (events applied per second; lost = reported - applied after every flush barrier)\n");
  std::printf("%-36s %10s %14s %14s %8s\n", "source", "producers", "events", "events/s", "lost");
  double raw_rate = 0;
  uint64_t lost16 = 0;
  for (auto [mode, producers, per] : {std::tuple{"raw", 1, 16000000ull}, std::tuple{"raw", 4, 4000000ull},
                                      std::tuple{"pairs", 1, 8000000ull}, std::tuple{"pairs", 4, 2000000ull},
                                      std::tuple{"pairs", 16, 500000ull}}) {
    auto r = measure_ingest(self, server, mode, producers, per);
    const char* label =
        std::string(mode) == "raw" ? "pre-encoded stream (server alone)" : "client library, alloc+free pairs";
    std::printf("%-36s %10d %14llu %14.0f %8llu\n", label, producers,
                static_cast<unsigned long long>(r.events_applied), r.events_per_second,
                static_cast<unsigned long long>(r.lost));
    ingest.push_back({{"source", mode},
                      {"producers", producers},
                      {"events_reported", r.events_reported},
                      {"events_applied", r.events_applied},
                      {"lost", r.lost},
                      {"seconds", r.seconds},
                      {"events_per_second", r.events_per_second}});
    if (std::string(mode) == "raw") raw_rate = std::max(raw_rate, r.events_per_second);
    if (producers == 16) lost16 = r.lost;
  }
  results["ingest"] = ingest;

  // The same server-alone ingest with --record: what recording to SQLite costs the event loop.
  double recorded_rate = 0;
  {
    const std::string db = "/tmp/allocmon-bench-" + std::to_string(::getpid()) + ".sqlite";
    BenchServer recording(dir + "/allocation_server", socket + ".rec", {"--record", db});
    auto r = measure_ingest(self, recording, "raw", 4, 1000000ull);
    recorded_rate = r.events_per_second;
    std::printf("%-36s %10d %14llu %14.0f %8llu   (%.2fx the rate without recording)\n",
                "pre-encoded stream, --record SQLite", 4, static_cast<unsigned long long>(r.events_applied),
                r.events_per_second, static_cast<unsigned long long>(r.lost), r.events_per_second / raw_rate);
    ::unlink(db.c_str());
    ::unlink((db + "-wal").c_str());
    ::unlink((db + "-shm").c_str());
  }
  results["ingest_recording"] = {{"events_per_second", recorded_rate},
                                 {"ratio_to_unrecorded", recorded_rate / raw_rate}};

  const MemoryFigures mem = measure_memory(self, dir, socket);
  const double bytes_10m = mem.bytes_10m, snapshot_1m = mem.snapshot_1m;
  json memory = mem.rows;
  results["memory"] = memory;

  auto vis = measure_visibility(self, server, 2, 300);
  std::printf(
      "\nEvent to visibility in a snapshot, under load from 2 producers at ~1 M events/s each: p50 %.2f ms, "
      "p99 %.2f ms (%d samples)\n",
      vis.p50_ms, vis.p99_ms, vis.samples);
  results["visibility"] = {{"p50_ms", vis.p50_ms}, {"p99_ms", vis.p99_ms}, {"samples", vis.samples}};

  std::fprintf(stderr, "measuring one process end to end...\n");
  const EndToEnd e2e = measure_end_to_end(self, server);
  print_end_to_end(e2e);
  results["end_to_end"] = {{"client_events_per_second", e2e.client_events_per_second},
                           {"baseline_events_per_second", e2e.baseline_events_per_second},
                           {"ratio", e2e.client_events_per_second / e2e.baseline_events_per_second},
                           {"client_lost", e2e.client_lost}};

  std::fprintf(stderr, "measuring tt-metal region polling...\n");
  auto shm = measure_tt_shm_polling(dir + "/allocation_server", 32, 250, 20.0);
  print_shm_polling(shm);
  results["tt_shm_polling"] = shm_polling_json(shm);

  std::printf("\nTargets\n");
  std::printf("  tracked event, 1 thread   <= 25 ns : %6.1f ns  %s (wall)\n", one, verdict(one <= 25));
  std::printf("  ... its CPU time          <= 5 ns  : %6.1f ns  %s\n", one_cpu, verdict(one_cpu <= 5));
  std::printf(
      "  tracked event, 8 threads  <= 50 ns : %6.1f ns  %s (wall time per thread; 8 threads on %ld cores)\n",
      eight, verdict(eight <= 50), ::sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("  vs baseline               >= 20x   : %6.0fx    %s\n", ratio, verdict(ratio >= 20));
  std::printf(
      "  disabled call             <= 2 ns  : %6.2f ns  %s (inline check; an out-of-line C call: %.2f ns)\n",
      disabled, verdict(disabled <= 2), disabled_call);
  std::printf("  server ingest, one core   >= 10 M/s: %6.1f M/s %s\n", raw_rate / 1e6,
              verdict(raw_rate >= 10e6));
  std::printf("  lost at 16 producers      == 0     : %6llu     %s\n",
              static_cast<unsigned long long>(lost16), verdict(lost16 == 0));
  std::printf("  bytes per live buffer @10M <= 96   : %6.1f     %s\n", bytes_10m, verdict(bytes_10m <= 96));
  std::printf("  snapshot @1M live          <= 5 ms : %6.3f ms  %s\n", snapshot_1m,
              verdict(snapshot_1m <= 5));
  std::printf("  leak report @1M live     <= 200 ms : %6.0f ms  %s\n", mem.leaks_1m_ms,
              verdict(mem.leaks_1m_ms <= 200));
  std::printf("  leak report @10M live      <= 2 s  : %6.2f s   %s\n", mem.leaks_10m_ms / 1000,
              verdict(mem.leaks_10m_ms <= 2000));
  std::printf("  event-to-visibility p99   <= 10 ms : %6.2f ms  %s\n", vis.p99_ms, verdict(vis.p99_ms <= 10));
  std::printf("  32 regions polled @250 ms  < 1%% core: %5.3f %%   %s\n", shm.server_core_percent,
              verdict(shm.server_core_percent < 1.0));
  std::printf("  one process end to end   >= 15 M/s: %6.1f M/s %s\n", e2e.client_events_per_second / 1e6,
              verdict(e2e.client_events_per_second >= 15e6));
  std::printf("  ... vs blocking send, e2e >= 20x   : %6.1fx    %s\n",
              e2e.client_events_per_second / e2e.baseline_events_per_second,
              verdict(e2e.client_events_per_second >= 20 * e2e.baseline_events_per_second));

  std::ofstream(out_path) << results.dump(2) << "\n";
  std::printf("\nwrote %s\n", out_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A failed measurement unwinds, so the servers and producers it started are stopped, not left running.
  try {
    return run_benchmarks(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allocmon_bench: %s\n", e.what());
    return 1;
  }
}
