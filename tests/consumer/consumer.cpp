// The C++ header from the installed package: compiles and reports with the inline wrappers.
#include <allocmon/client.hpp>
#include <cstdio>

int main() {
  allocmon::DeviceInfo info;
  info.device_id = 7;
  allocmon::register_device(info);
  allocmon::track_alloc(7, allocmon::MemoryType::L1, 2048, 0, 1);
  allocmon::track_free(7, 1);
  std::printf("flush %d\n", allocmon::flush(5000));
  return 0;
}
