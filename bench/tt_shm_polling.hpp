// What reading tt-metal's shared-memory regions costs the server: one polling round of a Galaxy's 32 regions
// measured in-process, and a real allocation_server's CPU time while it polls them, beside the same server
// with no polled sources (the baseline).
#pragma once

#include <string>

namespace allocmon::bench {

struct ShmPollingResult {
  int regions = 0;
  double round_us_p50 = 0;  // one TtShmSource::poll() of every region, in-process
  double round_us_p99 = 0;
  int interval_ms = 0;
  double server_core_percent = 0;    // allocation_server's CPU time / wall time while polling
  double baseline_core_percent = 0;  // the same server with --clients-only
  double seconds = 0;
};

ShmPollingResult measure_tt_shm_polling(const std::string& server_binary, int regions, int interval_ms,
                                        double seconds);

}  // namespace allocmon::bench
