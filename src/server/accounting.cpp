#include "accounting.hpp"

#include <algorithm>
#include <climits>
#include <set>

namespace allocmon::server {

std::string_view problem_name(EventProblem problem) {
  switch (problem) {
    case EventProblem::kNone:
      return "none";
    case EventProblem::kUnknownFree:
      return "unknown_free";
    case EventProblem::kDoubleFree:
      return "double_free";
    case EventProblem::kDuplicateAlloc:
      return "duplicate_alloc";
    case EventProblem::kUnregisteredDevice:
      return "unregistered_device";
    case EventProblem::kBadMemoryType:
      return "bad_memory_type";
    case EventProblem::kBadEventKind:
      return "bad_event_kind";
    case EventProblem::kConflictingDevice:
      return "conflicting_device";
    case EventProblem::kOverCapacity:
      return "over_capacity";
    case EventProblem::kCount:
      break;
  }
  return "?";
}

void Accounting::add_client(ClientId client, pid_t pid, uid_t uid, std::string name, std::string cmdline) {
  ProcessRecord& process = processes_[client];
  process.client = client;
  process.pid = pid;
  process.uid = uid;
  process.name = std::move(name);
  process.cmdline = std::move(cmdline);
  process.recent_frees.fill(BufferKey{INT32_MIN, 0});  // an impossible key: nothing freed yet
  ++counters_.clients_total;
  if (!polled_.empty()) merge_polled();  // its bytes in a region are now counted through its buffers
}

ProcessRecord* Accounting::find(ClientId client) {
  auto it = processes_.find(client);
  return it == processes_.end() ? nullptr : &it->second;
}

const ProcessRecord* Accounting::process(ClientId client) const {
  auto it = processes_.find(client);
  return it == processes_.end() ? nullptr : &it->second;
}

void Accounting::release_one(ProcessRecord& process, const BufferKey& key, const BufferRecord& buffer) {
  ProcessRecord::DeviceTotals totals = totals_for(process, key.device_id);
  if (!totals.device) {  // a device unregistered while its buffers are released
    totals.device = &devices_[key.device_id].totals;
    totals.mine = &process.per_device[key.device_id];
  }
  (*totals.device)[buffer.memory_type].remove(buffer.size);
  (*totals.mine)[buffer.memory_type].remove(buffer.size);
  --live_buffers_;
}

ProcessRecord::DeviceTotals Accounting::totals_for(ProcessRecord& process, int32_t device_id) {
  if (device_id >= 0 && device_id < ProcessRecord::kFastDevices) {
    if (static_cast<size_t>(device_id) < process.fast.size() && process.fast[device_id].device)
      return process.fast[device_id];
    if (!process.registered.count(device_id)) return {};
    if (process.fast.size() <= static_cast<size_t>(device_id)) process.fast.resize(device_id + 1);
    // std::map nodes do not move: the pointers stay valid until the device is unregistered (fast is cleared).
    DeviceRecord& device = devices_[device_id];
    process.fast[device_id] = {&device.totals, &process.per_device[device_id], &device.capacity};
    return process.fast[device_id];
  }
  if (!process.registered.count(device_id)) return {};
  DeviceRecord& device = devices_[device_id];
  return {&device.totals, &process.per_device[device_id], &device.capacity};
}

ReclaimReport Accounting::release_buffers(ProcessRecord& process, int32_t only_device) {
  ReclaimReport report;
  process.buffers.remove_if(
      [&](const BufferKey& key, const BufferRecord&) {
        return only_device < 0 || key.device_id == only_device;
      },
      [&](const BufferKey& key, const BufferRecord& buffer) {
        if (on_bulk_release) on_bulk_release(process, key, buffer);
        if (!process.origins.empty()) process.origins.erase(key);
        release_one(process, key, buffer);
        ++report.buffers;
        report.bytes += buffer.size;
        report.bytes_per_device[key.device_id] += buffer.size;
      });
  counters_.reclaimed_bytes += report.bytes;
  counters_.reclaimed_buffers += report.buffers;
  return report;
}

ReclaimReport Accounting::remove_client(ClientId client) {
  auto it = processes_.find(client);
  if (it == processes_.end()) return {};
  ReclaimReport report = release_buffers(it->second, -1);
  const auto registered = it->second.registered;
  processes_.erase(it);
  for (const auto& [device_id, unused] : registered) forget_registration(client, device_id);
  if (!polled_.empty()) merge_polled();
  return report;
}

ReclaimReport Accounting::reset_client(ClientId client) {
  ProcessRecord* process = find(client);
  if (!process) return {};
  ReclaimReport report = release_buffers(*process, -1);
  const auto registered = std::move(process->registered);
  process->registered.clear();
  process->fast.clear();
  process->per_device.clear();
  for (const auto& [device_id, unused] : registered) forget_registration(client, device_id);
  return report;
}

namespace {

bool same_description(const wire::RegisterDevice& a, const wire::RegisterDevice& b) {
  return a.mesh_row == b.mesh_row && a.mesh_col == b.mesh_col && a.grid_x == b.grid_x &&
         a.grid_y == b.grid_y &&
         std::equal(std::begin(a.capacity), std::end(a.capacity), std::begin(b.capacity)) &&
         wire::fixed_string(a.architecture, sizeof(a.architecture)) ==
             wire::fixed_string(b.architecture, sizeof(b.architecture));
}

void describe(DeviceRecord& device, const wire::RegisterDevice& registration) {
  device.architecture =
      std::string(wire::fixed_string(registration.architecture, sizeof(registration.architecture)));
  device.mesh_row = registration.mesh_row;
  device.mesh_col = registration.mesh_col;
  device.reported_by_client = true;
  for (int t = 0; t < wire::kNumMemoryTypes; ++t) device.capacity[t] = registration.capacity[t];
}

}  // namespace

EventProblem Accounting::register_device(ClientId client, const wire::RegisterDevice& registration) {
  ProcessRecord* process = find(client);
  if (!process) return EventProblem::kNone;
  DeviceRecord& device = devices_[registration.device_id];
  device.id = registration.device_id;
  if (process->registered.insert_or_assign(registration.device_id, registration).second)
    ++device.registrations;
  process->per_device[registration.device_id];  // the process shows the device even before its first buffer
  if (device.owner == 0 || device.owner == client) {
    device.owner = client;
    describe(device, registration);
    return EventProblem::kNone;
  }
  const ProcessRecord* owner = this->process(device.owner);
  if (owner && same_description(owner->registered.at(registration.device_id), registration))
    return EventProblem::kNone;
  ++process->problems[static_cast<size_t>(EventProblem::kConflictingDevice)];
  ++counters_.problems[static_cast<size_t>(EventProblem::kConflictingDevice)];
  return EventProblem::kConflictingDevice;
}

void Accounting::forget_registration(ClientId client, int32_t device_id) {
  DeviceRecord& device = devices_[device_id];
  // The allocator statistics were the last registrant's: once nobody has it open they describe nothing.
  if (--device.registrations == 0) device.free_space = {};
  if (device.owner != client) return;
  device.owner = 0;
  for (auto& [id, process] : processes_) {  // the oldest remaining registrant describes it now
    auto it = process.registered.find(device_id);
    if (it == process.registered.end()) continue;
    device.owner = id;
    describe(device, it->second);
    return;
  }
}

ReclaimReport Accounting::unregister_device(ClientId client, int32_t device_id) {
  ProcessRecord* process = find(client);
  if (!process || !process->registered.erase(device_id)) return {};
  ReclaimReport report = release_buffers(*process, device_id);
  process->fast.clear();  // its pointers into per_device
  process->per_device.erase(device_id);
  forget_registration(client, device_id);
  return report;
}

ApplyResult Accounting::apply(ClientId client, const wire::Event& event, int64_t now_ms) {
  ProcessRecord* process = find(client);
  if (!process) return {EventProblem::kUnregisteredDevice, 0, 0};
  return apply(*process, event, now_ms);
}

ApplyResult Accounting::apply(ProcessRecord& process, const wire::Event& event, int64_t now_ms) {
  auto problem = [&](EventProblem p) {
    ++process.problems[static_cast<size_t>(p)];
    ++counters_.problems[static_cast<size_t>(p)];
    return ApplyResult{p, 0, event.memory_type};
  };
  const ProcessRecord::DeviceTotals totals = totals_for(process, event.device_id);
  if (!totals.device) return problem(EventProblem::kUnregisteredDevice);
  const BufferKey key{event.device_id, event.buffer_id};

  switch (static_cast<wire::EventKind>(event.kind)) {
    case wire::EventKind::kAlloc: {
      if (!wire::valid_memory_type(event.memory_type)) return problem(EventProblem::kBadMemoryType);
      const bool inserted =
          process.buffers
              .try_emplace(
                  key, BufferRecord{event.size, event.address, now_ms, event.memory_type, event.layout,
                                    static_cast<uint16_t>(std::min<uint32_t>(event.shard_count, UINT16_MAX)),
                                    event.page_size})
              .second;
      if (!inserted) return problem(EventProblem::kDuplicateAlloc);
      TypeTotals& device_type = (*totals.device)[event.memory_type];
      const uint64_t capacity = (*totals.capacity)[event.memory_type];
      // Counted when the device crosses its capacity (not per alloc above it): the runtime and allocmon
      // disagree about the device (a wrong capacity, a double report), which totals alone would hide.
      if (capacity && device_type.bytes <= capacity && device_type.bytes + event.size > capacity) {
        ++process.problems[static_cast<size_t>(EventProblem::kOverCapacity)];
        ++counters_.problems[static_cast<size_t>(EventProblem::kOverCapacity)];
      }
      device_type.add(event.size);
      (*totals.mine)[event.memory_type].add(event.size);
      ++live_buffers_;
      ++counters_.events_applied;
      return {EventProblem::kNone, event.size, event.memory_type};
    }
    case wire::EventKind::kFree: {
      const BufferRecord* found = process.buffers.find(key);
      if (!found) {
        const auto& recent = process.recent_frees;
        const bool seen = std::find(recent.begin(), recent.end(), key) != recent.end();
        return problem(seen ? EventProblem::kDoubleFree : EventProblem::kUnknownFree);
      }
      const BufferRecord buffer = *found;
      (*totals.device)[buffer.memory_type].remove(buffer.size);
      (*totals.mine)[buffer.memory_type].remove(buffer.size);
      --live_buffers_;
      process.buffers.erase(key);
      if (!process.origins.empty()) process.origins.erase(key);
      process.recent_frees[process.recent_free_next++ % process.recent_frees.size()] = key;
      ++counters_.events_applied;
      return {EventProblem::kNone, buffer.size, buffer.memory_type};
    }
    case wire::EventKind::kRegion: {
      if (!wire::valid_memory_type(event.memory_type)) return problem(EventProblem::kBadMemoryType);
      Region& region = devices_[event.device_id].regions[event.memory_type];
      region = {true,
                event.address,
                event.size,
                static_cast<uint32_t>(std::min<uint64_t>(event.buffer_id, UINT32_MAX)),
                event.page_size,
                event.shard_count};
      ++counters_.events_applied;
      return {EventProblem::kNone, 0, event.memory_type};
    }
    case wire::EventKind::kFreeSpace: {
      if (!wire::valid_memory_type(event.memory_type)) return problem(EventProblem::kBadMemoryType);
      FreeSpace& space = devices_[event.device_id].free_space[event.memory_type];
      space.known = true;
      space.free_bytes = event.size;
      space.largest_free_block = event.address;
      ++counters_.events_applied;
      return {EventProblem::kNone, 0, event.memory_type};
    }
    case wire::EventKind::kContext:
      break;  // a connection's state (Session), never a buffer event
  }
  return problem(EventProblem::kBadEventKind);
}

void Accounting::set_polled(const std::string& source, SourceReport report, int interval_ms) {
  PolledSourceState& state = polled_[source];
  state.report = std::move(report);
  state.interval_ms = interval_ms;
  ++state.rounds;
  merge_polled();
}

void Accounting::merge_polled() {
  std::set<pid_t> reporting;  // pids with liballocmon connections: their buffers are the truth
  for (auto& [client, process] : processes_) {
    if (process.polled()) {  // rebuilt below from the reports (its peaks are the current bytes)
      process.per_device.clear();
      process.sources.clear();
    } else {
      reporting.insert(process.pid);
    }
    process.holds.clear();
  }
  std::map<int32_t, TypeBytes> polled_bytes;
  for (auto& [id, device] : devices_) {
    device.sources.clear();
    device.unattributed = {};
    device.stale = {};
    device.stale_processes.clear();
    device.unattributed_processes.clear();
    device.polled_in_use = false;
    polled_bytes[id];
  }
  auto polled_record = [&](pid_t pid) -> ProcessRecord& {
    const ClientId key = ProcessRecord::kPolledClientBase + static_cast<uint32_t>(pid);
    ProcessRecord& record = processes_[key];
    record.client = key;
    record.pid = pid;
    return record;
  };
  auto add_source = [](std::vector<std::string>& list, const std::string& name) {
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  };

  for (const auto& [source, state] : polled_) {
    for (const SourceDevice& d : state.report.devices) {
      DeviceRecord& device = devices_[d.id];
      device.id = d.id;
      add_source(device.sources, source);
      if (!device.reported_by_client) {
        if (!d.architecture.empty()) device.architecture = d.architecture;
        for (size_t t = 0; t < d.capacity.size(); ++t)
          if (d.capacity[t]) device.capacity[t] = d.capacity[t];
      }
      if (d.asic_id) device.asic_id = d.asic_id;
      if (d.logical_id) device.logical_id = d.logical_id;
      if (!d.location.empty()) device.location = d.location;
      device.polled_in_use = device.polled_in_use || d.in_use;
      TypeBytes& sum = polled_bytes[d.id];
      for (const ProcessShare& share : d.shares) {
        if (reporting.count(share.pid)) continue;
        ProcessRecord& record = polled_record(share.pid);
        add_source(record.sources, source);
        if (record.name.empty()) record.name = share.name;
        PerType& per_type = record.per_device[d.id];
        for (size_t t = 0; t < share.bytes.size(); ++t) {
          sum[t] += share.bytes[t];
          per_type[t].bytes += share.bytes[t];
          per_type[t].peak = std::max(per_type[t].peak, per_type[t].bytes);
        }
      }
      for (size_t t = 0; t < d.unattributed.size(); ++t) {
        sum[t] += d.unattributed[t];
        device.unattributed[t] += d.unattributed[t];
      }
      device.unattributed_processes.insert(device.unattributed_processes.end(), d.unattributed_slots.begin(),
                                           d.unattributed_slots.end());
      for (const ProcessShare& share : d.stale) {
        for (size_t t = 0; t < share.bytes.size(); ++t) device.stale[t] += share.bytes[t];
        device.stale_processes.push_back(share);
      }
    }
  }
  // Then who the processes are (a process's first source is one that gives it bytes).
  for (const auto& [source, state] : polled_) {
    for (const SourceProcess& p : state.report.processes) {
      ProcessRecord* record = nullptr;
      for (auto& [client, process] : processes_)
        if (process.pid == p.pid && !process.polled()) record = &process;
      if (!record) {
        record = &polled_record(p.pid);
        add_source(record->sources, source);
        record->uid = p.uid;
        if (!p.name.empty()) record->name = p.name;
      }
      if (record->cmdline.empty()) record->cmdline = p.cmdline;
      record->user = p.user;
      for (const auto& path : p.holds) add_source(record->holds, path);
    }
  }

  for (auto& [id, device] : devices_) {
    const TypeBytes& now = polled_bytes[id];
    for (size_t t = 0; t < now.size(); ++t) {
      TypeTotals& totals = device.totals[t];
      totals.bytes = totals.bytes - device.polled[t] + now[t];
      totals.peak = std::max(totals.peak, totals.bytes);
    }
    device.polled = now;
  }
  // A chip's alias id that no source uses any more (its chip went, or took its logical id back) is gone.
  std::erase_if(devices_, [](const auto& entry) {
    const DeviceRecord& d = entry.second;
    return entry.first >= kFirstChipAliasId && d.sources.empty() && d.registrations == 0 &&
           !d.reported_by_client && total_bytes(d.totals) == 0;
  });
  // Polled records that no source names any more are gone.
  std::erase_if(processes_,
                [](const auto& entry) { return entry.second.polled() && entry.second.sources.empty(); });
}

}  // namespace allocmon::server
