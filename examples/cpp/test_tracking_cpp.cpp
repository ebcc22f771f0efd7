// Single-device C++ check (the seed's test_tracking_cpp.cpp): open a device of the emulated mesh, allocate
// one large DRAM buffer, free it, close, and verify each step through the server's query API. Usage:
// TT_ALLOC_TRACKING_ENABLED=1 test_tracking_cpp [--socket PATH]; exit status 0 = pass.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "common/unix_socket.hpp"
#include "mesh/mesh_device.hpp"
#include "query/query_client.hpp"

using namespace allocmon;

namespace {

// DRAM bytes device 0 holds for this process, per the server; -1 when not checkable.
long long dram_on_device0(const std::string& socket) {
  if (flush(5000) != ALLOCMON_FLUSH_OK) return -1;
  QueryClient client;
  std::string error;
  if (!client.connect(socket, &error)) return -1;
  auto text = client.snapshot(5000, &error);
  if (!text) return -1;
  const nlohmann::json snapshot =
      nlohmann::json::parse(*text);  // named: a temporary would dangle in the loop
  for (const auto& p : snapshot["processes"])
    if (p["pid"].get<int>() == static_cast<int>(::getpid()))
      for (const auto& d : p["devices"])
        if (d["id"].get<int>() == 0)
          return d["memory"].contains("DRAM") ? d["memory"]["DRAM"]["allocated"].get<long long>() : 0;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = socket_path_from_env();
  if (argc == 3 && std::string(argv[1]) == "--socket") socket = argv[2];
  allocmon_configure(allocmon_tracking_enabled, socket.c_str());
  int failures = 0;
  auto check = [&](long long got, long long want, const char* label) {
    if (got < 0) return;  // tracking off or no server: nothing to compare
    std::printf("  %s %s: device 0 DRAM %lld B (expected %lld)\n", got == want ? "✓" : "✗", label, got, want);
    failures += got != want;
  };

  mesh::MeshOptions options;
  options.rows = options.cols = 1;
  auto device = mesh::MeshDevice::open(options);
  const long long baseline = dram_on_device0(socket);
  auto buffer = device->allocate(mesh::BufferType::DRAM, 512ull << 20, 2048);
  check(dram_on_device0(socket), baseline + (512ll << 20), "after a 512 MiB allocation");
  buffer->deallocate();
  check(dram_on_device0(socket), baseline, "after free");
  device->close();
  check(dram_on_device0(socket), 0, "after close");
  std::printf("%s\n", failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
