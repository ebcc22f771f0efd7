// The cluster as a Prometheus server sees it (allocation_monitor_client --prometheus URL): every host that
// runs an allocation server, its chips laid out as its mesh, DRAM and L1 per chip. Built from the replies of
// four instant queries (cluster_source.cpp asks them); pure, unit-tested.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace allocmon::monitor {

struct ClusterChip {
  int device = 0;
  int mesh_row = -1, mesh_col = -1;  // -1: the runtime gave no position
  std::string architecture;
  uint64_t dram = 0, dram_capacity = 0;
  uint64_t l1 = 0, l1_capacity = 0;
};

struct ClusterHost {
  std::string name;        // the series' `host` label (--metrics-host-label), else the scrape instance
  std::string instance;    // host:port Prometheus scrapes
  bool up = false;         // the last scrape worked; a host that stopped answering keeps its last values
  int rows = 0, cols = 0;  // the mesh the chips' positions span (0: none known)
  std::vector<ClusterChip> chips;  // by mesh position, then device id

  uint64_t sum(uint64_t ClusterChip::*field) const;  // over the host's chips
  uint64_t dram() const { return sum(&ClusterChip::dram); }
  uint64_t dram_capacity() const { return sum(&ClusterChip::dram_capacity); }
  uint64_t l1() const { return sum(&ClusterChip::l1); }
  uint64_t l1_capacity() const { return sum(&ClusterChip::l1_capacity); }
  const ClusterChip* fullest_dram() const;  // the chip with the highest DRAM share (null: none)
  const ClusterChip* at(int row, int col) const;
};

struct Cluster {
  std::vector<ClusterHost> hosts;  // by name
  size_t chips() const;
  size_t hosts_down() const;
};

// The replies (Prometheus's /api/v1/query JSON) of: up{job}, last_over_time(allocmon_device_info[...]),
// last_over_time(allocmon_device_allocated_bytes{type=~"DRAM|L1"}[...]) and the same of capacity. Throws
// std::runtime_error naming what is wrong in a reply that is not a vector result.
Cluster build_cluster(const nlohmann::json& up, const nlohmann::json& info, const nlohmann::json& allocated,
                      const nlohmann::json& capacity);

// --json: schema allocmon.cluster/1 (docs/cluster.md).
nlohmann::json cluster_json(const Cluster& cluster, const std::string& prometheus_url);

}  // namespace allocmon::monitor
