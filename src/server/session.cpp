#include "session.hpp"

#include <algorithm>
#include <cstring>

namespace allocmon::server {

namespace {
constexpr size_t kLeakChunkBudget = 256u
                                    << 10;  // leak-stream bytes produced per call (then others are served)
}  // namespace

Session::Session(ServerContext& context, ClientId id, PeerIdentity peer)
    : context_(context),
      id_(id),
      peer_(std::move(peer)),
      decoder_(wire::Direction::kFromClient, context.limits.max_frame_payload),
      tokens_(static_cast<double>(context.limits.event_burst)) {}

bool Session::receive(std::string_view bytes, std::string& out) {
  if (!bytes.empty()) {
    std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
    commit(bytes.size());
  }
  for (;;) {
    const Progress progress = process(out);
    if (progress != Progress::kMore) return progress == Progress::kIdle;
  }
}

Session::Progress Session::process(std::string& out) {
  wire::Frame frame;
  wire::ErrorCode error;
  int queries = 0;
  for (int frames = 0;; ++frames) {
    if (out.size() >= context_.limits.output_high_water) return Progress::kMore;
    if (leak_stream_) {
      if (!leak_stream_->produce(context_.accounting, context_.now_ms(), kLeakChunkBudget, out))
        return Progress::kMore;
      leak_stream_.reset();
      continue;
    }
    if (frames >= context_.limits.frames_per_turn || queries >= context_.limits.queries_per_turn)
      return decoder_.buffered() ? Progress::kMore : Progress::kIdle;
    const auto status = decoder_.next(frame, error);
    if (status == wire::DecodeStatus::kNeedMore) return Progress::kIdle;
    if (status == wire::DecodeStatus::kError) {
      reject(error,
             error == wire::ErrorCode::kBadVersion
                 ? " (this server speaks protocol versions " + std::to_string(wire::kMinProtocolVersion) +
                       " to " + std::to_string(wire::kProtocolVersion) + "; upgrade the older side)"
             : error == wire::ErrorCode::kUnknownMessage ? " (or a server reply sent by a client)"
                                                         : std::string(),
             out);
      return Progress::kClose;
    }
    if (!dispatch(frame, out, queries)) return Progress::kClose;
  }
}

void Session::ensure_producer() {
  if (process_) return;
  context_.accounting.add_client(id_, peer_.pid, peer_.uid, peer_.name, peer_.cmdline);
  process_ = context_.accounting.find(id_);
  if (context_.recorder)
    context_.recorder->process_started({id_, peer_.pid, peer_.uid, peer_.name, context_.now_ms(), 0});
}

void Session::reject(wire::ErrorCode code, const std::string& detail, std::string& out) {
  ++context_.accounting.counters().frames_invalid;
  const std::string message = std::string(wire::error_code_name(code)) + detail;
  context_.log.protocol_error(peer_.pid, message);
  wire::ErrorHeader header{static_cast<uint32_t>(code)};
  std::string payload(reinterpret_cast<const char*>(&header), sizeof(header));
  payload += message;
  wire::append_frame(out, wire::MessageType::kError, payload.data(), payload.size(), reply_version_);
}

bool Session::dispatch(const wire::Frame& frame, std::string& out, int& queries) {
  Accounting& accounting = context_.accounting;
  reply_version_ = frame.version;
  switch (frame.type) {
    case wire::MessageType::kHello:
      ensure_producer();
      return true;
    case wire::MessageType::kRegisterDevice: {
      ensure_producer();
      wire::RegisterDevice registration;
      std::memcpy(&registration, frame.payload.data(), sizeof(registration));
      if (accounting.register_device(id_, registration) == EventProblem::kConflictingDevice) {
        const auto bit = static_cast<size_t>(EventProblem::kConflictingDevice);
        if (!logged_problems_.test(bit)) {
          logged_problems_.set(bit);
          context_.log.conflicting_device(peer_.pid, registration);
        }
        return true;  // registered (its buffers count), but the owner's description stays
      }
      context_.log.registered(peer_.pid, peer_.name, registration);
      if (context_.recorder)
        context_.recorder->device(
            {context_.now_ms(),
             id_,
             registration.device_id,
             std::string(wire::fixed_string(registration.architecture, sizeof(registration.architecture))),
             registration.mesh_row,
             registration.mesh_col,
             registration.grid_x,
             registration.grid_y,
             std::vector<uint64_t>(registration.capacity, registration.capacity + wire::kNumMemoryTypes),
             {},
             {}});
      return true;
    }
    case wire::MessageType::kUnregisterDevice: {
      ensure_producer();
      wire::UnregisterDevice message;
      std::memcpy(&message, frame.payload.data(), sizeof(message));
      context_.log.unregistered(peer_.pid, message.device_id,
                                accounting.unregister_device(id_, message.device_id));
      return true;
    }
    case wire::MessageType::kEventBatch:
      ensure_producer();
      return apply_batch(frame.payload, frame.version, out);
    case wire::MessageType::kReset:
      ensure_producer();
      context_.log.reclaimed(peer_.pid, peer_.name, "resynchronised after a stall",
                             accounting.reset_client(id_));
      current_context_ = 0;  // the full state that follows says each buffer's context again
      return true;
    case wire::MessageType::kDefineContext: {
      ensure_producer();
      const auto named = wire::parse_context(frame.payload, frame.version);
      if (!named || named->id == 0) {
        reject(wire::ErrorCode::kBadSize, ": a DefineContext whose string lengths do not add up", out);
        return false;
      }
      if (!contexts_.count(named->id) && contexts_.size() >= kMaxContextsPerConnection) {
        reject(wire::ErrorCode::kLimitExceeded,
               ": more than " + std::to_string(kMaxContextsPerConnection) + " contexts on one connection",
               out);
        return false;
      }
      context_bytes_ += named->scope.size() + named->op.size() + named->site.size() + named->tensor.size();
      if (context_bytes_ > kMaxContextBytesPerConnection) {
        reject(wire::ErrorCode::kLimitExceeded,
               ": more than " + std::to_string(kMaxContextBytesPerConnection >> 20) +
                   " MiB of context names on one connection",
               out);
        return false;
      }
      contexts_[named->id] =
          accounting.attribution().intern({std::string(named->scope), std::string(named->op),
                                           std::string(named->site), std::string(named->tensor)});
      attributing_ = true;
      return true;
    }
    case wire::MessageType::kMark:
      ensure_producer();
      accounting.attribution().mark(std::string(frame.payload), peer_.pid, peer_.uid, context_.now_ms());
      if (context_.recorder)
        context_.recorder->mark(context_.now_ms(), id_, peer_.pid, std::string(frame.payload));
      attributing_ = true;
      return true;
    case wire::MessageType::kFlush:
      // Frames of one connection are applied in order, so everything before the barrier is applied by now.
      wire::append_frame(out, wire::MessageType::kFlushAck, frame.payload.data(), frame.payload.size(),
                         reply_version_);
      return true;
    case wire::MessageType::kSyncSources: {
      wire::Flush token;
      std::memcpy(&token, frame.payload.data(), sizeof(token));
      if (!context_.request_source_round) {  // nothing is polled: the barrier holds already
        wire::append_message(out, wire::MessageType::kFlushAck, token, reply_version_);
        return true;
      }
      pending_syncs_.emplace_back(context_.request_source_round(), token);
      return true;
    }
    case wire::MessageType::kQuerySnapshot: {
      ++queries;
      const std::string json = snapshot_json(accounting, context_.info(), context_.now_ms(), peer_.uid);
      wire::append_frame(out, wire::MessageType::kSnapshotJson, json.data(), json.size(), reply_version_);
      return true;
    }
    case wire::MessageType::kQueryLeaks: {
      ++queries;
      wire::QueryLeaks query;
      std::memcpy(&query, frame.payload.data(), sizeof(query));
      const std::string json =
          leaks_json(accounting, query.device_id, context_.now_ms(), peer_.uid, query.largest);
      wire::append_frame(out, wire::MessageType::kLeaksJson, json.data(), json.size(), reply_version_);
      return true;
    }
    case wire::MessageType::kQueryLeakStream: {
      ++queries;
      wire::QueryLeaks query;
      std::memcpy(&query, frame.payload.data(), sizeof(query));
      leak_stream_.emplace(query.device_id, peer_.uid, reply_version_);
      return true;
    }
    case wire::MessageType::kFlushAck:
    case wire::MessageType::kSnapshotJson:
    case wire::MessageType::kLeaksJson:
    case wire::MessageType::kError:
    case wire::MessageType::kLeakChunk:
    case wire::MessageType::kLeakContext:
    case wire::MessageType::kLeakOrigins:
    case wire::MessageType::kLeakEnd:
      break;  // the decoder refuses these at the header already
  }
  reject(wire::ErrorCode::kUnknownMessage, " (a server reply sent by a client)", out);
  return false;
}

bool Session::take_tokens(uint64_t events) {
  const int64_t now = context_.now_ms();
  if (tokens_time_ms_ == 0) tokens_time_ms_ = now;
  const double refill = static_cast<double>(now - tokens_time_ms_) / 1000.0 *
                        static_cast<double>(context_.limits.max_events_per_second);
  tokens_ = std::min(static_cast<double>(context_.limits.event_burst), tokens_ + std::max(0.0, refill));
  tokens_time_ms_ = now;
  tokens_ -= static_cast<double>(events);
  return tokens_ >= 0;
}

bool Session::apply_batch(std::string_view payload, uint16_t version, std::string& out) {
  const size_t stride = wire::event_size(version);
  const size_t count = payload.size() / stride;
  if (!take_tokens(count)) {
    reject(wire::ErrorCode::kLimitExceeded,
           ": more than " + std::to_string(context_.limits.max_events_per_second) +
               " events/s sustained (burst " + std::to_string(context_.limits.event_burst) + ")",
           out);
    return false;
  }
  const int64_t now = context_.now_ms();
  for (size_t i = 0; i < count; ++i) {
    wire::Event event;
    if (version == 1) {
      wire::EventV1 old;
      std::memcpy(&old, payload.data() + i * stride, sizeof(old));
      event = wire::widen(old);
    } else {
      std::memcpy(&event, payload.data() + i * stride, sizeof(event));
    }
    if (event.kind == static_cast<uint8_t>(wire::EventKind::kContext)) {
      const auto found = contexts_.find(static_cast<uint32_t>(event.buffer_id));
      current_context_ = found == contexts_.end() ? 0 : found->second;  // 0 or undefined: none
      attributing_ = true;
      continue;
    }
    if (event.kind == static_cast<uint8_t>(wire::EventKind::kAlloc) &&
        process_->buffers.size() >= context_.limits.max_live_buffers) {
      reject(wire::ErrorCode::kLimitExceeded,
             ": more than " + std::to_string(context_.limits.max_live_buffers) +
                 " live buffers on one connection",
             out);
      return false;
    }
    const ApplyResult result = context_.accounting.apply(*process_, event, now);
    if (result.problem != EventProblem::kNone) {
      const auto bit = static_cast<size_t>(result.problem);
      if (!logged_problems_.test(bit)) {
        logged_problems_.set(bit);
        context_.log.problem(peer_.pid, result.problem, event);
      }
    } else if (event.kind == static_cast<uint8_t>(wire::EventKind::kAlloc)) {
      if (attributing_)
        process_->origins[BufferKey{event.device_id, event.buffer_id}] = {
            current_context_, context_.accounting.attribution().next_seq()};
      context_.log.allocated(peer_.pid, event);
      if (context_.recorder) {
        if (current_context_) {
          const Context& named = context_.accounting.attribution().context(current_context_);
          context_.recorder->context_used(current_context_, named);
        }
        context_.recorder->event({now, id_, peer_.pid, event.device_id, event.memory_type,
                                  static_cast<uint8_t>(RecordKind::kAlloc), event.size, event.address,
                                  event.buffer_id, event.page_size, event.shard_count, event.layout,
                                  event.direction, current_context_});
      }
    } else if (event.kind == static_cast<uint8_t>(wire::EventKind::kFree)) {
      context_.log.freed(peer_.pid, event, result.size);
      if (context_.recorder)
        context_.recorder->event({now, id_, peer_.pid, event.device_id, result.memory_type,
                                  static_cast<uint8_t>(RecordKind::kFree), result.size, 0, event.buffer_id});
    }
  }
  return true;
}

void Session::complete_source_syncs(uint64_t completed, std::string& out) {
  std::erase_if(pending_syncs_, [&](const auto& pending) {
    if (pending.first > completed) return false;
    wire::append_message(out, wire::MessageType::kFlushAck, pending.second, reply_version_);
    return true;
  });
}

void Session::end(std::string_view why) {
  if (ended_) return;
  ended_ = true;
  if (process_) {
    context_.log.reclaimed(peer_.pid, peer_.name, why, context_.accounting.remove_client(id_));
    if (context_.recorder) context_.recorder->process_ended(id_, context_.now_ms());
  }
  process_ = nullptr;
}

}  // namespace allocmon::server
