// libFuzzer target: the monitor's snapshot decoder on arbitrary text (a broken or hostile server must not
// crash the monitor), plus the plain renderer on whatever it accepted.
#include <string>

#include "monitor/snapshot_model.hpp"
#include "monitor/view.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string error;
  auto snapshot =
      allocmon::monitor::parse_snapshot(std::string_view(reinterpret_cast<const char*>(data), size), &error);
  if (snapshot) {
    allocmon::monitor::Frame frame;
    frame.snapshot = &*snapshot;
    allocmon::monitor::ViewOptions options;
    options.device_ids = {0, 1, 99};
    (void)allocmon::monitor::render_plain(frame, options);
    options.compact = true;
    options.device_ids.clear();
    (void)allocmon::monitor::render_plain(frame, options);
  }
  return 0;
}
