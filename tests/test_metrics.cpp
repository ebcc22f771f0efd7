// /metrics text: the labels dashboards join on and the cardinality budget a 32-chip host must hold.
#include <gtest/gtest.h>

#include <sstream>

#include "server/metrics.hpp"

using namespace allocmon;
using namespace allocmon::server;

namespace {

wire::RegisterDevice galaxy_chip(int id) {
  wire::RegisterDevice r{};
  r.device_id = id;
  r.mesh_row = id / 8;
  r.mesh_col = id % 8;
  for (int t = 0; t < wire::kNumMemoryTypes; ++t) r.capacity[t] = 1ull << 30;
  std::strcpy(r.architecture, "wormhole_b0");
  return r;
}

wire::Event alloc(int dev, int type, uint64_t size, uint64_t id) {
  return {id, size, id * 64, dev, static_cast<uint8_t>(wire::EventKind::kAlloc), static_cast<uint8_t>(type),
          0};
}

size_t series_count(const std::string& text) {
  std::istringstream lines(text);
  size_t n = 0;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') ++n;
  return n;
}

// The worst case the budget is stated for: a Galaxy host, every process holding every memory type on every
// chip.
Accounting busy_galaxy_host(int processes) {
  Accounting a;
  for (int p = 1; p <= processes; ++p) {
    a.add_client(p, 1000 + p, 0, "worker" + std::to_string(p));
    for (int d = 0; d < 32; ++d) {
      a.register_device(p, galaxy_chip(d));
      for (int t = 0; t < wire::kNumMemoryTypes; ++t)
        EXPECT_EQ(a.apply(p, alloc(d, t, 4096u * p, d * 16 + t + 1), 0).problem, EventProblem::kNone);
    }
  }
  return a;
}

}  // namespace

TEST(Metrics, EverySeriesCarriesTheHostLabel) {
  Accounting a;
  a.add_client(1, 42, 0, "python3");
  a.register_device(1, galaxy_chip(9));
  ASSERT_EQ(a.apply(1, alloc(9, ALLOCMON_DRAM, 123, 1), 0).problem, EventProblem::kNone);
  MetricsOptions options;
  options.host = "galaxy-\"7\"";
  options.max_processes = kDefaultMetricsProcessCap;
  const std::string text = prometheus_text(a, {}, options);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') {
      EXPECT_NE(line.find("host=\"galaxy-\\\"7\\\"\"}"), std::string::npos) << line;
    }
  EXPECT_NE(text.find("allocmon_device_allocated_bytes{device=\"9\",source=\"allocmon\",type=\"DRAM\",host="),
            std::string::npos);
}

TEST(Metrics, DeviceInfoGivesMeshPositionAndArchitecture) {
  Accounting a;
  a.add_client(1, 42, 0, "python3");
  a.register_device(1, galaxy_chip(13));
  const std::string text = prometheus_text(a, {}, MetricsOptions{0, "h1"});
  EXPECT_NE(text.find("allocmon_device_info{device=\"13\",source=\"allocmon\",architecture=\"wormhole_b0\","
                      "mesh_row=\"1\",mesh_col=\"5\",host=\"h1\"} 1\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, ProcessBytesPerTypeSumOverDevices) {
  Accounting a;
  a.add_client(1, 42, 0, "python3");
  a.register_device(1, galaxy_chip(0));
  a.register_device(1, galaxy_chip(1));
  ASSERT_EQ(a.apply(1, alloc(0, ALLOCMON_L1, 100, 1), 0).problem, EventProblem::kNone);
  ASSERT_EQ(a.apply(1, alloc(1, ALLOCMON_L1, 28, 2), 0).problem, EventProblem::kNone);
  ASSERT_EQ(a.apply(1, alloc(1, ALLOCMON_DRAM, 5, 3), 0).problem, EventProblem::kNone);
  const std::string with = prometheus_text(a, {}, MetricsOptions{kDefaultMetricsProcessCap, "h"});
  EXPECT_NE(
      with.find("allocmon_process_type_bytes{pid=\"42\",name=\"python3\",source=\"allocmon\",type=\"L1\","
                "host=\"h\"} 128\n"),
      std::string::npos)
      << with;
  EXPECT_NE(with.find("type=\"DRAM\",host=\"h\"} 5\n"), std::string::npos);
  // Totals only by default: nothing names a process.
  const std::string without = prometheus_text(a, {}, MetricsOptions{0, "h"});
  EXPECT_EQ(without.find("pid="), std::string::npos);
}

TEST(Metrics, GalaxyHostStaysUnderTheCardinalityBudget) {
  const Accounting a = busy_galaxy_host(200);
  const size_t totals = series_count(prometheus_text(a, {}, MetricsOptions{0, "h"}));
  const size_t with_processes =
      series_count(prometheus_text(a, {}, MetricsOptions{kDefaultMetricsProcessCap, "h"}));
  RecordProperty("series_totals", static_cast<int>(totals));
  RecordProperty("series_with_processes", static_cast<int>(with_processes));
  EXPECT_LE(totals, kSeriesBudgetTotals);
  EXPECT_LE(with_processes, kSeriesBudgetWithProcesses);
  // The cap is what holds it: the 136 smallest holders are one pid="other" row per device and type.
  EXPECT_GT(with_processes, totals + 64 * 32);
  const std::string text = prometheus_text(a, {}, MetricsOptions{kDefaultMetricsProcessCap, "h"});
  EXPECT_NE(
      text.find("allocmon_process_allocated_bytes{pid=\"other\",name=\"other\",device=\"31\",host=\"h\"}"),
      std::string::npos);
}
