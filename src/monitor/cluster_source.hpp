// Reads the cluster from a Prometheus server's HTTP API: four instant queries per refresh (up, device info,
// DRAM/L1 bytes and capacities, each the last value within a window so a host that went down keeps its last
// values and stays listed).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cluster_model.hpp"

namespace httplib {
class Client;
}

namespace allocmon::monitor {

// How long a host that stopped answering stays listed, with its last values (Prometheus range selector).
inline constexpr const char* kClusterMemory = "1h";

class ClusterSource {
 public:
  // `url`: http[s]://HOST[:PORT][/PREFIX] of the Prometheus server; `job`: the scrape job of the servers.
  ClusterSource(const std::string& url, std::string job);
  ~ClusterSource();
  std::optional<Cluster> poll(std::string* error);
  const std::string& url() const { return url_; }

 private:
  std::optional<nlohmann::json> query(const std::string& promql, std::string* error);

  std::string url_, prefix_, job_;
  std::unique_ptr<httplib::Client> http_;
};

// Empty when `url` can be a Prometheus address, else why not (for the command line).
std::string prometheus_url_problem(const std::string& url);

}  // namespace allocmon::monitor
