// The polled sources on fixture files: tt-metal's shared-memory regions (every layout version and every way a
// file can be wrong), the holders of /dev/tenstorrent/N, DRM fdinfo, and how Accounting merges them.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/accounting.hpp"
#include "server/sources/device_holders_source.hpp"
#include "server/sources/drm_fdinfo_source.hpp"
#include "server/sources/tt_shm_source.hpp"
#include "support/tt_shm_fixture.hpp"

using namespace allocmon;
using namespace allocmon::server;
using namespace allocmon::test;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

struct Sources : ::testing::Test {
  std::string shm = make_temp_dir("shm");
  std::string proc = make_temp_dir("proc");
  const uid_t me = ::getuid();
  ~Sources() override {
    remove_tree(shm);
    remove_tree(proc);
  }
  TtShmSource source() {
    TtShmOptions options;
    options.directory = shm;
    options.proc_root = proc;
    return TtShmSource(options);
  }
  static const SourceDevice* device(const SourceReport& r, int id) {
    for (const auto& d : r.devices)
      if (d.id == id) return &d;
    return nullptr;
  }
};

void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

}  // namespace

TEST_F(Sources, EveryLayoutVersionIsRead) {
  write_fake_process(proc, 4242, me, "pytest", {"python3", "-m", "pytest", "tests/ttnn/test_add.py"});
  for (uint32_t version : {2u, 3u, 4u})
    write_region(shm, make_region(version, 1000 + version, version,
                                  {{4242, "pytest", 100 * kMiB, 2 * kMiB, 0, 0, 3 * kMiB}}));
  auto src = source();
  const SourceReport r = src.poll();
  EXPECT_TRUE(r.problems.empty()) << r.problems[0].path << ": " << r.problems[0].reason;
  ASSERT_EQ(r.devices.size(), 3u);
  for (int id : {2, 3, 4}) {
    const SourceDevice* d = device(r, id);
    ASSERT_NE(d, nullptr) << id;
    EXPECT_EQ(d->asic_id, 1000u + id);
    ASSERT_EQ(d->shares.size(), 1u);
    EXPECT_EQ(d->shares[0].pid, 4242);
    EXPECT_EQ(d->shares[0].bytes[ALLOCMON_DRAM], 100 * kMiB);
    EXPECT_EQ(d->shares[0].bytes[ALLOCMON_L1], 2 * kMiB);
    EXPECT_EQ(d->shares[0].bytes[ALLOCMON_CB], 3 * kMiB);
    EXPECT_EQ(d->unattributed, TypeBytes{});
    EXPECT_TRUE(d->in_use);
  }
  ASSERT_EQ(r.processes.size(), 1u);
  EXPECT_EQ(r.processes[0].cmdline, "python3 -m pytest tests/ttnn/test_add.py");
  EXPECT_EQ(r.processes[0].name, "pytest");
}

TEST_F(Sources, AVersionFourRegionIsSkippedUntilReady) {
  tt_shm::Region region = make_region(4, 7, 0, {});
  region.init_state = tt_shm::kInitInProgress;
  write_region(shm, region);
  auto src = source();
  SourceReport r = src.poll();
  EXPECT_TRUE(r.devices.empty());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].reason.find("being initialised"), std::string::npos);
  region.init_state = tt_shm::kInitReady;
  write_region(shm, region);
  r = src.poll();
  EXPECT_EQ(r.devices.size(), 1u);
  EXPECT_TRUE(r.problems.empty());
}

TEST_F(Sources, ShortUnknownAndForeignFilesAreReportedWithTheirReason) {
  write_region(shm, make_region(4, 1, 0, {}), 4000);                    // truncated mid-table
  write_region(shm, make_region(3, 2, 1, {}), 8536 - 1);                // one byte short of v3
  write_region(shm, make_region(4, 3, 2, {}), 8536);                    // v4 without its init_state
  write_region(shm, make_region(9, 4, 3, {}));                          // a version from the future
  write_region(shm, make_region(4, 5, 4, {}), 2);                       // not even a version
  ASSERT_EQ(::mkfifo((shm + "/tt_device_6_memory").c_str(), 0600), 0);  // would block a blocking open
  ASSERT_EQ(::symlink("/etc/passwd", (shm + "/tt_device_7_memory").c_str()), 0);
  write_file(shm + "/tt_device_x_memory", "not a region name: ignored");
  auto src = source();
  const SourceReport r = src.poll();
  EXPECT_TRUE(r.devices.empty());
  std::map<std::string, std::string> why;
  for (const auto& p : r.problems) why[std::filesystem::path(p.path).filename()] = p.reason;
  ASSERT_EQ(why.size(), 7u);
  EXPECT_EQ(why["tt_device_1_memory"], "short file: 4000 bytes, layout version 4 needs 8540");
  EXPECT_EQ(why["tt_device_2_memory"], "short file: 8535 bytes, layout version 3 needs 8536");
  EXPECT_EQ(why["tt_device_3_memory"], "short file: 8536 bytes, layout version 4 needs 8540");
  EXPECT_EQ(why["tt_device_4_memory"], "unknown layout version 9 (this server reads versions 2 to 4)");
  EXPECT_EQ(why["tt_device_5_memory"], "short file (2 bytes)");
  EXPECT_EQ(why["tt_device_6_memory"], "not a regular file");
  EXPECT_NE(why["tt_device_7_memory"].find("cannot open"), std::string::npos);  // O_NOFOLLOW
}

TEST_F(Sources, ATornReadIsReadAgain) {
  write_fake_process(proc, 10, me, "w");
  tt_shm::Region before = make_region(4, 9, 0, {{10, "w", 1 * kMiB}});
  tt_shm::Region after = make_region(4, 9, 0, {{10, "w", 5 * kMiB}});
  after.last_update_ns = before.last_update_ns + 1000;
  write_region(shm, before);
  auto src = source();
  int tears = 0;
  src.after_first_read = [&](const std::string&) {
    ++tears;
    write_region(shm, after);  // a writer moved on while we read
  };
  const SourceReport r = src.poll();
  EXPECT_EQ(tears, 1);
  ASSERT_EQ(r.devices.size(), 1u);
  EXPECT_EQ(r.devices[0].shares.at(0).bytes[ALLOCMON_DRAM], 5 * kMiB);  // the second, consistent read
}

TEST_F(Sources, ASlotWhoseProcessIsGoneIsStaleNotHeld) {
  write_fake_process(proc, 20, me, "alive");
  // pid 21 does not exist; pid 22 exists but started after its slot was last written (a reused pid).
  write_fake_process(proc, 22, me, "reused", {}, /*start_after_boot_s=*/100);
  const uint64_t slot_time = 1'700'000'000'000'000'000ull + 50'000'000'000ull;  // boot + 50 s
  write_region(shm, make_region(4, 11, 0,
                                {{20, "alive", 10 * kMiB},
                                 {21, "dead", 30 * kMiB},
                                 {22, "old", 7 * kMiB, 0, 0, 0, 0, slot_time}}));
  auto src = source();
  const SourceReport r = src.poll();
  ASSERT_EQ(r.devices.size(), 1u);
  const SourceDevice& d = r.devices[0];
  ASSERT_EQ(d.shares.size(), 1u);
  EXPECT_EQ(d.shares[0].pid, 20);
  ASSERT_EQ(d.stale.size(), 2u);
  EXPECT_EQ(d.stale[0].pid, 21);
  EXPECT_EQ(d.stale[0].bytes[ALLOCMON_DRAM], 30 * kMiB);
  EXPECT_EQ(d.stale[1].pid, 22);
  EXPECT_EQ(d.unattributed[ALLOCMON_DRAM], 0u);  // stale bytes are neither held nor unattributed

  Accounting accounting;
  accounting.set_polled("tt-metal-shm", r, 250);
  const DeviceRecord& rec = accounting.devices().at(0);
  EXPECT_EQ(rec.totals[ALLOCMON_DRAM].bytes, 10 * kMiB);  // held: the live process only
  EXPECT_EQ(rec.stale[ALLOCMON_DRAM], 37 * kMiB);
}

TEST_F(Sources, AnotherUsersProcessIsCountedButNotNamed) {
  write_fake_process(proc, 30, me + 1, "someone_else");
  write_fake_process(proc, 31, me, "mine");
  write_region(shm, make_region(4, 12, 0, {{30, "claimed", 8 * kMiB}, {31, "mine", 1 * kMiB}},
                                /*extra_dram=*/2 * kMiB));
  auto src = source();
  const SourceReport r = src.poll();
  ASSERT_EQ(r.devices.size(), 1u);
  const SourceDevice& d = r.devices[0];
  ASSERT_EQ(d.shares.size(), 1u);
  EXPECT_EQ(d.shares[0].pid, 31);
  EXPECT_EQ(d.unattributed[ALLOCMON_DRAM],
            10 * kMiB);  // the other user's 8 MiB and the 2 MiB no slot explains
  Accounting accounting;
  accounting.set_polled("tt-metal-shm", r, 250);
  EXPECT_EQ(accounting.devices().at(0).totals[ALLOCMON_DRAM].bytes, 11 * kMiB);
  for (const auto& [client, p] : accounting.processes()) EXPECT_NE(p.pid, 30);
}

TEST_F(Sources, AGalaxyOfThirtyTwoChips) {
  write_fake_process(proc, 50, me, "galaxy_run");
  for (uint32_t id = 0; id < 32; ++id)
    write_region(shm, make_region(4, 0x100000 + id, id, {{50, "galaxy_run", (id + 1) * kMiB}}));
  auto src = source();
  const SourceReport r = src.poll();
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.devices.size(), 32u);
  Accounting accounting;
  accounting.set_polled("tt-metal-shm", r, 250);
  ASSERT_EQ(accounting.devices().size(), 32u);
  for (uint32_t id = 0; id < 32; ++id) {
    EXPECT_EQ(accounting.devices().at(static_cast<int>(id)).totals[ALLOCMON_DRAM].bytes, (id + 1) * kMiB);
    EXPECT_EQ(accounting.devices().at(static_cast<int>(id)).asic_id, 0x100000u + id);
  }
  ASSERT_EQ(accounting.processes().size(), 1u);
  EXPECT_EQ(accounting.processes().begin()->second.per_device.size(), 32u);
}

TEST_F(Sources, ALiballocmonProcessInARegionIsCountedOnce) {
  write_fake_process(proc, 70, me, "both");
  write_fake_process(proc, 71, me, "shm_only");
  write_region(shm, make_region(4, 300, 0, {{70, "both", 100 * kMiB}, {71, "shm_only", 5 * kMiB}}));
  auto src = source();
  Accounting accounting;
  accounting.add_client(1, 70, me, "both");
  wire::RegisterDevice reg{};
  reg.device_id = 0;
  reg.capacity[ALLOCMON_DRAM] = 12ull << 30;
  accounting.register_device(1, reg);
  wire::Event alloc{};
  alloc.kind = static_cast<uint8_t>(wire::EventKind::kAlloc);
  alloc.memory_type = ALLOCMON_DRAM;
  alloc.size = 100 * kMiB;
  alloc.buffer_id = 1;
  accounting.apply(1, alloc, 0);
  accounting.set_polled("tt-metal-shm", src.poll(), 250);
  const DeviceRecord& d = accounting.devices().at(0);
  EXPECT_EQ(d.totals[ALLOCMON_DRAM].bytes, 105 * kMiB);  // 100 from its buffers, 5 from the region
  EXPECT_EQ(d.capacity[ALLOCMON_DRAM], 12ull << 30);     // the client's description wins
  int shown_70 = 0;
  for (const auto& [client, p] : accounting.processes()) shown_70 += p.pid == 70;
  EXPECT_EQ(shown_70, 1);
  // The client goes away: the region's slot (if tt-metal still lists it) is all there is.
  accounting.remove_client(1);
  EXPECT_EQ(accounting.devices().at(0).totals[ALLOCMON_DRAM].bytes, 105 * kMiB);
}

TEST_F(Sources, ARegionUpdatedBetweenPollsShowsTheNewTotals) {
  write_fake_process(proc, 80, me, "p");
  write_region(shm, make_region(4, 400, 3, {{80, "p", 1 * kMiB}}));
  auto src = source();
  Accounting accounting;
  accounting.set_polled("tt-metal-shm", src.poll(), 250);
  EXPECT_EQ(accounting.devices().at(3).totals[ALLOCMON_DRAM].bytes, 1 * kMiB);
  write_region(shm, make_region(4, 400, 3, {{80, "p", 9 * kMiB}}));
  accounting.set_polled("tt-metal-shm", src.poll(), 250);
  EXPECT_EQ(accounting.devices().at(3).totals[ALLOCMON_DRAM].bytes, 9 * kMiB);
  EXPECT_EQ(accounting.devices().at(3).totals[ALLOCMON_DRAM].peak, 9 * kMiB);
  write_region(shm, make_region(4, 400, 3, {}));
  accounting.set_polled("tt-metal-shm", src.poll(), 250);
  EXPECT_EQ(accounting.devices().at(3).totals[ALLOCMON_DRAM].bytes, 0u);
  EXPECT_EQ(accounting.devices().at(3).totals[ALLOCMON_DRAM].peak, 9 * kMiB);
  EXPECT_FALSE(accounting.devices().at(3).active());
  EXPECT_TRUE(accounting.processes().empty());
}

TEST_F(Sources, HoldersComeFromTheDriversPidsFile) {
  write_fake_process(proc, 90, me, "python3", {"python3", "train.py"});
  write_fake_process(proc, 91, me, "tt-smi", {"tt-smi"});
  write_file(proc + "/driver/tenstorrent/0/pids", "90\n90\n91\n");
  write_file(proc + "/driver/tenstorrent/1/pids", "90\n12345\n");  // 12345 has exited
  DeviceHoldersOptions options;
  options.proc_root = proc;
  DeviceHoldersSource holders(options);
  const SourceReport r = holders.poll();
  ASSERT_EQ(r.processes.size(), 2u);
  EXPECT_EQ(r.processes[0].pid, 90);
  EXPECT_EQ(r.processes[0].cmdline, "python3 train.py");
  EXPECT_EQ(r.processes[0].holds, (std::vector<std::string>{"/dev/tenstorrent/0", "/dev/tenstorrent/1"}));
  EXPECT_EQ(r.processes[1].holds, (std::vector<std::string>{"/dev/tenstorrent/0"}));

  Accounting accounting;
  accounting.set_polled("tt-kmd", r, 250);
  ASSERT_EQ(accounting.processes().size(), 2u);  // shown although they report nothing
  EXPECT_EQ(accounting.processes().begin()->second.holds.size(), 2u);
}

TEST_F(Sources, HoldersFallBackToScanningOpenFiles) {
  write_fake_process(proc, 95, me, "old_kmd_user");
  std::filesystem::create_directories(proc + "/95/fd");
  ASSERT_EQ(::symlink("/dev/tenstorrent/3", (proc + "/95/fd/7").c_str()), 0);
  ASSERT_EQ(::symlink("/dev/null", (proc + "/95/fd/0").c_str()), 0);
  const std::string dev = make_temp_dir("dev");
  DeviceHoldersOptions options;
  options.proc_root = proc;
  options.device_dir = dev;
  DeviceHoldersSource holders(options);
  const SourceReport r = holders.poll();
  remove_tree(dev);
  ASSERT_EQ(r.processes.size(), 1u);
  EXPECT_EQ(r.processes[0].holds, (std::vector<std::string>{"/dev/tenstorrent/3"}));
}

TEST(DrmFdinfo, KeysOfEveryGeneration) {
  auto amd = parse_drm_fdinfo(
      "pos:\t0\nflags:\t02100002\ndrm-driver:\tamdgpu\ndrm-pdev:\t0000:03:00.0\ndrm-client-id:\t42\n"
      "drm-memory-vram:\t1024 KiB\ndrm-memory-gtt:\t2048 KiB\n");
  ASSERT_TRUE(amd);
  EXPECT_EQ(amd->device_bytes, 1024u * 1024);  // gtt is host memory
  auto xe = parse_drm_fdinfo(
      "drm-driver:\txe\ndrm-pdev:\t0000:00:02.0\ndrm-client-id:\t7\ndrm-total-vram0:\t3 MiB\n"
      "drm-resident-vram0:\t2 MiB\ndrm-total-system:\t9 MiB\ndrm-memory-vram0:\t1 MiB\n");
  ASSERT_TRUE(xe);
  EXPECT_EQ(xe->device_bytes, 3u << 20);  // drm-total wins over the older drm-memory
  EXPECT_EQ(xe->resident_bytes, 2u << 20);
  EXPECT_FALSE(parse_drm_fdinfo("pos:\t0\nflags:\t0\n"));  // not a DRM file
  EXPECT_EQ(
      parse_drm_fdinfo("drm-driver: i915\ndrm-total-local0: 99999999999999999999999 KiB\n")->device_bytes,
      0u);
}

TEST_F(Sources, DrmFdinfoGivesPerProcessVram) {
  write_fake_process(proc, 100, me, "blender", {"blender", "-b", "scene.blend"});
  write_fake_process(proc, 101, me, "game");
  const auto client = [&](int pid, int fd, const std::string& id, const std::string& vram) {
    std::filesystem::create_directories(proc + "/" + std::to_string(pid) + "/fd");
    ASSERT_EQ(::symlink("/dev/dri/renderD128",
                        (proc + "/" + std::to_string(pid) + "/fd/" + std::to_string(fd)).c_str()),
              0);
    write_file(proc + "/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd),
               "drm-driver:\tamdgpu\ndrm-pdev:\t0000:03:00.0\ndrm-client-id:\t" + id +
                   "\ndrm-memory-vram:\t" + vram + "\n");
  };
  client(100, 5, "1", "512 MiB");
  client(100, 6, "1", "512 MiB");  // the same client through a dup'ed descriptor: counted once
  client(101, 9, "2", "256 MiB");
  const std::string dev = make_temp_dir("dev");
  std::filesystem::create_directories(dev + "/dri");
  const std::string sys = make_temp_dir("sys");
  write_file(sys + "/bus/pci/devices/0000:03:00.0/mem_info_vram_total", "17163091968\n");
  DrmFdinfoOptions options;
  options.proc_root = proc;
  options.sys_root = sys;
  options.dri_dir = dev + "/dri";
  DrmFdinfoSource drm(options);
  const SourceReport r = drm.poll();
  remove_tree(dev);
  remove_tree(sys);
  ASSERT_EQ(r.devices.size(), 1u);
  const SourceDevice& d = r.devices[0];
  EXPECT_EQ(d.id, kFirstDrmDeviceId);
  EXPECT_EQ(d.architecture, "amdgpu");
  EXPECT_EQ(d.location, "0000:03:00.0");
  EXPECT_EQ(d.capacity[ALLOCMON_DRAM], 17163091968u);
  ASSERT_EQ(d.shares.size(), 2u);
  EXPECT_EQ(d.shares[0].bytes[ALLOCMON_DRAM], 512 * kMiB);
  EXPECT_EQ(d.shares[1].bytes[ALLOCMON_DRAM], 256 * kMiB);
  ASSERT_EQ(r.processes.size(), 2u);
  EXPECT_EQ(r.processes[0].cmdline, "blender -b scene.blend");
}
