// One client connection's protocol logic, without any I/O: bytes in, replies out, accounting updated. The
// server owns the sockets; tests and the fuzzer drive a Session directly.
#pragma once

#include <sys/types.h>

#include <bitset>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "accounting.hpp"
#include "event_log.hpp"
#include "leak_stream.hpp"
#include "protocol/frame_decoder.hpp"
#include "recorder.hpp"
#include "snapshot_json.hpp"

namespace allocmon::server {

// Per-connection limits: one misbehaving client cannot grow the server without bound or starve the others.
struct SessionLimits {
  uint64_t max_live_buffers = 4'000'000;        // per connection
  uint64_t max_events_per_second = 50'000'000;  // sustained rate, token bucket
  uint64_t event_burst = 50'000'000;            // bucket size
  uint32_t max_frame_payload = wire::kMaxPayloadBytes;
  // Per loop turn, so one client cannot hold the loop (or grow the server) for the others: its replies wait
  // in its own output, and it is read again only once that output has drained below the high-water mark.
  size_t output_high_water = 1u << 20;
  int queries_per_turn = 16;
  int frames_per_turn = 256;
};

struct PeerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;
  std::string name;
  std::string cmdline;
};

// What every session shares: the accounting, the log, the limits and how to describe the server.
struct ServerContext {
  Accounting& accounting;
  EventLog& log;
  SessionLimits limits;
  std::function<ServerInfo()> info;
  std::function<int64_t()> now_ms;  // wall clock (unix ms): stamps buffers and drives the rate limit
  Recorder* recorder = nullptr;     // --record: every applied event also goes to SQLite
  // Asks the polled sources for a round now; returns its number (null: no polled sources).
  std::function<uint64_t()> request_source_round;
};

class Session {
 public:
  Session(ServerContext& context, ClientId id, PeerIdentity peer);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Space for incoming bytes (as FrameDecoder::prepare/commit), then process() handles every complete frame.
  char* prepare(size_t bytes) { return decoder_.prepare(bytes); }
  void commit(size_t bytes) { decoder_.commit(bytes); }
  // Handles complete frames, appending replies to `out`, until none is left (kIdle) or this turn's budget is
  // spent or `out` passed the high-water mark (kMore: call again once `out` has drained; nothing more should
  // be read from the socket meanwhile). kClose: the connection must be closed (protocol error or limit); an
  // Error frame explaining why is already in `out`.
  enum class Progress { kIdle, kMore, kClose };
  Progress process(std::string& out);
  // The connection is gone: releases everything this client held (logged with `why`).
  void end(std::string_view why);

  // Convenience for tests and the fuzzer: prepare + commit + process until idle (or closed); false = closed.
  bool receive(std::string_view bytes, std::string& out);

  // Answers the SyncSources barriers that the polled sources' round `completed` satisfies.
  void complete_source_syncs(uint64_t completed, std::string& out);
  bool awaits_sources() const { return !pending_syncs_.empty(); }

  ClientId id() const { return id_; }
  const PeerIdentity& peer() const { return peer_; }

 private:
  bool dispatch(const wire::Frame& frame, std::string& out, int& queries);
  bool apply_batch(std::string_view payload, uint16_t version, std::string& out);
  bool take_tokens(uint64_t events);
  void ensure_producer();
  void reject(wire::ErrorCode code, const std::string& detail, std::string& out);

  ServerContext& context_;
  ClientId id_;
  PeerIdentity peer_;
  wire::FrameDecoder decoder_;
  ProcessRecord* process_ = nullptr;  // set once the client reports something
  std::bitset<static_cast<size_t>(EventProblem::kCount)> logged_problems_;
  double tokens_;
  int64_t tokens_time_ms_ = 0;
  bool ended_ = false;
  std::vector<std::pair<uint64_t, wire::Flush>> pending_syncs_;  // (round awaited, token)
  std::optional<LeakStream> leak_stream_;  // a QueryLeakStream being answered: later frames wait for it
  // Attribution (attribution.hpp): this client's context ids -> the server's, the one its allocs are in now,
  // and whether it ever named one or set a mark (only then are its buffers' origins kept).
  static constexpr size_t kMaxContextsPerConnection = wire::kMaxContextsPerConnection;
  static constexpr size_t kMaxContextBytesPerConnection = wire::kMaxContextBytesPerConnection;
  size_t context_bytes_ = 0;
  std::unordered_map<uint32_t, uint32_t> contexts_;
  uint32_t current_context_ = 0;
  bool attributing_ = false;
  uint16_t reply_version_ =
      wire::kProtocolVersion;  // the version this client speaks, once it has sent a frame
};

}  // namespace allocmon::server
