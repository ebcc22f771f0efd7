#include "event_log.hpp"

#include <cinttypes>
#include <string>

namespace allocmon::server {

namespace {
std::string type_name(uint8_t code) {
  return std::string(wire::memory_type_name(code));
}
}  // namespace

void EventLog::allocated(pid_t pid, const wire::Event& event) {
  if (quiet_) return;
  std::fprintf(out_, "✓ [PID %d] Allocated %" PRIu64 " bytes of %s on device %d (buffer_id=0x%" PRIx64 ")\n",
               pid, event.size, type_name(event.memory_type).c_str(), event.device_id, event.buffer_id);
}

void EventLog::freed(pid_t pid, const wire::Event& event, uint64_t size) {
  if (quiet_) return;
  std::fprintf(out_, "↩ [PID %d] Freed buffer 0x%" PRIx64 " on device %d (%" PRIu64 " bytes)\n", pid,
               event.buffer_id, event.device_id, size);
}

void EventLog::registered(pid_t pid, const std::string& name, const wire::RegisterDevice& r) {
  if (quiet_) return;
  std::string arch(wire::fixed_string(r.architecture, sizeof(r.architecture)));
  if (r.mesh_row >= 0)
    std::fprintf(out_, "🔌 [PID %d] %s registered device %d (%s, mesh position row %d col %d)\n", pid,
                 name.c_str(), r.device_id, arch.c_str(), r.mesh_row, r.mesh_col);
  else
    std::fprintf(out_, "🔌 [PID %d] %s registered device %d (%s)\n", pid, name.c_str(), r.device_id,
                 arch.c_str());
}

void EventLog::unregistered(pid_t pid, int32_t device_id, const ReclaimReport& report) {
  if (quiet_) return;
  std::fprintf(out_, "🔌 [PID %d] Unregistered device %d", pid, device_id);
  if (report.buffers)
    std::fprintf(out_, " (released %" PRIu64 " buffers still held, %" PRIu64 " bytes)", report.buffers,
                 report.bytes);
  std::fputc('\n', out_);
}

void EventLog::problem(pid_t pid, EventProblem problem, const wire::Event& event) {
  // Problems are logged once per kind per client even with --quiet: they point at a bug in the reporting
  // runtime.
  std::fprintf(out_,
               "⚠ [PID %d] %s: device %d, buffer_id=0x%" PRIx64
               " (ignored; further %s events from this client are only counted)\n",
               pid, std::string(problem_name(problem)).c_str(), event.device_id, event.buffer_id,
               std::string(problem_name(problem)).c_str());
}

void EventLog::conflicting_device(pid_t pid, const wire::RegisterDevice& r) {
  std::fprintf(
      out_,
      "⚠ [PID %d] conflicting_device: device %d is registered by another live process with a different "
      "description (architecture, mesh position, grid or capacity); this one (%s) is not applied, the "
      "first registrant's stays (further conflicts from this client are only counted)\n",
      pid, r.device_id, std::string(wire::fixed_string(r.architecture, sizeof(r.architecture))).c_str());
}

void EventLog::protocol_error(pid_t pid, std::string_view what) {
  std::fprintf(out_, "⚠ [PID %d] protocol error: %.*s; connection closed\n", pid,
               static_cast<int>(what.size()), what.data());
}

void EventLog::reclaimed(pid_t pid, const std::string& name, std::string_view why,
                         const ReclaimReport& report) {
  if (report.buffers == 0) {
    if (!quiet_)
      std::fprintf(out_, "👋 [PID %d] %s %.*s (nothing left to reclaim)\n", pid, name.c_str(),
                   static_cast<int>(why.size()), why.data());
    return;
  }
  std::string per_device;
  for (const auto& [device, bytes] : report.bytes_per_device) {
    if (!per_device.empty()) per_device += ", ";
    per_device += "device " + std::to_string(device) + ": " + std::to_string(bytes);
  }
  std::fprintf(out_, "♻ [PID %d] %s %.*s: reclaimed %" PRIu64 " buffers, %" PRIu64 " bytes (%s)\n", pid,
               name.c_str(), static_cast<int>(why.size()), why.data(), report.buffers, report.bytes,
               per_device.c_str());
}

void EventLog::statistics(const Accounting& accounting, bool periodic) {
  const uint64_t events = accounting.counters().events_applied;
  if (periodic && quiet_ && events == last_events_) return;  // an idle quiet server stays quiet
  last_events_ = events;
  std::fprintf(out_, "\n📊 Current Statistics:\n");
  std::string empty;  // devices holding nothing: one line for all of them
  for (const auto& [id, device] : accounting.devices()) {
    if (total_buffers(device.totals) == 0 && total_bytes(device.totals) == 0) {
      empty += (empty.empty() ? "" : " ") + std::to_string(id);
      continue;
    }
    std::fprintf(out_, "  Device %d:\n", id);
    std::fprintf(out_, "    Buffers: %" PRIu64 "\n", total_buffers(device.totals));
    for (int t = 0; t < wire::kNumMemoryTypes; ++t)
      if (device.totals[t].bytes)
        std::fprintf(out_, "    %s: %" PRIu64 " bytes\n", std::string(wire::kMemoryTypeNames[t]).c_str(),
                     device.totals[t].bytes);
    std::fprintf(out_, "    Total: %" PRIu64 " bytes\n", total_bytes(device.totals));
  }
  if (!empty.empty()) std::fprintf(out_, "  Devices with nothing allocated: %s\n", empty.c_str());
  std::fprintf(out_, "  Active allocations: %" PRIu64 "\n\n", accounting.live_buffers());
}

void EventLog::notice(std::string_view text) {
  std::fprintf(out_, "%.*s\n", static_cast<int>(text.size()), text.data());
}

}  // namespace allocmon::server
