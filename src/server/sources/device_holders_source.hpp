// Who holds each Tenstorrent device (nvidia-smi's process list): the processes with /dev/tenstorrent/N open,
// shown even when they report nothing. tt-kmd lists them in /proc/driver/tenstorrent/N/pids (newer
// versions); otherwise every process's open files are scanned, less often since that walk costs more.
#pragma once

#include "proc_reader.hpp"
#include "source.hpp"

namespace allocmon::server {

struct DeviceHoldersOptions {
  std::string proc_root = "/proc";
  std::string device_dir = "/dev/tenstorrent";  // the fallback scan runs only when this exists
  int interval_ms = 250;                        // with tt-kmd's pids files
  int scan_interval_ms = 2000;                  // scanning /proc/*/fd
  size_t max_processes = 4096;                  // the scan reads at most this many processes
};

class DeviceHoldersSource : public Source {
 public:
  explicit DeviceHoldersSource(DeviceHoldersOptions options);
  std::string_view name() const override { return "tt-kmd"; }
  int interval_ms() const override;
  SourceReport poll() override;

 private:
  bool driver_lists_pids() const;

  DeviceHoldersOptions options_;
  ProcReader proc_;
};

}  // namespace allocmon::server
