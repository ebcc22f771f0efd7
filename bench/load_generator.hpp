// The multi-process load generator's measurements (see load_generator.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "bench_server.hpp"

namespace allocmon::bench {

struct IngestResult {
  int producers = 0;
  uint64_t events_reported = 0;
  uint64_t events_applied = 0;
  uint64_t lost = 0;
  double seconds = 0;
  double events_per_second = 0;
};

struct MemoryResult {
  uint64_t live_buffers = 0;
  uint64_t server_rss_delta = 0;
  double bytes_per_buffer = 0;
  double snapshot_ms_p50 = 0;
  double snapshot_ms_p99 = 0;
  double leak_report_ms_p50 = 0;
};

struct VisibilityResult {
  int samples = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

// mode: "pairs" (through the client library) or "raw" (pre-encoded frames straight to the socket).
IngestResult measure_ingest(const std::string& self, BenchServer& server, const std::string& mode,
                            int producers, uint64_t events_per_producer);
MemoryResult measure_memory_per_buffer(const std::string& self, BenchServer& server, uint64_t live_buffers);
VisibilityResult measure_visibility(const std::string& self, BenchServer& server, int background_producers,
                                    int samples);
int producer_main(int argc, char** argv);

}  // namespace allocmon::bench
