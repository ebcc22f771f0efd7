// The holders view's table (src/monitor/holders_view.cpp): grouping a leak report's buffers by scope, op,
// site and tensor, the device and memory-type filters, the sort orders, the text at 200, 80 and 60 columns,
// and the address map labelled by holder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "monitor/holders_view.hpp"

using namespace allocmon;
using namespace allocmon::monitor;

namespace {

constexpr uint8_t kDram = 0, kL1 = 1;

// A 2x4 mesh's worth of buffers from one process: per device, a 1 MiB DRAM tensor in
// model/decoder.3/attention (ttnn.matmul at model.py:57), a 256 KiB DRAM tensor in model/embed
// (ttnn.from_torch at model.py:12), a 64 KiB L1 buffer in model/decoder.3/attention (ttnn.matmul, same site),
// and 32 KiB of DRAM outside any scope.
LeakReport mesh_report() {
  LeakReport report;
  report.time_unix_ms = 1795000000000;
  report.contexts[1] = {"model/decoder.3/attention", "ttnn.matmul", "model.py:57"};
  report.contexts[2] = {"model/embed", "ttnn.from_torch", "model.py:12"};
  LeakReport::Process p;
  p.pid = 4711;
  p.name = "python3";
  uint64_t id = 1, seq = 1;
  auto add = [&](int device, uint8_t type, uint64_t size, uint64_t address, uint32_t context) {
    p.buffers.push_back({id++, size, address, 100, device, type, 1, 0, 2048, 0});
    p.origins.push_back({context, 0, context ? seq++ : 0});
  };
  for (int device = 0; device < 8; ++device) {
    add(device, kDram, 1 << 20, 0x100000, 1);
    add(device, kDram, 256 << 10, 0x200000, 2);
    add(device, kL1, 64 << 10, 0x40000, 1);
    add(device, kDram, 32 << 10, 0x20, 0);
  }
  report.processes.push_back(std::move(p));
  return report;
}

std::vector<std::string> names(const HolderTable& table) {
  std::vector<std::string> out;
  for (const auto& r : table.rows) out.push_back(r.name);
  return out;
}

}  // namespace

TEST(Holders, ByScopeAcrossTheMeshLargestFirst) {
  const HolderTable t = build_holders(mesh_report(), {HolderGroup::kScope, HolderSort::kBytes, {}, ""});
  ASSERT_EQ(names(t), (std::vector<std::string>{"model/decoder.3/attention", "model/embed", "(no scope)"}));
  EXPECT_EQ(t.rows[0].bytes, 8u * ((1 << 20) + (64 << 10)));
  EXPECT_EQ(t.rows[0].buffers, 16u);
  EXPECT_EQ(t.rows[0].devices, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(t.rows[0].most_on_one, uint64_t{(1 << 20) + (64 << 10)});
  EXPECT_EQ(t.rows[1].bytes, 8u * (256 << 10));
  EXPECT_TRUE(t.rows[2].unattributed);
  EXPECT_FALSE(t.rows[0].unattributed);
  EXPECT_EQ(t.bytes, 8u * ((1 << 20) + (256 << 10) + (64 << 10) + (32 << 10)));
  EXPECT_EQ(t.buffers, 32u);
  EXPECT_EQ(t.unattributed_bytes, 8u * (32 << 10));
  EXPECT_EQ(t.devices.size(), 8u);
}

TEST(Holders, OneDeviceAndOneMemoryType) {
  const HolderTable l1 = build_holders(mesh_report(), {HolderGroup::kOp, HolderSort::kBytes, {3}, "L1"});
  ASSERT_EQ(names(l1), std::vector<std::string>{"ttnn.matmul"});
  EXPECT_EQ(l1.rows[0].bytes, uint64_t{64 << 10});
  EXPECT_EQ(l1.rows[0].buffers, 1u);
  EXPECT_EQ(l1.rows[0].devices, std::vector<int>{3});
  const HolderTable dram =
      build_holders(mesh_report(), {HolderGroup::kSite, HolderSort::kBytes, {3, 5}, "DRAM"});
  ASSERT_EQ(names(dram), (std::vector<std::string>{"model.py:57", "model.py:12", "(no site)"}));
  EXPECT_EQ(dram.rows[0].bytes, 2u << 20);
  EXPECT_EQ(dram.rows[0].devices, (std::vector<int>{3, 5}));
  EXPECT_TRUE(build_holders(mesh_report(), {HolderGroup::kScope, HolderSort::kBytes, {9}, ""}).rows.empty());
}

TEST(Holders, SortByNameKeepsTheUnattributedLastAndByBuffersCounts) {
  HolderTable t = build_holders(mesh_report(), {HolderGroup::kScope, HolderSort::kName, {}, ""});
  EXPECT_EQ(names(t), (std::vector<std::string>{"model/decoder.3/attention", "model/embed", "(no scope)"}));
  sort_holders(t, HolderSort::kBuffers);  // 16, then 8 and 8 by name ("(" before "m")
  EXPECT_EQ(names(t), (std::vector<std::string>{"model/decoder.3/attention", "(no scope)", "model/embed"}));
  // By bytes the embedding (2 MiB) comes before the unattributed (256 KiB); by name after the attention.
  sort_holders(t, HolderSort::kBytes);
  EXPECT_EQ(names(t), (std::vector<std::string>{"model/decoder.3/attention", "model/embed", "(no scope)"}));
  EXPECT_EQ(t.query.sort, HolderSort::kBytes);
}

TEST(Holders, TensorsAreOneMeshAllocationAcrossDevices) {
  LeakReport report = mesh_report();
  // A second matmul output from the same line at another address (the next iteration), on devices 0 and 1
  // only.
  auto& p = report.processes[0];
  for (int device = 0; device < 2; ++device) {
    p.buffers.push_back({1000u + device, 1 << 20, 0x300000, 5, device, kDram, 1, 0, 2048, 0});
    p.origins.push_back({1, 0, 900u + device});
  }
  const HolderTable t = build_holders(report, {HolderGroup::kTensor, HolderSort::kBytes, {}, ""});
  ASSERT_EQ(t.rows.size(), 5u);  // the two matmul outputs, the embedding, the L1 buffer, the unattributed
  const HolderRow& first = t.rows[0];
  EXPECT_EQ(first.name, "model/decoder.3/attention ttnn.matmul model.py:57");
  EXPECT_EQ(first.buffers, 8u);
  EXPECT_EQ(first.size, uint64_t{1 << 20});
  EXPECT_EQ(first.address, 0x100000u);
  EXPECT_EQ(first.type, "DRAM");
  EXPECT_EQ(first.pid, 4711);
  EXPECT_EQ(t.rows[2].name, "model/embed ttnn.from_torch model.py:12");  // 2 MiB, after the other matmul's
  const auto second =
      std::find_if(t.rows.begin(), t.rows.end(), [](const HolderRow& r) { return r.address == 0x300000; });
  ASSERT_NE(second, t.rows.end());
  EXPECT_EQ(second->devices, (std::vector<int>{0, 1}));
  EXPECT_EQ(second->bytes, 2u << 20);
  EXPECT_EQ(t.rows.back().name, "(unattributed)");
  // Another process's buffer at the same place is its own tensor.
  LeakReport two = mesh_report();
  LeakReport::Process other = two.processes[0];
  other.pid = 4712;
  two.processes.push_back(other);
  EXPECT_EQ(build_holders(two, {HolderGroup::kTensor, HolderSort::kBytes, {}, ""}).rows.size(), 8u);
}

// The tensors of mesh_report() as the emulated mesh describes them (allocmon_tensor_begin).
LeakReport described_report() {
  LeakReport report = mesh_report();
  report.contexts[1].tensor = "bfloat16 TILE [1, 1, 512, 2048] DRAM interleaved, sharded dim 3 over 8";
  report.contexts[2].tensor = "bfloat16 TILE [8, 128, 128] DRAM interleaved, sharded dim 0 over 8";
  return report;
}

TEST(Holders, TensorRowsSayWhatTheTensorIs) {
  const HolderTable t = build_holders(described_report(), {HolderGroup::kTensor, HolderSort::kBytes, {}, ""});
  ASSERT_EQ(t.rows.size(), 4u);  // the matmul's DRAM and L1 buffers (one context), the embedding, the rest
  EXPECT_EQ(t.rows[0].tensor, "bfloat16 TILE [1, 1, 512, 2048] DRAM interleaved, sharded dim 3 over 8");
  EXPECT_EQ(t.rows[0].name, "model/decoder.3/attention ttnn.matmul model.py:57");  // the name is as before
  EXPECT_EQ(t.rows[0].devices, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(t.rows[0].most_on_one, uint64_t{1 << 20});
  EXPECT_EQ(t.rows[1].tensor, "bfloat16 TILE [8, 128, 128] DRAM interleaved, sharded dim 0 over 8");
  EXPECT_EQ(t.rows.back().tensor, "");
  // The same place and context but another description is another tensor.
  LeakReport twice = described_report();
  twice.contexts[3] = twice.contexts[1];
  twice.contexts[3].tensor = "float32 TILE [1, 1, 256, 2048] DRAM interleaved, sharded dim 3 over 8";
  twice.processes[0].origins[0].context = 3;  // device 0's 1 MiB buffer
  EXPECT_EQ(build_holders(twice, {HolderGroup::kTensor, HolderSort::kBytes, {}, ""}).rows.size(), 5u);
  // A description alone (no scope, op or site) is attributed.
  LeakReport bare = mesh_report();
  bare.contexts[1] = {"", "", "", "uint32 TILE [32, 32] L1 interleaved, replicated"};
  const HolderTable only = build_holders(bare, {HolderGroup::kTensor, HolderSort::kBytes, {}, "L1"});
  ASSERT_EQ(only.rows.size(), 1u);
  EXPECT_FALSE(only.rows[0].unattributed);
  EXPECT_EQ(only.rows[0].name, "(no scope, op or site)");
}

TEST(Holders, CompactTensorShortensTtnnWordsOnly) {
  EXPECT_EQ(compact_tensor("bfloat16 TILE [8, 384, 1024] DRAM interleaved, sharded dim 0 over 8"),
            "bf16 [8,384,1024] DRAM dim 0/8");
  EXPECT_EQ(compact_tensor("float32 ROW_MAJOR [32, 64] L1 sharded over 8 cores, replicated"),
            "fp32 RM [32,64] L1 sharded/8 cores repl");
  EXPECT_EQ(
      compact_tensor("bfloat8_b TILE [64, 128] DRAM interleaved, sharded dim 0 over 2 rows, dim 1 over 4 "
                     "columns"),
      "bf8b [64,128] DRAM dim 0/2 rows, dim 1/4 columns");
  EXPECT_EQ(compact_tensor("my own words, [a, b]"), "my own words, [a,b]");
  EXPECT_EQ(compact_tensor(""), "");
}

TEST(Holders, TensorDescriptionsFitTheWidthAfterTheNumbersAndTheName) {
  const HolderTable t = build_holders(described_report(), {HolderGroup::kTensor, HolderSort::kBytes, {}, ""});
  // Without a width limit (--holders): every description whole, in its own column.
  const HolderLines text = holder_lines(t, 0);
  EXPECT_NE(text.heading.find("DESCRIPTION"), std::string::npos) << text.heading;
  EXPECT_NE(text.rows[0].find(" bfloat16 TILE [1, 1, 512, 2048] DRAM interleaved, sharded dim 3 over 8 "),
            std::string::npos)
      << text.rows[0];
  EXPECT_NE(text.rows[0].find("model/decoder.3/attention ttnn.matmul model.py:57"), std::string::npos);
  // 200 columns with the share bar: the names and the descriptions whole.
  const HolderLines wide = holder_lines(t, 200, 20);
  EXPECT_EQ(wide.bar, 20);
  EXPECT_NE(wide.rows[0].find(" bfloat16 TILE [1, 1, 512, 2048] DRAM interleaved, sharded dim 3 over 8 |"),
            std::string::npos)
      << wide.rows[0];
  EXPECT_EQ(wide.rows[0].substr(static_cast<size_t>(wide.name_column)),
            "model/decoder.3/attention ttnn.matmul model.py:57");
  // 160: the names whole, the descriptions compact.
  const HolderLines compact = holder_lines(t, 160, 20);
  EXPECT_EQ(compact.bar, 20);
  EXPECT_NE(compact.rows[0].find(" bf16 [1,1,512,2048] DRAM dim 3/8 "), std::string::npos) << compact.rows[0];
  EXPECT_EQ(compact.rows[0].substr(static_cast<size_t>(compact.name_column)),
            "model/decoder.3/attention ttnn.matmul model.py:57");
  // 120: the bar makes room; the description is cut after its shape, the name keeps its op and site.
  const HolderLines medium = holder_lines(t, 120, 20);
  EXPECT_EQ(medium.bar, 0);
  EXPECT_NE(medium.rows[0].find(" bf16 [1,1,512,2048]... "), std::string::npos) << medium.rows[0];
  EXPECT_NE(medium.rows[0].find("attention ttnn.matmul model.py:57"), std::string::npos) << medium.rows[0];
  // 80 columns: the numbers and the name as before, no description.
  const HolderLines eighty = holder_lines(t, 80);
  EXPECT_EQ(eighty.heading.find("DESCRIPTION"), std::string::npos) << eighty.heading;
  EXPECT_EQ(eighty.rows[0].find("bf"), std::string::npos) << eighty.rows[0];
  for (int width : {200, 120, 100, 90, 80, 60}) {
    const HolderLines lines = holder_lines(t, width, width >= 120 ? 20 : 0);
    EXPECT_LE(static_cast<int>(lines.heading.size()), width);
    for (const auto& row : lines.rows) EXPECT_LE(static_cast<int>(row.size()), width) << width << ": " << row;
  }
  // For scripts: the description in its own field.
  const std::string csv =
      holders_csv(build_holders(described_report(), {HolderGroup::kTensor, {}, {2}, "L1"}));
  EXPECT_EQ(
      csv.substr(0, csv.find('\n')),
      "time,tensor,bytes,buffers,devices,most_on_one_device,description,scope,op,site,type,size,address,pid");
  EXPECT_NE(csv.find(",\"bfloat16 TILE [1, 1, 512, 2048] DRAM interleaved, sharded dim 3 over 8\","
                     "model/decoder.3/attention,"),
            std::string::npos)
      << csv;
  const auto doc = nlohmann::json::parse(holders_json(t));
  EXPECT_EQ(doc["rows"][0]["description"],
            "bfloat16 TILE [1, 1, 512, 2048] DRAM interleaved, sharded dim 3 over 8");
  EXPECT_EQ(doc["rows"][0]["devices"].size(), 8u);
  EXPECT_EQ(doc["rows"][0]["most_on_one_device"], 1 << 20);
}

TEST(Holders, ElideLeftKeepsTheSpecificEnd) {
  EXPECT_EQ(elide_left("model/decoder.3/attention", 40), "model/decoder.3/attention");
  EXPECT_EQ(elide_left("a/very/long/model/decoder.3/attention", 24), ".../decoder.3/attention");
  // A '/' that would keep too little: cut anywhere, so that siblings stay apart.
  EXPECT_EQ(elide_left("model/decoder.2/attention", 21), "...ecoder.2/attention");
  EXPECT_EQ(elide_left("abcdefghij", 6), "...hij");
  EXPECT_EQ(elide_left("abcdefghij", 2), "ij");
  EXPECT_EQ(elide_left("x", 0), "");
  // Never half a UTF-8 character.
  const std::string cut = elide_left("layer/\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9tape", 10);
  EXPECT_NE(static_cast<unsigned char>(cut[3]) & 0xC0, 0x80) << cut;
}

TEST(Holders, LinesFitTheWidthAndLeaveColumnsOutLeastUsefulFirst) {
  HolderTable t = build_holders(mesh_report(), {HolderGroup::kScope, HolderSort::kBytes, {}, ""});
  t.rows[1].name = "a/very/long/path/of/scopes/in/a/model/decoder.17/mlp/fc2";
  for (int width : {200, 80, 60}) {
    const HolderLines lines = holder_lines(t, width);
    EXPECT_LE(static_cast<int>(lines.heading.size()), width);
    for (const auto& row : lines.rows) EXPECT_LE(static_cast<int>(row.size()), width) << row;
  }
  const HolderLines wide = holder_lines(t, 200);
  EXPECT_NE(wide.heading.find("*BYTES"), std::string::npos);
  EXPECT_NE(wide.heading.find("SHARE"), std::string::npos);
  EXPECT_NE(wide.heading.find("DEVICES"), std::string::npos);
  EXPECT_NE(wide.heading.find("PER DEVICE"), std::string::npos);
  EXPECT_NE(wide.rows[1].find("a/very/long/path/of/scopes/in/a/model/decoder.17/mlp/fc2"), std::string::npos);
  EXPECT_NE(wide.rows[0].find("8.5 MiB"), std::string::npos) << wide.rows[0];
  EXPECT_NE(wide.rows[0].find(" 0-7 "), std::string::npos) << wide.rows[0];
  const HolderLines eighty = holder_lines(t, 80);
  EXPECT_NE(eighty.heading.find("SHARE"), std::string::npos);
  const std::string cut = " .../in/a/model/decoder.17/mlp/fc2";  // at the first '/' that fits
  EXPECT_EQ(eighty.rows[1].substr(eighty.rows[1].size() - cut.size()), cut) << eighty.rows[1];
  const HolderLines sixty = holder_lines(t, 60);  // the share and the devices make room for the name
  EXPECT_EQ(sixty.heading.find("SHARE"), std::string::npos) << sixty.heading;
  EXPECT_EQ(sixty.heading.find("DEVICES"), std::string::npos) << sixty.heading;
  EXPECT_NE(sixty.rows[0].find("model/decoder.3/attention"), std::string::npos) << sixty.rows[0];
  // One device: no devices or per-device columns; the sorted column carries the '*'.
  sort_holders(t, HolderSort::kName);
  t.devices = {3};
  const HolderLines one = holder_lines(t, 80);
  EXPECT_EQ(one.heading.find("DEVICES"), std::string::npos);
  EXPECT_NE(one.heading.find("*SCOPE"), std::string::npos) << one.heading;
  EXPECT_EQ(one.heading.find("*BYTES"), std::string::npos);
  // A share bar before the name.
  const HolderLines bars = holder_lines(build_holders(mesh_report(), {}), 200, 20);
  EXPECT_NE(bars.rows[0].find("||||||||||||||||"), std::string::npos) << bars.rows[0];
  EXPECT_EQ(bars.rows[0].substr(static_cast<size_t>(bars.name_column)), "model/decoder.3/attention");
  EXPECT_EQ(bars.bar, 20);
  EXPECT_EQ(holder_lines(build_holders(mesh_report(), {}), 80, 20).bar, 0);  // no room: the name first
}

TEST(Holders, TensorNamesKeepOpAndSite) {
  const HolderTable t = build_holders(mesh_report(), {HolderGroup::kTensor, HolderSort::kBytes, {}, "DRAM"});
  const HolderLines lines = holder_lines(t, 80);
  // The scope cut anywhere rather than to its last part (every decoder's attention would read the same).
  EXPECT_EQ(lines.rows[0].substr(lines.rows[0].find("...")), "...er.3/attention ttnn.matmul model.py:57")
      << lines.rows[0];
  // With a type column at 80: the op and the site, the scope left out.
  const HolderTable all = build_holders(mesh_report(), {HolderGroup::kTensor, HolderSort::kBytes, {}, ""});
  const HolderLines typed = holder_lines(all, 80);
  EXPECT_NE(typed.heading.find("TYPE"), std::string::npos) << typed.heading;
  EXPECT_NE(typed.rows[0].find(" DRAM "), std::string::npos) << typed.rows[0];
  EXPECT_NE(typed.rows[0].find("attention ttnn.matmul model.py:57"), std::string::npos) << typed.rows[0];
}

TEST(Holders, NamesThatWouldReadTheSameAreCutAnywhere) {
  HolderTable t;
  t.query.sort = HolderSort::kName;
  t.devices = {0};
  for (const char* name : {"model.1/mlp/block/fc", "model.2/mlp/block/fc", "solo/x"}) {
    HolderRow row;
    row.name = name;
    row.bytes = 1024;
    row.buffers = 1;
    row.devices = {0};
    t.rows.push_back(row);
  }
  t.bytes = 3072;
  const HolderLines lines = holder_lines(t, 29);  // BYTES and the name: 18 columns for it
  ASSERT_EQ(lines.rows.size(), 3u);
  EXPECT_EQ(lines.rows[0].substr(11), "....1/mlp/block/fc");
  EXPECT_EQ(lines.rows[1].substr(11), "....2/mlp/block/fc");
  EXPECT_EQ(lines.rows[2].substr(11), "solo/x");
  EXPECT_EQ(elide_left("model.1/mlp/block/fc", 18), ".../mlp/block/fc");  // alone, at the '/'
}

TEST(Holders, TextCsvAndJsonForScripts) {
  const HolderTable t = build_holders(mesh_report(), {HolderGroup::kOp, HolderSort::kBytes, {}, "DRAM"});
  const std::string text = holders_text(t);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "What holds DRAM on all devices: 10.2 MiB in 24 buffers, by op (sorted by bytes)");
  EXPECT_NE(text.find("8.0 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("ttnn.matmul\n"), std::string::npos) << text;
  const std::string csv = holders_csv(t);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "time,op,bytes,buffers,devices,most_on_one_device");
  EXPECT_NE(csv.find("1795000000000,ttnn.matmul,8388608,8,0-7,1048576\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("1795000000000,,262144,8,0-7,32768\n"), std::string::npos) << csv;  // unattributed
  EXPECT_EQ(holders_csv(t, false).find("time,"), std::string::npos);
  const auto doc = nlohmann::json::parse(holders_json(t));
  EXPECT_EQ(doc["schema"], "allocmon.holders/1");
  EXPECT_EQ(doc["by"], "op");
  EXPECT_EQ(doc["type"], "DRAM");
  EXPECT_EQ(doc["rows"][0]["name"], "ttnn.matmul");
  EXPECT_EQ(doc["rows"][0]["bytes"], 8u << 20);
  EXPECT_EQ(doc["rows"][0]["devices"].size(), 8u);
  EXPECT_EQ(doc["unattributed_bytes"], 8u * (32 << 10));
  const std::string tensors =
      holders_csv(build_holders(mesh_report(), {HolderGroup::kTensor, {}, {2}, "L1"}));
  EXPECT_NE(tensors.find(",model/decoder.3/attention,ttnn.matmul,model.py:57,L1,65536,262144,4711\n"),
            std::string::npos)
      << tensors;
}

TEST(Holders, ParsesItsNames) {
  EXPECT_EQ(parse_holder_group("site"), HolderGroup::kSite);
  EXPECT_EQ(parse_holder_group("tensor"), HolderGroup::kTensor);
  EXPECT_FALSE(parse_holder_group("Scope"));
  EXPECT_EQ(parse_holder_sort("buffers"), HolderSort::kBuffers);
  EXPECT_EQ(next_group(HolderGroup::kTensor), HolderGroup::kScope);
  EXPECT_EQ(next_holder_sort(HolderSort::kBuffers), HolderSort::kBytes);
}

TEST(Holders, AddressMapLettersByHolder) {
  const RegionView region{0, 64 << 10, 1, 32, 32};  // one bank of 64 KiB: a column per KiB at width 64
  const std::vector<LabeledBuffer> buffers = {{{0, 32 << 10, 0, 0}, "ttnn.matmul"},
                                              {{32 << 10, 16 << 10, 0, 0}, "ttnn.from_torch"},
                                              {{48 << 10, 1 << 10, 0, 0}, "ttnn.matmul"}};
  const LabeledStrip s = label_strip(region, buffers, 64);
  EXPECT_EQ(s.strip, std::string(32, 'A') + std::string(16, 'B') + "A" + std::string(15, '='));
  ASSERT_EQ(s.legend.size(), 2u);
  EXPECT_EQ(s.legend[0], (std::pair<char, std::string>{'A', "ttnn.matmul"}));
  EXPECT_EQ(s.legend[1], (std::pair<char, std::string>{'B', "ttnn.from_torch"}));
  EXPECT_EQ(s.map.largest_free, uint64_t{15 << 10});
  // The buffer labels a report gives.
  const LeakReport report = mesh_report();
  EXPECT_EQ(buffer_label(report, 0, 0, HolderGroup::kScope), "model/decoder.3/attention");
  EXPECT_EQ(buffer_label(report, 0, 1, HolderGroup::kOp), "ttnn.from_torch");
  EXPECT_EQ(buffer_label(report, 0, 3, HolderGroup::kSite), "(no site)");
  EXPECT_EQ(buffer_label(report, 5, 0, HolderGroup::kScope), "(no scope)");
}
