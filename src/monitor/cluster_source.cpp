#include "cluster_source.hpp"

#include <httplib.h>

#include <stdexcept>

namespace allocmon::monitor {

namespace {

// scheme://host[:port] and the path after it (a Prometheus behind a prefix: http://proxy/prometheus).
std::pair<std::string, std::string> split_url(const std::string& url) {
  const size_t scheme_end = url.find("://");
  const size_t path_at = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_at == std::string::npos) return {url, ""};
  std::string prefix = url.substr(path_at);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return {url.substr(0, path_at), prefix};
}

}  // namespace

std::string prometheus_url_problem(const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return "--prometheus wants http://HOST:PORT or https://HOST:PORT (a Prometheus server), not '" + url +
           "'";
  if (split_url(url).first.size() <= url.find("://") + 3) return "--prometheus: no host in '" + url + "'";
  return {};
}

ClusterSource::ClusterSource(const std::string& url, std::string job) : url_(url), job_(std::move(job)) {
  auto [origin, prefix] = split_url(url);
  prefix_ = prefix;
  http_ = std::make_unique<httplib::Client>(origin);
  http_->set_connection_timeout(2, 0);
  http_->set_read_timeout(5, 0);
}

ClusterSource::~ClusterSource() = default;

std::optional<nlohmann::json> ClusterSource::query(const std::string& promql, std::string* error) {
  auto reply = http_->Get(prefix_ + "/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
  if (!reply) {
    *error = "Prometheus at " + url_ + ": " + httplib::to_string(reply.error());
    return std::nullopt;
  }
  auto body = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    *error = "Prometheus at " + url_ + " answered HTTP " + std::to_string(reply->status) + " without JSON";
    return std::nullopt;
  }
  return body;  // an error reply is JSON too: build_cluster names it
}

std::optional<Cluster> ClusterSource::poll(std::string* error) {
  const std::string job = "job=\"" + job_ + "\"";
  const std::string window = std::string("[") + kClusterMemory + "])";
  auto up = query("up{" + job + "}", error);
  if (!up) return std::nullopt;
  auto info = query("last_over_time(allocmon_device_info{" + job + "}" + window, error);
  if (!info) return std::nullopt;
  auto allocated =
      query("last_over_time(allocmon_device_allocated_bytes{" + job + ",type=~\"DRAM|L1\"}" + window, error);
  if (!allocated) return std::nullopt;
  auto capacity =
      query("last_over_time(allocmon_device_capacity_bytes{" + job + ",type=~\"DRAM|L1\"}" + window, error);
  if (!capacity) return std::nullopt;
  try {
    return build_cluster(*up, *info, *allocated, *capacity);
  } catch (const std::exception& e) {
    *error = "Prometheus at " + url_ + ": " + e.what();
    return std::nullopt;
  }
}

}  // namespace allocmon::monitor
