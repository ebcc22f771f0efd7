// Fuzz target: any bytes as a tt-metal shared-memory region file (and the process slots it names), read by
// the server's tt-metal source and merged into accounting. A file in /dev/shm can be written by any user:
// nothing in it may crash, hang or corrupt the server.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "server/accounting.hpp"
#include "server/sources/tt_shm_source.hpp"

namespace {

struct Folders {
  std::string shm, proc;
  Folders() {
    char a[] = "/tmp/fuzz-tt-shm-XXXXXX", b[] = "/tmp/fuzz-tt-proc-XXXXXX";
    shm = ::mkdtemp(a);
    proc = ::mkdtemp(b);
    // Two live processes the slots may name (one of another user), everything else is gone.
    for (auto [pid, uid] : {std::pair{1, ::getuid()}, std::pair{2, ::getuid() + 1}}) {
      const std::string dir = proc + "/" + std::to_string(pid);
      ::mkdir(dir.c_str(), 0755);
      std::ofstream(dir + "/status") << "Name:\tp\nUid:\t" << uid << "\t" << uid << "\n";
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Folders folders;
  using namespace allocmon::server;
  // The first byte picks how many copies of the region go into the folder (several files, one device id).
  const int files = size ? 1 + data[0] % 3 : 1;
  for (int i = 0; i < 3; ++i) {
    const std::string path = folders.shm + "/tt_device_" + std::to_string(i) + "_memory";
    if (i < files)
      std::ofstream(path, std::ios::binary | std::ios::trunc)
          .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    else
      ::unlink(path.c_str());
  }
  TtShmOptions options;
  options.directory = folders.shm;
  options.proc_root = folders.proc;
  options.capacity[ALLOCMON_DRAM] = 1ull << 34;
  TtShmSource source(options);
  Accounting accounting;
  accounting.add_client(1, 1, ::getuid(), "client");
  accounting.set_polled("tt-metal-shm", source.poll(), 250);
  accounting.set_polled("tt-metal-shm", source.poll(), 250);
  accounting.remove_client(1);
  for (const auto& [id, device] : accounting.devices())
    for (const auto& totals : device.totals)
      if (totals.bytes > totals.peak) std::abort();  // held bytes never exceed the high-water mark
  return 0;
}
