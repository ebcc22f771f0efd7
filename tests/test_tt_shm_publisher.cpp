// The emulated mesh's writer of tt-metal's regions (src/mesh/tt_shm_publisher.cpp) against tt-metal's rules,
// with real processes that attach, allocate, get killed and exit: 0600 files, slots named as /proc/PID/comm,
// CB stored whole, dead slots reaped on attach and on detach through the pid -1 handshake, totals reset by
// the last process to leave, a region another process is initialising left alone.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "mesh/tt_shm_publisher.hpp"
#include "support/tt_shm_fixture.hpp"

using namespace allocmon;
using namespace allocmon::test;
using mesh::TtShmPublisher;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kAsic = 7700;
enum { kDram = 0, kL1 = 1, kTrace = 3, kCb = 4 };  // the region's counted-type order

struct Writer : ::testing::Test {
  std::string dir = make_temp_dir("shm-writer");
  std::string path = dir + "/tt_device_" + std::to_string(kAsic) + "_memory";
  ~Writer() override { remove_tree(dir); }

  tt_shm::Region read() const {
    tt_shm::Region r{};
    const int fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::pread(fd, &r, sizeof(r), 0), static_cast<ssize_t>(sizeof(r)));
    ::close(fd);
    return r;
  }
  static const tt_shm::ProcessStats* slot(const tt_shm::Region& r, pid_t pid) {
    for (const auto& s : r.processes)
      if (s.pid == pid) return &s;
    return nullptr;
  }
  // A process that attaches, runs `work`, and exits without detaching (as a killed one does).
  template <typename Work>
  pid_t dies_holding(Work work) {
    const pid_t child = ::fork();
    if (child == 0) {
      TtShmPublisher publisher(dir);
      work(publisher);
      ::_exit(0);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, 0), child);
    return child;
  }
};

bool all_zero(const char* bytes, size_t size) {
  for (size_t i = 0; i < size; ++i)
    if (bytes[i]) return false;
  return true;
}

}  // namespace

TEST_F(Writer, SlotsAreReapedOnAttachAndOnDetachAndTheLastToLeaveResets) {
  // A live process holding 10 MiB that detaches when told.
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  const pid_t live = ::fork();
  if (live == 0) {
    TtShmPublisher publisher(dir);
    publisher.attach(0, kAsic);
    publisher.record(0, ALLOCMON_DRAM, 10 * kMiB);
    char c = 1;
    if (::write(ready[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 1) ::_exit(2);
    publisher.detach(0);
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);

  // Killed holding 30 MiB DRAM and CB stored whole (5 + 3 - 2 = 6 MiB), under a name longer than comm's 15.
  const pid_t killed = dies_holding([&](TtShmPublisher& p) {
    ::prctl(PR_SET_NAME, "a_very_long_process_name");
    p.attach(0, kAsic);
    p.record(0, ALLOCMON_DRAM, 30 * kMiB);
    p.record(0, ALLOCMON_CB, 5 * kMiB);
    p.record(0, ALLOCMON_CB, 3 * kMiB);
    p.record(0, ALLOCMON_CB, -2 * static_cast<int64_t>(kMiB));
  });
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  tt_shm::Region r = read();
  EXPECT_EQ(r.version, tt_shm::kMaxVersion);
  EXPECT_EQ(r.init_state, tt_shm::kInitReady);
  ASSERT_NE(slot(r, killed), nullptr);
  EXPECT_STREQ(slot(r, killed)->name, "a_very_long_pro");
  EXPECT_EQ(slot(r, killed)->bytes[kCb], 6 * kMiB);
  EXPECT_EQ(r.totals[kDram], 40 * kMiB);
  EXPECT_EQ(r.totals[kCb], 6 * kMiB);

  // Attaching reaps the killed process's slot: its bytes leave the totals, its name and time are cleared.
  TtShmPublisher publisher(dir);
  publisher.attach(0, kAsic);
  r = read();
  EXPECT_EQ(slot(r, killed), nullptr);
  EXPECT_EQ(r.totals[kDram], 10 * kMiB);
  EXPECT_EQ(r.totals[kCb], 0u);
  for (const auto& s : r.processes)
    if (s.pid == 0) {
      EXPECT_EQ(s.last_update_ns, 0u);
      EXPECT_TRUE(all_zero(s.name, sizeof(s.name)));
    }
  EXPECT_EQ(r.reference_count, 2u);  // the live process and this one

  // Another is killed holding L1; this process's clean detach reaps it.
  dies_holding([&](TtShmPublisher& p) {
    p.attach(0, kAsic);
    p.record(0, ALLOCMON_L1, 7 * kMiB);
  });
  EXPECT_EQ(read().totals[kL1], 7 * kMiB);
  publisher.detach(0);
  r = read();
  EXPECT_EQ(r.totals[kL1], 0u);
  EXPECT_EQ(r.totals[kDram], 10 * kMiB);
  EXPECT_EQ(r.reference_count, 1u);

  // Bytes no slot explains (a torn update): the last process to leave zeroes them with everything else.
  r.totals[kTrace] = 5 * kMiB;
  write_region(dir, r);
  ASSERT_EQ(::write(go[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(live, &status, 0), live);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  r = read();
  for (int t = 0; t < tt_shm::kCountedTypes; ++t) EXPECT_EQ(r.totals[t], 0u) << t;
  for (const auto& s : r.processes) EXPECT_EQ(s.pid, 0);
  EXPECT_EQ(r.reference_count, 0u);
  for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
}

TEST_F(Writer, ASlotAnotherProcessIsReleasingIsNotSubtractedTwice) {
  const pid_t gone = dies_holding([](TtShmPublisher&) {});
  write_region(dir, make_region(4, kAsic, 0, {{-1, "", 20 * kMiB}, {gone, "gone", 5 * kMiB}}));
  TtShmPublisher publisher(dir);
  publisher.attach(0, kAsic);
  const tt_shm::Region r = read();
  EXPECT_EQ(r.totals[kDram], 20 * kMiB);  // only the dead slot's 5 MiB left; the -1 slot is its releaser's
  ASSERT_NE(slot(r, -1), nullptr);
  EXPECT_EQ(slot(r, -1)->bytes[kDram], 20 * kMiB);
  EXPECT_EQ(slot(r, gone), nullptr);
}

TEST_F(Writer, ARegionAnotherProcessIsInitialisingIsNotStartedOver) {
  tt_shm::Region region = make_region(4, kAsic, 3, {}, /*extra_dram=*/9 * kMiB);
  region.init_state = tt_shm::kInitInProgress;
  region.reference_count = 1;
  write_region(dir, region);
  TtShmPublisher publisher(dir);
  publisher.attach(0, kAsic);  // waits a bounded time for it to become ready, then leaves it alone
  const tt_shm::Region r = read();
  EXPECT_EQ(r.init_state, tt_shm::kInitInProgress);
  EXPECT_EQ(r.totals[kDram], 9 * kMiB);
  EXPECT_EQ(r.device_id, 3u);
  EXPECT_EQ(slot(r, ::getpid()), nullptr);
  publisher.detach(0);
}
