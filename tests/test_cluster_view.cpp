// The monitor's cluster view from Prometheus replies: hosts, chips as meshes, hosts down, and what fits.
#include <gtest/gtest.h>

#include <regex>

#include "monitor/cluster_model.hpp"
#include "monitor/cluster_view.hpp"

using namespace allocmon::monitor;
using nlohmann::json;

namespace {

json reply(json result) {
  return {{"status", "success"}, {"data", {{"resultType", "vector"}, {"result", std::move(result)}}}};
}

json sample(json metric, double value) {
  return {{"metric", std::move(metric)}, {"value", {1.0, std::to_string(value)}}};
}

// Two 2x4 hosts ("t3k-a" up, "t3k-b" down) and an instance Prometheus never scraped.
Cluster two_t3000s() {
  json up = json::array(), info = json::array(), bytes = json::array(), capacity = json::array();
  up.push_back(sample({{"instance", "a:9464"}, {"job", "allocmon"}}, 1));
  up.push_back(sample({{"instance", "b:9464"}, {"job", "allocmon"}}, 0));
  up.push_back(sample({{"instance", "c:9464"}, {"job", "allocmon"}}, 0));
  for (const char* host : {"a", "b"})
    for (int d = 0; d < 8; ++d) {
      const std::string instance = std::string(host) + ":9464";
      const json labels = {
          {"instance", instance}, {"host", std::string("t3k-") + host}, {"device", std::to_string(d)}};
      json info_labels = labels;
      info_labels["mesh_row"] = std::to_string(1 - d / 4);  // laid out bottom row first: sorting must fix it
      info_labels["mesh_col"] = std::to_string(d % 4);
      info_labels["architecture"] = "wormhole_b0";
      info.push_back(sample(info_labels, 1));
      json dram = labels, l1 = labels;
      dram["type"] = "DRAM";
      l1["type"] = "L1";
      bytes.push_back(sample(dram, d == 5 ? 950 : 100));
      bytes.push_back(sample(l1, 10));
      capacity.push_back(sample(dram, 1000));
      capacity.push_back(sample(l1, 100));
    }
  return build_cluster(reply(up), reply(info), reply(bytes), reply(capacity));
}

int count(const std::string& text, const std::regex& pattern) {
  return static_cast<int>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), pattern), std::sregex_iterator()));
}

}  // namespace

TEST(ClusterModel, HostsChipsAndWhoIsDown) {
  const Cluster c = two_t3000s();
  ASSERT_EQ(c.hosts.size(), 3u);
  EXPECT_EQ(c.hosts[0].name, "c:9464");  // no series of its own: named by its instance
  EXPECT_EQ(c.hosts[1].name, "t3k-a");
  EXPECT_EQ(c.hosts[2].name, "t3k-b");
  EXPECT_TRUE(c.hosts[1].up);
  EXPECT_FALSE(c.hosts[2].up);
  EXPECT_EQ(c.chips(), 16u);
  EXPECT_EQ(c.hosts_down(), 2u);
  const ClusterHost& a = c.hosts[1];
  EXPECT_EQ(a.rows, 2);
  EXPECT_EQ(a.cols, 4);
  EXPECT_EQ(a.chips.front().device, 4);  // mesh (0, 0)
  EXPECT_EQ(a.at(1, 1)->device, 1);
  EXPECT_EQ(a.dram(), 7 * 100u + 950u);
  EXPECT_EQ(a.fullest_dram()->device, 5);
  const json document = cluster_json(c, "http://p:9090");
  EXPECT_EQ(document["chips"], 16);
  EXPECT_EQ(document["hosts"][2]["up"], false);
  EXPECT_EQ(document["hosts"][1]["chips"][0]["DRAM"]["capacity"], 1000);
}

TEST(ClusterModel, AnErrorReplyIsNamed) {
  const json error = {{"status", "error"}, {"errorType", "bad_data"}, {"error", "parse error at char 3"}};
  try {
    build_cluster(error, reply(json::array()), reply(json::array()), reply(json::array()));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("parse error at char 3"), std::string::npos);
  }
}

TEST(ClusterView, MeshesWhenTheyFitOneLinePerHostWhenNot) {
  const Cluster c = two_t3000s();
  ClusterViewState state;
  state.url = "http://p:9090";
  const std::regex wide(R"(\b\d D +\d+% L +\d+%)"), compact(R"(\b\d +\d+%(?! L))");
  const std::string big = plain_text(render_cluster(c, state, 120, 40));
  EXPECT_EQ(count(big, wide), 16) << big;
  EXPECT_NE(big.find("t3k-b          DOWN"), std::string::npos) << big;
  EXPECT_NE(big.find("5 D 95% L 10%"), std::string::npos) << big;
  const std::string narrow = plain_text(render_cluster(c, state, 40, 40));
  EXPECT_EQ(count(narrow, compact), 16) << narrow;
  const std::string short_screen = plain_text(render_cluster(c, state, 80, 8));
  EXPECT_EQ(count(short_screen, compact) + count(short_screen, wide), 0) << short_screen;
  EXPECT_NE(short_screen.find("t3k-a"), std::string::npos);
  for (int width : {40, 60, 80, 120}) {
    std::istringstream lines(plain_text(render_cluster(c, state, width, 40)));
    for (std::string line; std::getline(lines, line);)
      EXPECT_LE(static_cast<int>(line.size()), width) << line;
  }
  state.opened = "t3k-a";  // Enter: that host's mesh, even on the short screen
  const std::string opened = plain_text(render_cluster(c, state, 80, 8));
  EXPECT_EQ(count(opened, compact) + count(opened, wide), 8) << opened;
  EXPECT_EQ(opened.find("t3k-b"), std::string::npos);
  // With room, the opened host's chips in bytes, the fullest first.
  const std::string tall = plain_text(render_cluster(c, state, 80, 30));
  const size_t list = tall.find("fullest chips");
  ASSERT_NE(list, std::string::npos) << tall;
  EXPECT_NE(tall.find("chip 5          (0,1)   950 B/1000 B 95%", list), std::string::npos) << tall;
  EXPECT_EQ(count(tall.substr(list), std::regex(R"(\n  chip \d)")), 8) << tall;
}
