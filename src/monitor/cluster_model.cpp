#include "cluster_model.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace allocmon::monitor {

namespace {

using nlohmann::json;

const json& vector_result(const json& reply, const char* what) {
  if (!reply.is_object() || reply.value("status", "") != "success")
    throw std::runtime_error(std::string(what) + ": " +
                             (reply.is_object() ? reply.value("error", "query failed") : "not a reply"));
  const json& data = reply.at("data");
  if (data.value("resultType", "") != "vector")
    throw std::runtime_error(std::string(what) + ": not an instant vector");
  return data.at("result");
}

std::string label(const json& sample, const char* name) {
  const json& metric = sample.at("metric");
  auto it = metric.find(name);
  return it != metric.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int int_label(const json& sample, const char* name, int fallback) {
  try {
    const std::string text = label(sample, name);
    return text.empty() ? fallback : std::stoi(text);
  } catch (const std::exception&) {
    return fallback;
  }
}

uint64_t value_of(const json& sample) {
  // ["<unix time>", "<value>"]; values are decimal text (bytes fit a double exactly below 2^53)
  try {
    const double v = std::stod(sample.at("value").at(1).get<std::string>());
    return v > 0 ? static_cast<uint64_t>(v) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

uint64_t ClusterHost::sum(uint64_t ClusterChip::*field) const {
  uint64_t total = 0;
  for (const auto& c : chips) total += c.*field;
  return total;
}

const ClusterChip* ClusterHost::fullest_dram() const {
  const ClusterChip* best = nullptr;
  double best_share = -1;
  for (const auto& c : chips) {
    const double share =
        c.dram_capacity ? static_cast<double>(c.dram) / static_cast<double>(c.dram_capacity) : 0;
    if (share > best_share) best_share = share, best = &c;
  }
  return best;
}

const ClusterChip* ClusterHost::at(int row, int col) const {
  for (const auto& c : chips)
    if (c.mesh_row == row && c.mesh_col == col) return &c;
  return nullptr;
}

size_t Cluster::chips() const {
  size_t n = 0;
  for (const auto& h : hosts) n += h.chips.size();
  return n;
}

size_t Cluster::hosts_down() const {
  return static_cast<size_t>(
      std::count_if(hosts.begin(), hosts.end(), [](const ClusterHost& h) { return !h.up; }));
}

Cluster build_cluster(const json& up, const json& info, const json& allocated, const json& capacity) {
  // Hosts are known by their scrape instance (what `up` has); the host label names them.
  std::map<std::string, ClusterHost> by_instance;
  for (const json& s : vector_result(up, "up")) {
    ClusterHost& h = by_instance[label(s, "instance")];
    h.instance = label(s, "instance");
    h.up = value_of(s) == 1;
  }
  std::map<std::pair<std::string, int>, ClusterChip> chips;  // (instance, device)
  for (const json& s : vector_result(info, "allocmon_device_info")) {
    const std::string instance = label(s, "instance");
    ClusterHost& h = by_instance[instance];
    h.instance = instance;
    if (h.name.empty()) h.name = label(s, "host");
    ClusterChip& c = chips[{instance, int_label(s, "device", -1)}];
    c.device = int_label(s, "device", -1);
    c.mesh_row = int_label(s, "mesh_row", -1);
    c.mesh_col = int_label(s, "mesh_col", -1);
    c.architecture = label(s, "architecture");
  }
  const auto apply = [&](const json& reply, const char* what, bool is_capacity) {
    for (const json& s : vector_result(reply, what)) {
      auto it = chips.find({label(s, "instance"), int_label(s, "device", -1)});
      if (it == chips.end()) continue;  // a device without its info series: not laid out
      const std::string type = label(s, "type");
      ClusterChip& c = it->second;
      uint64_t* field = type == "DRAM" ? (is_capacity ? &c.dram_capacity : &c.dram)
                        : type == "L1" ? (is_capacity ? &c.l1_capacity : &c.l1)
                                       : nullptr;
      if (field) *field = value_of(s);
    }
  };
  apply(allocated, "allocmon_device_allocated_bytes", false);
  apply(capacity, "allocmon_device_capacity_bytes", true);
  for (auto& [key, chip] : chips) by_instance[key.first].chips.push_back(chip);

  Cluster cluster;
  for (auto& [instance, h] : by_instance) {
    if (h.name.empty()) h.name = instance;
    std::sort(h.chips.begin(), h.chips.end(), [](const ClusterChip& a, const ClusterChip& b) {
      return std::tie(a.mesh_row, a.mesh_col, a.device) < std::tie(b.mesh_row, b.mesh_col, b.device);
    });
    for (const auto& c : h.chips) {
      h.rows = std::max(h.rows, c.mesh_row + 1);
      h.cols = std::max(h.cols, c.mesh_col + 1);
    }
    cluster.hosts.push_back(std::move(h));
  }
  std::sort(cluster.hosts.begin(), cluster.hosts.end(),
            [](const ClusterHost& a, const ClusterHost& b) { return a.name < b.name; });
  return cluster;
}

json cluster_json(const Cluster& cluster, const std::string& prometheus_url) {
  json hosts = json::array();
  for (const auto& h : cluster.hosts) {
    json chips = json::array();
    for (const auto& c : h.chips)
      chips.push_back({{"device", c.device},
                       {"mesh_row", c.mesh_row},
                       {"mesh_col", c.mesh_col},
                       {"architecture", c.architecture},
                       {"DRAM", {{"allocated", c.dram}, {"capacity", c.dram_capacity}}},
                       {"L1", {{"allocated", c.l1}, {"capacity", c.l1_capacity}}}});
    hosts.push_back({{"host", h.name},
                     {"instance", h.instance},
                     {"up", h.up},
                     {"mesh", {{"rows", h.rows}, {"cols", h.cols}}},
                     {"DRAM", {{"allocated", h.dram()}, {"capacity", h.dram_capacity()}}},
                     {"L1", {{"allocated", h.l1()}, {"capacity", h.l1_capacity()}}},
                     {"chips", chips}});
  }
  return {{"schema", "allocmon.cluster/1"},
          {"prometheus", prometheus_url},
          {"chips", cluster.chips()},
          {"hosts_down", cluster.hosts_down()},
          {"hosts", hosts}};
}

}  // namespace allocmon::monitor
