// The allocmon wire format, defined once. Client, server, monitor and the Python binding all include this
// file; it includes nothing of ours except the public memory-type list. docs/protocol.md describes it in
// prose.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "allocmon/memory_types.h"

namespace allocmon::wire {

// Bump on any incompatible change to a struct below. Every frame carries it. The server also accepts the
// older versions from kMinProtocolVersion on (widening their events) and answers each connection in the
// version it speaks, so processes linked against an older client library keep reporting across an upgrade.
// v2: events carry page size, layout, shard count and allocation direction; RegisterDevice the worker grid.
// v3: attribution: DefineContext and Mark messages, Context events (the events themselves are unchanged).
// v4: a context also names a tensor (DefineContext's reserved field became tensor_length): a v3 server would
// refuse such a definition (its lengths do not add up) and a v3 reader would drop the whole context.
inline constexpr uint16_t kProtocolVersion = 4;
// The first version whose contexts may name a tensor.
inline constexpr uint16_t kTensorContextVersion = 4;
inline constexpr uint16_t kMinProtocolVersion = 1;

// Largest payload the server accepts in one frame (an event batch of 32 768 events); larger frames are
// rejected.
inline constexpr uint32_t kMaxPayloadBytes = 1u << 20;

inline constexpr const char* kDefaultSocketPath = "/tmp/tt_allocation_server.sock";
inline constexpr const char* kSocketEnvVar = "TT_ALLOC_SERVER_SOCKET";
inline constexpr const char* kEnableEnvVar = "TT_ALLOC_TRACKING_ENABLED";

enum class MessageType : uint16_t {
  // client -> server
  kHello = 1,
  kRegisterDevice = 2,
  kUnregisterDevice = 3,
  kEventBatch = 4,
  kFlush = 5,
  kReset = 6,  // forget everything this connection reported; a full state follows (client resync)
  kQuerySnapshot = 7,
  kQueryLeaks = 8,
  kSyncSources = 9,       // a Flush token: answered with kFlushAck once every polled source was read after it
  kQueryLeakStream = 10,  // QueryLeaks: every live buffer as binary LeakChunk frames, then one LeakEnd
  kDefineContext = 11,  // v3: DefineContext + its strings: what a client context id names on this connection
  kMark = 12,           // v3: a named point in this connection's event stream (payload: the name, UTF-8)
  // server -> client
  kFlushAck = 100,
  kSnapshotJson = 101,
  kLeaksJson = 102,
  kError = 103,
  kLeakChunk = 104,
  kLeakEnd = 105,
  kLeakContext = 106,  // v3, in a leak stream: DefineContext + strings naming a server context index
  kLeakOrigins = 107,  // v3, after a LeakChunk: one LeakOrigin per record of that chunk
};

// The first type only the server sends: a client that sends one is refused at the header.
inline constexpr uint16_t kFirstServerMessage = 100;

// Native byte order (both ends are on one machine); every struct has a fixed size checked below.
struct FrameHeader {
  uint16_t type;
  uint16_t version;
  uint32_t payload_size;
};

struct Hello {
  uint32_t flags;  // reserved, 0
  uint32_t reserved;
  char client_label[32];  // informational only: identity comes from the kernel (SO_PEERCRED)
};

struct RegisterDevice {
  int32_t device_id;
  int32_t mesh_row;  // -1 when the device is not part of a mesh
  int32_t mesh_col;
  uint16_t grid_x;  // worker core grid (L1 banks = grid_x * grid_y); 0 = unknown (always 0 in v1)
  uint16_t grid_y;
  uint64_t capacity[ALLOCMON_MAX_MEMORY_TYPES];  // bytes per memory type, 0 = none/unknown
  char architecture[32];                         // NUL-padded, e.g. "wormhole_b0"
};

struct UnregisterDevice {
  int32_t device_id;
  uint32_t reserved;
};

enum class EventKind : uint8_t {
  kAlloc = 1,
  kFree = 2,
  kFreeSpace = 3,  // allocator statistics: size = free bytes, address = largest free block
  // The allocator's region for a type: address = base address in each bank, size = bytes per bank, buffer_id
  // = banks, page_size = page alignment, shard_count = block alignment (what the monitor's address map needs
  // to place buffers as the allocator does). A server that predates it counts one bad_event_kind and goes on.
  kRegion = 4,
  // v3: the connection's following allocs belong to context buffer_id (a DefineContext id; 0: none).
  kContext = 5,
};

enum class BufferLayout : uint8_t { kUnknown = 0, kInterleaved = 1, kSharded = 2 };
enum class AllocDirection : uint8_t { kDefault = 0, kBottomUp = 1, kTopDown = 2 };

// One allocation event. An event batch payload is an array of these. The layout fields describe how the
// allocator placed an alloc (what a what-if replay needs); 0 where the runtime did not say.
struct Event {
  uint64_t buffer_id;
  uint64_t size;
  uint64_t address;
  int32_t device_id;
  uint8_t kind;          // EventKind
  uint8_t memory_type;   // allocmon_memory_type
  uint8_t layout;        // BufferLayout
  uint8_t direction;     // AllocDirection
  uint32_t page_size;    // bytes; 0 = unknown (or larger than 4 GiB)
  uint32_t shard_count;  // sharded: the cores (banks) holding it; 0 otherwise
};

// The v1 event (32 bytes): the v2 one without the layout fields.
struct EventV1 {
  uint64_t buffer_id;
  uint64_t size;
  uint64_t address;
  int32_t device_id;
  uint8_t kind;
  uint8_t memory_type;
  uint16_t reserved;
};

inline constexpr size_t event_size(uint16_t version) {
  return version == 1 ? sizeof(EventV1) : sizeof(Event);
}
inline Event widen(const EventV1& old) {
  Event event{};
  event.buffer_id = old.buffer_id;
  event.size = old.size;
  event.address = old.address;
  event.device_id = old.device_id;
  event.kind = old.kind;
  event.memory_type = old.memory_type;
  return event;
}

// What the bytes are (docs/attribution.md): the scope path in force, the op and the call site that allocated
// them, and (v4) the tensor they hold ("bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, replicated"). A
// client names each combination once per connection; Context events then switch between them. The strings
// follow the header, in this order, without terminators.
struct DefineContext {
  uint32_t id;  // the client's id for it on this connection, from 1
  uint16_t scope_length;
  uint16_t op_length;
  uint16_t site_length;
  uint16_t tensor_length;  // v4; `reserved` (0, ignored) before: a v3 frame is a v4 frame without a tensor
};
// Each string of a DefineContext or a Mark is at most this long (longer ones are cut by the client).
inline constexpr uint16_t kMaxAttributionString = 1024;
// What one connection may name (the server closes a connection past either, error 5); the client library
// stays below them, sending allocs in contexts it can no longer name as unattributed.
inline constexpr size_t kMaxContextsPerConnection = 1u << 16;
inline constexpr size_t kMaxContextBytesPerConnection = 4u << 20;  // the strings of its DefineContexts
// The strings a DefineContext of this version carries (scope, op, site; v4: and tensor).
inline constexpr size_t context_string_count(uint16_t version) {
  return version >= kTensorContextVersion ? 4 : 3;
}

struct Flush {
  uint64_t token;
};
using FlushAck = Flush;

struct QueryLeaks {
  int32_t device_id;  // -1: every device
  uint32_t largest;  // QueryLeaks: only the N largest buffers per process (0: all, capped; v1 clients send 0)
};

// A LeakChunk payload: this header, then `count` LeakBuffer records of one process. A process's buffers may
// span several chunks; kRestartProcess says "forget the records of this process received so far in this
// stream" (its table was rebuilt while streaming).
struct LeakChunkHeader {
  int32_t pid;  // 0 for processes the viewer may not see (never sent: they are left out)
  uint32_t count;
  uint32_t flags;
  uint32_t reserved;
  char name[32];
};
inline constexpr uint32_t kRestartProcess = 1;

struct LeakBuffer {
  uint64_t buffer_id;
  uint64_t size;
  uint64_t address;
  int64_t age_ms;
  int32_t device_id;
  uint8_t memory_type;
  uint8_t layout;  // BufferLayout, as the runtime reported it
  uint16_t shard_count;
  uint32_t page_size;  // 0: unknown
  uint32_t reserved;
};

// Where a listed buffer came from (attribution): its context (a LeakContext of this stream names it; 0: none)
// and its place in the order of attributed allocations (Mark seqs in the snapshot use the same counter).
struct LeakOrigin {
  uint32_t context;
  uint32_t reserved;
  uint64_t seq;  // 0: not attributed
};

struct LeakEnd {
  uint64_t time_unix_ms;
  uint64_t buffers;  // records sent in this stream (restarts included)
};

enum class ErrorCode : uint32_t {
  kBadVersion = 1,
  kUnknownMessage = 2,
  kBadSize = 3,
  kFrameTooLarge = 4,
  kLimitExceeded = 5,
};

struct ErrorHeader {
  uint32_t code;  // ErrorCode; a UTF-8 message of payload_size - 4 bytes follows
};

static_assert(sizeof(FrameHeader) == 8);
static_assert(sizeof(Hello) == 40);
static_assert(sizeof(RegisterDevice) == 112);
static_assert(sizeof(UnregisterDevice) == 8);
static_assert(sizeof(Event) == 40);
static_assert(sizeof(EventV1) == 32);
static_assert(sizeof(DefineContext) == 12);
static_assert(sizeof(Flush) == 8);
static_assert(sizeof(QueryLeaks) == 8);
static_assert(sizeof(LeakChunkHeader) == 48);
static_assert(sizeof(LeakBuffer) == 48);
static_assert(sizeof(LeakEnd) == 16);
static_assert(sizeof(LeakOrigin) == 16);
static_assert(sizeof(ErrorHeader) == 4);
static_assert(static_cast<int>(ALLOCMON_NUM_MEMORY_TYPES) <= static_cast<int>(ALLOCMON_MAX_MEMORY_TYPES));

// ---- memory type names, generated from the one list ----

inline constexpr std::string_view kMemoryTypeNames[] = {
#define ALLOCMON_NAME_ENTRY(name, code) #name,
    ALLOCMON_MEMORY_TYPES(ALLOCMON_NAME_ENTRY)
#undef ALLOCMON_NAME_ENTRY
};
inline constexpr int kNumMemoryTypes = ALLOCMON_NUM_MEMORY_TYPES;

inline constexpr bool valid_memory_type(unsigned code) {
  return code < static_cast<unsigned>(kNumMemoryTypes);
}
inline constexpr std::string_view memory_type_name(unsigned code) {
  return valid_memory_type(code) ? kMemoryTypeNames[code] : std::string_view("?");
}
inline std::optional<int> memory_type_from_name(std::string_view name) {
  for (int i = 0; i < kNumMemoryTypes; ++i)
    if (kMemoryTypeNames[i] == name) return i;
  return std::nullopt;
}

// The exact payload size a fixed-size message must have; 0 for variable-size ones.
inline constexpr size_t fixed_payload_size(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return sizeof(Hello);
    case MessageType::kRegisterDevice:
      return sizeof(RegisterDevice);
    case MessageType::kUnregisterDevice:
      return sizeof(UnregisterDevice);
    case MessageType::kFlush:
    case MessageType::kSyncSources:
    case MessageType::kFlushAck:
      return sizeof(Flush);
    case MessageType::kQueryLeaks:
    case MessageType::kQueryLeakStream:
      return sizeof(QueryLeaks);
    case MessageType::kLeakEnd:
      return sizeof(LeakEnd);
    case MessageType::kReset:
    case MessageType::kQuerySnapshot:
      return 0;
    default:
      return 0;
  }
}

// Appends a frame to a byte buffer (std::string or std::vector<uint8_t>).
// `version`: the server answers a connection in the version it speaks; everyone else sends the current one.
template <typename Buffer>
void append_frame(Buffer& out, MessageType type, const void* payload, size_t payload_size,
                  uint16_t version = kProtocolVersion) {
  FrameHeader header{static_cast<uint16_t>(type), version, static_cast<uint32_t>(payload_size)};
  const auto* h = reinterpret_cast<const char*>(&header);
  out.insert(out.end(), h, h + sizeof(header));
  const auto* p = static_cast<const char*>(payload);
  if (payload_size) out.insert(out.end(), p, p + payload_size);
}

template <typename Buffer, typename Message>
void append_message(Buffer& out, MessageType type, const Message& message,
                    uint16_t version = kProtocolVersion) {
  static_assert(std::is_trivially_copyable_v<Message>);
  append_frame(out, type, &message, sizeof(message), version);
}

// Copies a NUL-padded fixed-size text field into a string_view-able form without reading past it.
inline std::string_view fixed_string(const char* field, size_t capacity) {
  return std::string_view(field, strnlen(field, capacity));
}

// A DefineContext (client -> server) or LeakContext (server -> client) frame: the header, then the scope, op,
// site and tensor strings (each at most kMaxAttributionString bytes; the caller clips them). In a frame of
// version 3 (a server answering an older reader) the tensor is left out: such a reader would drop the
// context.
template <typename Buffer>
void append_context(Buffer& out, MessageType type, uint32_t id, std::string_view scope, std::string_view op,
                    std::string_view site, std::string_view tensor, uint16_t version = kProtocolVersion) {
  if (version < kTensorContextVersion) tensor = {};
  const DefineContext header{id, static_cast<uint16_t>(scope.size()), static_cast<uint16_t>(op.size()),
                             static_cast<uint16_t>(site.size()), static_cast<uint16_t>(tensor.size())};
  std::string payload(reinterpret_cast<const char*>(&header), sizeof(header));
  payload.append(scope).append(op).append(site).append(tensor);
  append_frame(out, type, payload.data(), payload.size(), version);
}

struct ContextFrame {
  uint32_t id = 0;
  std::string_view scope, op, site, tensor;  // views into the frame's payload
};
// The payload of such a frame of `version`; nullopt when its lengths do not add up to the payload's size. A
// version-3 frame's fourth length is its reserved field: ignored, as a v3 server did.
inline std::optional<ContextFrame> parse_context(std::string_view payload,
                                                 uint16_t version = kProtocolVersion) {
  if (payload.size() < sizeof(DefineContext)) return std::nullopt;
  DefineContext header;
  std::memcpy(&header, payload.data(), sizeof(header));
  if (version < kTensorContextVersion) header.tensor_length = 0;
  const std::string_view text = payload.substr(sizeof(header));
  const size_t scope = header.scope_length, op = header.op_length, site = header.site_length;
  if (scope + op + site + header.tensor_length != text.size()) return std::nullopt;
  return ContextFrame{header.id, text.substr(0, scope), text.substr(scope, op), text.substr(scope + op, site),
                      text.substr(scope + op + site)};
}

}  // namespace allocmon::wire
