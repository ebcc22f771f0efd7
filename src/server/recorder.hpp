// `allocation_server --record FILE.sqlite`: every applied event appended to SQLite (schema in
// docs/recording.md). The event loop only appends rows to an in-memory batch; a writer thread commits batches
// in transactions, so recording costs ingest a vector push per event. A write failure (full disk, read-only
// file) is reported once and recording stops; tracking goes on.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "attribution.hpp"

struct sqlite3;

namespace allocmon::server {

struct RecordedEvent {
  int64_t time_ms;
  uint64_t client;
  int32_t pid;
  int32_t device;
  uint8_t memory_type;
  uint8_t kind;  // RecordKind
  uint64_t size;
  uint64_t address;
  uint64_t buffer_id;
  // allocs: how the allocator placed it (wire::Event's layout fields; 0 = unknown)
  uint32_t page_size = 0;
  uint32_t shard_count = 0;
  uint8_t layout = 0;
  uint8_t direction = 0;
  uint32_t context = 0;  // allocs: the server's context index (attribution.hpp; 0: none)
};

// A mark (attribution.hpp), placed after the events recorded before it.
struct RecordedMark {
  size_t before_event;  // index, in its batch, of the first event recorded after it
  int64_t time_ms;
  uint64_t client;
  int32_t pid;
  std::string name;
};

enum class RecordKind : uint8_t { kAlloc = 1, kFree = 2, kReclaim = 3 };

struct RecordedDevice {
  int64_t time_ms;
  uint64_t client;
  int32_t device;
  std::string architecture;
  int32_t mesh_row, mesh_col;
  uint16_t grid_x, grid_y;  // 0 = unknown
  std::vector<uint64_t> capacity;
  std::optional<uint64_t> asic_id;    // a chip read from tt-metal's region: which chip the id is
  std::optional<int32_t> logical_id;  // and tt-metal's logical id for it then
};

// What a polled source (tt-metal's shared-memory regions, DRM fdinfo) said a device holds of one type,
// recorded when it changes: those sources have totals, not buffers.
struct RecordedSample {
  int64_t time_ms;
  int32_t device;
  uint8_t memory_type;
  uint64_t bytes;
  std::string source;
};

struct RecordedProcess {
  uint64_t client;
  int32_t pid;
  uint32_t uid;
  std::string name;
  int64_t start_ms;
  int64_t end_ms;  // 0 while running
};

class Recorder {
 public:
  Recorder() = default;
  ~Recorder();
  // Opens (creating if needed) the database; false with a message on stderr when it cannot.
  bool open(const std::string& path, const std::string& socket_path);
  // Event-loop thread only: appends without a lock; publish() hands the staged rows to the writer once per
  // loop iteration (one lock per iteration, not per event).
  void event(const RecordedEvent& e) { staged_.push_back(e); }
  void mark(int64_t time_ms, uint64_t client, int32_t pid, std::string name) {
    staged_marks_.push_back({staged_.size(), time_ms, client, pid, std::move(name)});
  }
  // Event-loop thread: names context `index` in the recording the first time an event uses it.
  void context_used(uint32_t index, const Context& context);
  void publish();
  void device(RecordedDevice d);
  void sample(RecordedSample s);
  void process_started(RecordedProcess p);
  void process_ended(uint64_t client, int64_t end_ms);
  // Writes everything queued so far and waits for it (tests; shutdown).
  void flush();
  bool failed() const { return failed_.load(); }
  uint64_t rows_written() const { return rows_written_.load(); }

 private:
  struct Batch {
    std::vector<RecordedEvent> events;
    std::vector<RecordedDevice> devices;
    std::vector<RecordedProcess> started;
    std::vector<std::pair<uint64_t, int64_t>> ended;
    std::vector<RecordedSample> samples;
    std::vector<RecordedMark> marks;
    std::vector<std::pair<uint32_t, Context>> contexts;
    bool empty() const {
      return events.empty() && devices.empty() && started.empty() && ended.empty() && samples.empty() &&
             marks.empty() && contexts.empty();
    }
  };
  void run();
  bool write(const Batch& batch);
  bool write_mark(const RecordedMark& mark);
  void fail(const std::string& what);

  sqlite3* db_ = nullptr;
  std::string path_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  Batch pending_;
  std::vector<RecordedEvent> staged_;  // event-loop thread only
  std::vector<RecordedMark> staged_marks_;
  std::vector<bool> contexts_named_;  // event-loop thread only
  // Appending to a recording: this server's context indexes start at 1 again, so they are written above the
  // ids the file already holds (else an earlier run's events would point at this run's names).
  int64_t context_id_base_ = 0;
  uint64_t queued_ = 0, written_ = 0;  // batches, under mutex_
  bool stop_ = false;
  std::thread thread_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> rows_written_{0};
};

}  // namespace allocmon::server
