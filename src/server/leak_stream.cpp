#include "leak_stream.hpp"

#include <cstring>

#include "snapshot_json.hpp"

namespace allocmon::server {

bool LeakStream::produce(const Accounting& accounting, int64_t now_ms, size_t budget, std::string& out) {
  constexpr size_t kChunkRecords = 4096;  // 160 KiB per frame
  const auto& processes = accounting.processes();
  const size_t start = out.size();
  while (out.size() - start < budget) {
    auto it = exhausted_ ? processes.end() : processes.lower_bound(next_client_);
    while (it != processes.end() && (it->second.buffers.empty() || !may_see(viewer_, it->second.uid))) ++it;
    if (it == processes.end()) {
      wire::LeakEnd end{static_cast<uint64_t>(now_ms), sent_};
      wire::append_message(out, wire::MessageType::kLeakEnd, end, version_);
      return true;
    }
    const ProcessRecord& process = it->second;
    wire::LeakChunkHeader header{};
    if (!in_process_ || it->first != next_client_) {
      next_client_ = it->first;
      in_process_ = true;
      slot_ = 0;
      generation_ = process.buffers.generation();
    } else if (process.buffers.generation() != generation_) {
      header.flags = wire::kRestartProcess;  // rebuilt since we began: its earlier records may be repeated
      slot_ = 0;
      generation_ = process.buffers.generation();
    }
    header.pid = process.pid;
    std::strncpy(header.name, process.name.c_str(), sizeof(header.name) - 1);
    const size_t header_at = out.size();
    wire::append_frame(out, wire::MessageType::kLeakChunk, &header, sizeof(header), version_);
    uint32_t count = 0;
    // v3 clients also get where each buffer came from, in a LeakOrigins frame after the chunk.
    const bool with_origins = version_ >= 3 && !process.origins.empty();
    origins_.clear();
    for (; slot_ < process.buffers.slot_count() && count < kChunkRecords; ++slot_) {
      const auto* b = process.buffers.slot(slot_);
      if (!b || (device_id_ >= 0 && b->first.device_id != device_id_)) continue;
      const BufferRecord& r = b->second;
      const wire::LeakBuffer record{
          b->first.buffer_id, r.size,   r.address,     now_ms - r.time_ms, b->first.device_id,
          r.memory_type,      r.layout, r.shard_count, r.page_size,        0};
      out.append(reinterpret_cast<const char*>(&record), sizeof(record));
      if (with_origins) {
        const auto origin = process.origins.find(b->first);
        origins_.push_back(origin == process.origins.end()
                               ? wire::LeakOrigin{0, 0, 0}
                               : wire::LeakOrigin{origin->second.context, 0, origin->second.seq});
      }
      ++count;
    }
    // Patch the frame's size and count now that they are known.
    header.count = count;
    std::memcpy(out.data() + header_at + sizeof(wire::FrameHeader), &header, sizeof(header));
    const uint32_t payload = static_cast<uint32_t>(sizeof(header) + count * sizeof(wire::LeakBuffer));
    std::memcpy(out.data() + header_at + offsetof(wire::FrameHeader, payload_size), &payload,
                sizeof(payload));
    sent_ += count;
    if (with_origins && count) append_origins(accounting.attribution(), out);
    if (slot_ >= process.buffers.slot_count()) {  // this process is done: the next one
      in_process_ = false;
      if (next_client_ == UINT64_MAX)
        exhausted_ = true;
      else
        ++next_client_;
      if (count == 0) out.resize(header_at);  // nothing of it on this device
    }
  }
  return false;
}

void LeakStream::append_origins(const Attribution& attribution, std::string& out) {
  for (const wire::LeakOrigin& origin : origins_) {
    if (!origin.context || !contexts_sent_.insert(origin.context).second) continue;
    const Context& context = attribution.context(origin.context);
    wire::append_context(out, wire::MessageType::kLeakContext, origin.context, context.scope, context.op,
                         context.site, context.tensor, version_);  // a v3 reader gets no tensor
  }
  wire::append_frame(out, wire::MessageType::kLeakOrigins, origins_.data(),
                     origins_.size() * sizeof(wire::LeakOrigin), version_);
}

}  // namespace allocmon::server
