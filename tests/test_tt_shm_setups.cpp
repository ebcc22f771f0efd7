// The tt-metal-shm source in the setups real machines have, each written as tt-metal writes its files: jobs
// pinned with TT_VISIBLE_DEVICES (every region says logical device 0), a run that remaps chips, layout v2's
// monotonic clock, processes in another pid namespace, files the server may not read, a slot being released.
// Each test states what the server shows: every chip, held and stale bytes per type.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "monitor/snapshot_model.hpp"
#include "server/accounting.hpp"
#include "server/snapshot_json.hpp"
#include "server/sources/tt_shm_source.hpp"
#include "support/tt_shm_fixture.hpp"

using namespace allocmon;
using namespace allocmon::server;
using namespace allocmon::test;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kBootNs = 1'700'000'000ull * 1'000'000'000ull;  // the fixture's btime
constexpr uint64_t kSecond = 1'000'000'000ull;

struct Setups : ::testing::Test {
  std::string shm = make_temp_dir("shm");
  std::string proc = make_temp_dir("proc");
  const uid_t me = ::getuid();
  ~Setups() override {
    remove_tree(shm);
    remove_tree(proc);
  }
  TtShmSource source() {
    TtShmOptions options;
    options.directory = shm;
    options.proc_root = proc;
    options.namespace_rescan = std::chrono::milliseconds(0);
    return TtShmSource(options);
  }
  static const SourceDevice* chip(const SourceReport& r, uint64_t asic) {
    for (const auto& d : r.devices)
      if (d.asic_id == asic) return &d;
    return nullptr;
  }
  static const DeviceRecord* chip(const Accounting& a, uint64_t asic) {
    for (const auto& [id, d] : a.devices())
      if (d.asic_id == asic) return &d;
    return nullptr;
  }
};

}  // namespace

TEST_F(Setups, FourJobsPinnedToOneChipEachAreFourDevices) {
  // A T3000 shared by four users: TT_VISIBLE_DEVICES makes each job's chip its logical device 0.
  const uint64_t sizes[] = {100 * kMiB, 200 * kMiB, 300 * kMiB, 400 * kMiB};
  for (int i = 0; i < 4; ++i) {
    write_fake_process(proc, 100 + i, me, "job" + std::to_string(i));
    write_region(shm, make_region(4, 5000 + i, 0, {{100 + i, "job" + std::to_string(i), sizes[i]}}));
  }
  auto src = source();
  const SourceReport r = src.poll();
  EXPECT_TRUE(r.problems.empty()) << r.problems[0].reason;
  ASSERT_EQ(r.devices.size(), 4u);
  Accounting accounting;
  accounting.set_polled("tt-metal-shm", r, 250);
  ASSERT_EQ(accounting.devices().size(), 4u);
  uint64_t held = 0;
  for (int i = 0; i < 4; ++i) {
    const DeviceRecord* d = chip(accounting, 5000 + i);
    ASSERT_NE(d, nullptr) << i;
    EXPECT_EQ(d->logical_id, 0);
    EXPECT_EQ(d->totals[ALLOCMON_DRAM].bytes, sizes[i]);
    held += d->totals[ALLOCMON_DRAM].bytes;
  }
  EXPECT_EQ(held, 1000 * kMiB);
  // Ids: the lowest asic keeps its logical id, the others are numbered from 2000, in asic order.
  EXPECT_EQ(chip(accounting, 5000)->id, 0);
  EXPECT_EQ(chip(accounting, 5001)->id, kFirstChipAliasId);
  EXPECT_EQ(chip(accounting, 5003)->id, kFirstChipAliasId + 2);

  // The snapshot lists the four, each with its asic and logical id; the monitor names each chip.
  const std::string text = snapshot_json(accounting, ServerInfo{}, 0, me);
  std::string error;
  const auto snapshot = monitor::parse_snapshot(text, &error);
  ASSERT_TRUE(snapshot) << error;
  ASSERT_EQ(snapshot->devices.size(), 4u);
  for (const auto& d : snapshot->devices) {
    EXPECT_EQ(d.logical_id, 0);
    EXPECT_EQ(d.chip_note(), " (logical 0, asic " + std::to_string(*d.asic_id) + ")");
  }
  EXPECT_EQ(snapshot->total_allocated, 1000 * kMiB);
}

TEST_F(Setups, ARemappingRunHidesNoChipAndIdsStay) {
  // Run A opens all eight chips as 0..7; run B then maps chips 6 and 7 as its logical 0 and 1.
  write_fake_process(proc, 200, me, "run_a");
  write_fake_process(proc, 201, me, "run_b");
  for (uint32_t i = 0; i < 8; ++i) write_region(shm, make_region(4, 20 + i, i, {{200, "run_a", 10 * kMiB}}));
  auto src = source();
  SourceReport r = src.poll();
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(chip(r, 20 + i)->id, static_cast<int32_t>(i));
  write_region(shm, make_region(4, 26, 0, {{200, "run_a", 10 * kMiB}, {201, "run_b", 50 * kMiB}}));
  write_region(shm, make_region(4, 27, 1, {{200, "run_a", 10 * kMiB}, {201, "run_b", 70 * kMiB}}));
  r = src.poll();
  ASSERT_EQ(r.devices.size(), 8u);
  EXPECT_EQ(chip(r, 26)->id, 6);  // a chip keeps its id while its file lasts; the logical id is a label
  EXPECT_EQ(chip(r, 26)->logical_id, 0);
  EXPECT_EQ(chip(r, 27)->id, 7);
  Accounting accounting;
  accounting.set_polled("tt-metal-shm", r, 250);
  EXPECT_EQ(chip(accounting, 26)->totals[ALLOCMON_DRAM].bytes, 60 * kMiB);
  EXPECT_EQ(chip(accounting, 27)->totals[ALLOCMON_DRAM].bytes, 80 * kMiB);

  // B is killed: its slots stay in the files, stale; the chips stay shown.
  remove_tree(proc + "/201");
  r = src.poll();
  accounting.set_polled("tt-metal-shm", r, 250);
  ASSERT_EQ(accounting.devices().size(), 8u);
  EXPECT_EQ(chip(accounting, 26)->totals[ALLOCMON_DRAM].bytes, 10 * kMiB);
  EXPECT_EQ(chip(accounting, 26)->stale[ALLOCMON_DRAM], 50 * kMiB);
  EXPECT_EQ(chip(accounting, 27)->stale[ALLOCMON_DRAM], 70 * kMiB);

  // A server started now sees chips 0 and 6 both as logical 0, 1 and 7 as logical 1: all eight are shown.
  auto fresh = source();
  r = fresh.poll();
  ASSERT_EQ(r.devices.size(), 8u);
  EXPECT_EQ(chip(r, 20)->id, 0);
  EXPECT_EQ(chip(r, 26)->id, kFirstChipAliasId);
  EXPECT_EQ(chip(r, 27)->id, kFirstChipAliasId + 1);
  Accounting after_restart;
  after_restart.set_polled("tt-metal-shm", r, 250);
  EXPECT_EQ(after_restart.devices().size(), 8u);
  // Run A attaches again and numbers chip 6 as 6: it takes its logical id back; the alias is gone.
  write_region(shm, make_region(4, 26, 6, {{200, "run_a", 10 * kMiB}}));
  r = fresh.poll();
  EXPECT_EQ(chip(r, 26)->id, 6);
  after_restart.set_polled("tt-metal-shm", r, 250);
  EXPECT_EQ(after_restart.devices().size(), 8u);
  EXPECT_EQ(after_restart.devices().count(kFirstChipAliasId), 0u);
  EXPECT_EQ(after_restart.devices().at(6).totals[ALLOCMON_DRAM].bytes, 10 * kMiB);
}

TEST_F(Setups, LayoutTwoStampsSlotsFromBootNotTheEpoch) {
  write_fake_process(proc, 300, me, "live", {}, /*start_after_boot_s=*/100);
  write_fake_process(proc, 301, me, "reused", {}, /*start_after_boot_s=*/600);
  // v2: slots written 500 s after boot (CLOCK_MONOTONIC); 301 started after that, so it is not the writer.
  write_region(shm, make_region(2, 30, 0,
                                {{300, "live", 10 * kMiB, 1 * kMiB, 0, 0, 0, 500 * kSecond},
                                 {301, "reused", 20 * kMiB, 0, 0, 0, 0, 500 * kSecond}}));
  // v4: the same moments on the wall clock.
  write_region(shm, make_region(4, 31, 1,
                                {{300, "live", 30 * kMiB, 0, 0, 0, 0, kBootNs + 500 * kSecond},
                                 {301, "reused", 40 * kMiB, 0, 0, 0, 0, kBootNs + 500 * kSecond}}));
  auto src = source();
  const SourceReport r = src.poll();
  ASSERT_EQ(r.devices.size(), 2u);
  Accounting accounting;
  accounting.set_polled("tt-metal-shm", r, 250);
  const DeviceRecord* v2 = chip(accounting, 30);
  EXPECT_EQ(v2->totals[ALLOCMON_DRAM].bytes, 10 * kMiB);
  EXPECT_EQ(v2->totals[ALLOCMON_L1].bytes, 1 * kMiB);
  EXPECT_EQ(v2->stale[ALLOCMON_DRAM], 20 * kMiB);
  const DeviceRecord* v4 = chip(accounting, 31);
  EXPECT_EQ(v4->totals[ALLOCMON_DRAM].bytes, 30 * kMiB);
  EXPECT_EQ(v4->stale[ALLOCMON_DRAM], 40 * kMiB);
  ASSERT_EQ(v2->stale_processes.size(), 1u);
  EXPECT_NE(v2->stale_processes[0].reason.find("started after the slot was last written"), std::string::npos);
}

TEST_F(Setups, APidFromAnotherNamespaceIsItsOwnProcessNotTheHostsNamesake) {
  // A container sharing /dev/shm: its python3 is pid 1 there, 4100 here; here pid 1 is systemd.
  write_fake_process(proc, 1, 0, "systemd");
  write_fake_process(proc, 4100, me, "python3", {}, -1, {1});
  write_fake_process(proc, 7, me, "kworker/0:1");
  write_region(shm, make_region(4, 40, 0,
                                {{1, "python3", 70 * kMiB},
                                 {7, "python3", 5 * kMiB},     // pid 7 here is someone else, alive
                                 {9, "python3", 3 * kMiB}}));  // no pid 9 anywhere: gone
  auto src = source();
  const SourceReport r = src.poll();
  ASSERT_EQ(r.devices.size(), 1u);
  const SourceDevice& d = r.devices[0];
  ASSERT_EQ(d.shares.size(), 1u);
  EXPECT_EQ(d.shares[0].pid, 4100);
  EXPECT_EQ(d.shares[0].bytes[ALLOCMON_DRAM], 70 * kMiB);
  ASSERT_EQ(d.unattributed_slots.size(), 1u);
  EXPECT_EQ(d.unattributed_slots[0].reason, "pid 7 is kworker/0:1, not python3 as the slot says");
  ASSERT_EQ(d.stale.size(), 1u);
  EXPECT_EQ(d.stale[0].pid, 9);

  Accounting accounting;
  accounting.set_polled("tt-metal-shm", r, 250);
  const DeviceRecord& rec = accounting.devices().at(0);
  EXPECT_EQ(rec.totals[ALLOCMON_DRAM].bytes, 75 * kMiB);
  EXPECT_EQ(rec.unattributed[ALLOCMON_DRAM], 5 * kMiB);
  EXPECT_EQ(rec.stale[ALLOCMON_DRAM], 3 * kMiB);
  for (const auto& [client, p] : accounting.processes()) EXPECT_NE(p.pid, 1);  // never systemd's
  // The JSON says why pid 7's bytes have no owner.
  const auto doc = nlohmann::json::parse(snapshot_json(accounting, ServerInfo{}, 0, me));
  const auto& slots = doc["devices"][0]["unattributed_processes"];
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(slots[0]["pid"], 7);
  EXPECT_EQ(slots[0]["memory"]["DRAM"], 5 * kMiB);
  EXPECT_EQ(slots[0]["reason"], "pid 7 is kworker/0:1, not python3 as the slot says");
}

TEST_F(Setups, TwoContainersWithTheSamePidAreNotGuessedBetween) {
  write_fake_process(proc, 4100, me, "python3", {}, -1, {1});
  write_fake_process(proc, 4200, me, "python3", {}, -1, {1});
  write_region(shm, make_region(4, 41, 0, {{1, "python3", 8 * kMiB}}));
  auto src = source();
  const SourceReport r = src.poll();
  ASSERT_EQ(r.devices.size(), 1u);
  EXPECT_TRUE(r.devices[0].shares.empty());
  EXPECT_EQ(r.devices[0].unattributed[ALLOCMON_DRAM], 8 * kMiB);
  ASSERT_EQ(r.devices[0].unattributed_slots.size(), 1u);
  EXPECT_NE(r.devices[0].unattributed_slots[0].reason.find("pids 4100, 4200"), std::string::npos);
}

TEST_F(Setups, AServerThatCannotSeeEveryProcessDoesNotCallMissingPidsGone) {
  write_region(shm, make_region(4, 42, 0, {{9, "python3", 3 * kMiB}}));
  write_fake_process(proc, 50, me, "unrelated");
  remove_tree(proc + "/2");  // no kthreadd: this /proc is a container's
  auto src = source();
  const SourceReport r = src.poll();
  ASSERT_EQ(r.devices.size(), 1u);
  EXPECT_TRUE(r.devices[0].stale.empty());
  EXPECT_EQ(r.devices[0].unattributed[ALLOCMON_DRAM], 3 * kMiB);
  ASSERT_EQ(r.devices[0].unattributed_slots.size(), 1u);
  EXPECT_NE(r.devices[0].unattributed_slots[0].reason.find("does not show every process"), std::string::npos);
}

TEST_F(Setups, ASlotBeingReleasedIsNeitherHeldNorUnexplained) {
  write_fake_process(proc, 60, me, "stays");
  // The releasing process turned the slot's pid to -1 and has not yet taken its bytes from the totals...
  tt_shm::Region region =
      make_region(4, 60, 0, {{60, "stays", 4 * kMiB}, {-1, "", 20 * kMiB, 0, 0, 0, 2 * kMiB}});
  write_region(shm, region);
  auto src = source();
  SourceReport r = src.poll();
  Accounting accounting;
  accounting.set_polled("tt-metal-shm", r, 250);
  EXPECT_EQ(accounting.devices().at(0).totals[ALLOCMON_DRAM].bytes, 4 * kMiB);
  EXPECT_EQ(accounting.devices().at(0).unattributed[ALLOCMON_DRAM], 0u);
  EXPECT_EQ(accounting.devices().at(0).stale[ALLOCMON_DRAM], 20 * kMiB);
  EXPECT_EQ(accounting.devices().at(0).stale[ALLOCMON_CB], 2 * kMiB);
  ASSERT_EQ(accounting.devices().at(0).stale_processes.size(), 1u);
  EXPECT_EQ(accounting.devices().at(0).stale_processes[0].reason, "slot being released");
  // ...and a moment later it has, the slot not yet cleared: the same.
  region.totals[0] -= 20 * kMiB;
  region.totals[4] -= 2 * kMiB;
  write_region(shm, region);
  r = src.poll();
  accounting.set_polled("tt-metal-shm", r, 250);
  EXPECT_EQ(accounting.devices().at(0).totals[ALLOCMON_DRAM].bytes, 4 * kMiB);
  EXPECT_EQ(accounting.devices().at(0).unattributed[ALLOCMON_DRAM], 0u);
  EXPECT_EQ(accounting.devices().at(0).stale[ALLOCMON_DRAM], 20 * kMiB);
}

TEST_F(Setups, AFileTheServerMayNotReadSaysWhyAndHowToFixIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to another user";
  // tt-metal's files are 0600, owned by the job's user (here root); an old v2 file is 0666.
  write_region(shm, make_region(4, 70, 0, {}));
  const std::string open_v2 = write_region(shm, make_region(2, 71, 1, {}));
  ASSERT_EQ(::chmod(open_v2.c_str(), 0666), 0);
  ASSERT_EQ(::chmod(shm.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(proc.c_str(), 0755), 0);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t child = ::fork();
  if (child == 0) {  // the server as an ordinary user: nobody
    ::close(out[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    auto src = source();
    const SourceReport r = src.poll();
    std::string text = std::to_string(r.devices.size()) + "\n";
    for (const auto& p : r.problems) text += p.path + ": " + p.reason + "\n";
    const bool ok = ::write(out[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::_exit(ok ? 0 : 4);
  }
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof(buffer))) > 0;)
    text.append(buffer, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(text.substr(0, 2), "1\n") << text;  // the 0666 file is read
  EXPECT_NE(
      text.find(shm + "/tt_device_70_memory: cannot open: Permission denied (mode 0600, owner root); this "
                      "server runs as "),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("run the server as root (the packaged systemd unit does) or as that user, or grant it "
                      "CAP_DAC_READ_SEARCH"),
            std::string::npos)
      << text;
}
