// libFuzzer target: arbitrary bytes from one client into the server's protocol logic (decoder + dispatcher +
// accounting + replies), beside a well-behaved client. Properties checked on every input: no crash
// (sanitizers watch memory and UB), the hostile client cannot change the good client's totals or its device's
// description, every reply is a well-formed server frame (a leak stream always ends), one processing turn
// never grows the output far past the high-water mark, and once the hostile client disconnects every byte it
// held is reclaimed.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/session.hpp"

using namespace allocmon;
using namespace allocmon::server;

namespace {

std::string good_client_traffic() {
  std::string s;
  wire::RegisterDevice r{};
  r.device_id = 0;
  r.mesh_row = r.mesh_col = -1;
  std::strcpy(r.architecture, "good");
  wire::append_message(s, wire::MessageType::kRegisterDevice, r);
  wire::Event events[3] = {
      {1, 1000, 0, 0, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_DRAM, 0},
      {2, 200, 0, 0, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_L1, 0},
      {3, 30, 0, 0, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_CB, 0},
  };
  wire::append_frame(s, wire::MessageType::kEventBatch, events, sizeof(events));
  return s;
}

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::FILE* sink = std::fopen("/dev/null", "w");
  Accounting accounting;
  EventLog log(sink, /*quiet=*/true);
  SessionLimits limits;
  limits.max_live_buffers = 1000;  // small, so the limit path is reachable
  limits.event_burst = 100000;
  ServerContext context{accounting, log, limits,
                        [] {
                          return ServerInfo{"/fuzz", 1, 0, 2};
                        },
                        [] { return int64_t{1000}; }};
  std::string replies;
  Session good(context, 1, PeerIdentity{100, 0, "good"});
  check(good.receive(good_client_traffic(), replies), "good client accepted");

  Session hostile(context, 2, PeerIdentity{200, 0, "hostile"});
  // Feed in two pieces (framing must not depend on how bytes are split), one processing turn at a time, as
  // the server does, draining the output between turns.
  std::string out;
  size_t reply_bytes = 0;
  wire::FrameDecoder replies_seen(wire::Direction::kFromServer, wire::kMaxPayloadBytes);
  int leak_streams_open = 0;
  bool open = true;
  const size_t half = size / 2;
  for (auto piece : {std::string_view(reinterpret_cast<const char*>(data), half),
                     std::string_view(reinterpret_cast<const char*>(data) + half, size - half)}) {
    if (!open) break;
    if (!piece.empty()) {
      std::memcpy(hostile.prepare(piece.size()), piece.data(), piece.size());
      hostile.commit(piece.size());
    }
    for (int turn = 0; open && turn < 100000; ++turn) {
      const auto progress = hostile.process(out);
      check(out.size() <= limits.output_high_water + (4u << 20), "one turn stays near the high-water mark");
      reply_bytes += out.size();
      replies_seen.append(out.data(), out.size());
      out.clear();
      wire::Frame frame;
      wire::ErrorCode code;
      for (wire::DecodeStatus st; (st = replies_seen.next(frame, code)) != wire::DecodeStatus::kNeedMore;) {
        check(st == wire::DecodeStatus::kFrame, "every reply is a well-formed server frame");
        if (frame.type == wire::MessageType::kLeakChunk && leak_streams_open == 0) leak_streams_open = 1;
        if (frame.type == wire::MessageType::kLeakEnd) leak_streams_open = 0;
      }
      if (progress == Session::Progress::kClose) open = false;
      if (progress != Session::Progress::kMore) break;
    }
  }
  check(!open || leak_streams_open == 0, "a leak stream always ends");
  check(accounting.devices().at(0).architecture == "good", "the first registrant's description stays");
  hostile.end("fuzz input done");
  (void)reply_bytes;
  const auto& device = accounting.devices().at(0);
  check(device.totals[ALLOCMON_DRAM].bytes == 1000, "good client's DRAM exact");
  check(device.totals[ALLOCMON_L1].bytes == 200, "good client's L1 exact");
  check(device.totals[ALLOCMON_CB].bytes == 30, "good client's CB exact");
  check(accounting.live_buffers() == 3, "only the good client's buffers remain");
  for (const auto& [id, d] : accounting.devices())
    if (id != 0) check(total_bytes(d.totals) == 0, "hostile client's devices reclaimed");
  good.end("done");
  check(accounting.live_buffers() == 0, "everything reclaimed");
  return 0;
}
