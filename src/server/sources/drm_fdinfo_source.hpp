// Per-process GPU memory from DRM fdinfo (Linux Documentation/gpu/drm-usage-stats.rst; amdgpu, i915, xe,
// msm, panfrost and others): each DRM file descriptor's /proc/PID/fdinfo/FD lists drm-total-<region>,
// drm-resident-<region> or the older drm-memory-<region>. Device-local regions (vram, local) count as DRAM;
// host-memory regions (gtt, system, cpu) are not device memory and are left out.
#pragma once

#include <map>

#include "proc_reader.hpp"
#include "source.hpp"

namespace allocmon::server {

struct DrmFdinfoOptions {
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";     // VRAM capacity from /sys/bus/pci/devices/<pdev>/mem_info_vram_total
  std::string dri_dir = "/dev/dri";  // the scan runs only when this exists
  int interval_ms = 1000;
  size_t max_processes = 4096;
};

// One DRM client as its fdinfo describes it.
struct DrmClient {
  std::string driver;
  std::string pdev;
  std::string client_id;
  uint64_t device_bytes = 0;    // drm-total (else drm-memory) of the device-local regions
  uint64_t resident_bytes = 0;  // drm-resident of the same regions
};

// Parses one fdinfo file; nullopt when it is not a DRM client's.
std::optional<DrmClient> parse_drm_fdinfo(std::string_view text);

class DrmFdinfoSource : public Source {
 public:
  explicit DrmFdinfoSource(DrmFdinfoOptions options);
  std::string_view name() const override { return "drm-fdinfo"; }
  int interval_ms() const override { return options_.interval_ms; }
  SourceReport poll() override;

 private:
  DrmFdinfoOptions options_;
  ProcReader proc_;
  std::map<std::string, int32_t> device_ids_;  // PCI address -> device id, stable for the server's life
};

}  // namespace allocmon::server
