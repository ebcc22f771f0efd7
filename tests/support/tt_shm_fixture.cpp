#include "tt_shm_fixture.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace allocmon::test {

namespace {
void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}
}  // namespace

tt_shm::Region make_region(uint32_t version, uint64_t asic_id, uint32_t device_id,
                           const std::vector<FixtureSlot>& slots, uint64_t extra_dram) {
  tt_shm::Region r{};
  r.version = version;
  r.asic_id = asic_id;
  r.device_id = device_id;
  r.reference_count = static_cast<uint32_t>(slots.size());
  r.num_active_processes = static_cast<uint32_t>(slots.size());
  r.last_update_ns = 1'700'000'000'000'000'000ull;
  for (auto& chip : r.chips) chip.chip_id = tt_shm::kChipUnused;
  r.chips[0].chip_id = device_id;
  if (slots.size() > tt_shm::kMaxProcesses) throw std::invalid_argument("too many slots");
  for (size_t i = 0; i < slots.size(); ++i) {
    tt_shm::ProcessStats& p = r.processes[i];
    p.pid = slots[i].pid;
    const uint64_t bytes[] = {slots[i].dram, slots[i].l1, slots[i].l1_small, slots[i].trace, slots[i].cb};
    for (int t = 0; t < tt_shm::kCountedTypes; ++t) {
      p.bytes[t] = bytes[t];
      r.totals[t] += bytes[t];
    }
    p.last_update_ns = slots[i].last_update_ns;
    std::strncpy(p.name, slots[i].name.c_str(), sizeof(p.name) - 1);
  }
  r.totals[0] += extra_dram;
  if (version >= tt_shm::kVersionWithInitState) r.init_state = tt_shm::kInitReady;
  return r;
}

std::string write_region(const std::string& dir, const tt_shm::Region& region, size_t size) {
  const std::string path = dir + "/tt_device_" + std::to_string(region.asic_id) + "_memory";
  if (size == 0)
    size = region.version >= tt_shm::kVersionWithInitState ? sizeof(region)
                                                           : tt_shm::required_size(region.version);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  const size_t n = std::min(size, sizeof(region));
  const bool ok = ::pwrite(fd, &region, n, 0) == static_cast<ssize_t>(n) &&
                  ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path);
  return path;
}

void write_fake_process(const std::string& proc_root, int pid, uid_t uid, const std::string& comm,
                        const std::vector<std::string>& argv, long start_after_boot_s,
                        const std::vector<int>& nspids) {
  if (pid != 2 && !std::filesystem::exists(proc_root + "/2")) {
    std::filesystem::create_directories(proc_root + "/2");
    write_text(proc_root + "/2/status",
               "Name:\tkthreadd\nUmask:\t0000\nState:\tS (sleeping)\nTgid:\t2\nNgid:\t0\nPid:\t2\nPPid:\t0\n"
               "Uid:\t0\t0\t0\t0\nNSpid:\t2\n");
  }
  const std::string dir = proc_root + "/" + std::to_string(pid);
  std::filesystem::create_directories(dir);
  std::string nspid = std::to_string(pid);
  for (int inner : nspids) nspid += "\t" + std::to_string(inner);
  write_text(dir + "/status", "Name:\t" + comm + "\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t" +
                                  std::to_string(pid) + "\nPPid:\t1\nUid:\t" + std::to_string(uid) + "\t" +
                                  std::to_string(uid) + "\t" + std::to_string(uid) + "\t" +
                                  std::to_string(uid) + "\nNSpid:\t" + nspid + "\n");
  write_text(dir + "/comm", comm + "\n");
  std::string cmdline;
  for (const auto& a : argv) cmdline += a + '\0';
  write_text(dir + "/cmdline", cmdline);
  if (start_after_boot_s >= 0) {
    const long ticks = start_after_boot_s * ::sysconf(_SC_CLK_TCK);
    // Fields 3.. after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    // stime cutime cstime priority nice threads itrealvalue starttime
    write_text(dir + "/stat", std::to_string(pid) + " (" + comm +
                                  ") S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 " + std::to_string(ticks) +
                                  " 0 0\n");
    write_text(proc_root + "/stat", "cpu  1 2 3 4\nbtime 1700000000\nprocesses 1\n");
  }
}

std::string make_temp_dir(const std::string& tag) {
  std::string pattern = "/tmp/allocmon-" + tag + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

void remove_tree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

}  // namespace allocmon::test
