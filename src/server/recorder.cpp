#include "recorder.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>

#include "common/sqlite.hpp"
#include "protocol/wire.hpp"

namespace allocmon::server {

namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS processes(client INTEGER PRIMARY KEY, pid INTEGER, uid INTEGER, name TEXT,
                                     start_ms INTEGER, end_ms INTEGER);
CREATE TABLE IF NOT EXISTS devices(time_ms INTEGER, client INTEGER, device INTEGER, architecture TEXT,
                                   mesh_row INTEGER, mesh_col INTEGER, capacity TEXT, grid_x INTEGER,
                                   grid_y INTEGER, asic_id INTEGER, logical_id INTEGER);
CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, time_ms INTEGER, client INTEGER, pid INTEGER,
                                  device INTEGER, type TEXT, kind TEXT, size INTEGER, address INTEGER,
                                  buffer_id INTEGER, page_size INTEGER, layout TEXT, shard_count INTEGER,
                                  direction TEXT, context INTEGER);
CREATE INDEX IF NOT EXISTS events_by_time ON events(time_ms);
CREATE TABLE IF NOT EXISTS contexts(id INTEGER PRIMARY KEY, scope TEXT, op TEXT, site TEXT, tensor TEXT);
CREATE TABLE IF NOT EXISTS marks(after_seq INTEGER, time_ms INTEGER, client INTEGER, pid INTEGER, name TEXT);
CREATE TABLE IF NOT EXISTS samples(time_ms INTEGER, device INTEGER, type TEXT, bytes INTEGER, source TEXT);
)sql";

// Appending to an older recording: events get their context (attribution; NULL in old rows).
constexpr const char* kUpgradeContexts = "ALTER TABLE events ADD COLUMN context INTEGER;";
// Appending to a recording whose contexts predate tensors: NULL in its rows.
constexpr const char* kUpgradeTensors = "ALTER TABLE contexts ADD COLUMN tensor TEXT;";

// Appending to an older recording: devices get the chip columns (added to schema 2, NULL in old rows).
constexpr const char* kUpgradeFrom2 = R"sql(
ALTER TABLE devices ADD COLUMN asic_id INTEGER;
ALTER TABLE devices ADD COLUMN logical_id INTEGER;
)sql";

// Appending to a schema-1 recording: its tables get the schema-2 columns (NULL in the old rows).
constexpr const char* kUpgradeFrom1 = R"sql(
ALTER TABLE devices ADD COLUMN grid_x INTEGER;
ALTER TABLE devices ADD COLUMN grid_y INTEGER;
ALTER TABLE events ADD COLUMN page_size INTEGER;
ALTER TABLE events ADD COLUMN layout TEXT;
ALTER TABLE events ADD COLUMN shard_count INTEGER;
ALTER TABLE events ADD COLUMN direction TEXT;
)sql";

const char* layout_name(uint8_t layout) {
  switch (static_cast<wire::BufferLayout>(layout)) {
    case wire::BufferLayout::kInterleaved:
      return "interleaved";
    case wire::BufferLayout::kSharded:
      return "sharded";
    case wire::BufferLayout::kUnknown:
      break;
  }
  return nullptr;
}

const char* direction_name(uint8_t direction) {
  switch (static_cast<wire::AllocDirection>(direction)) {
    case wire::AllocDirection::kBottomUp:
      return "bottom_up";
    case wire::AllocDirection::kTopDown:
      return "top_down";
    case wire::AllocDirection::kDefault:
      break;
  }
  return nullptr;
}

void bind_optional_text(sqlite3_stmt* st, int index, const char* text) {
  if (text)
    sqlite3_bind_text(st, index, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, index);
}

void bind_optional_int(sqlite3_stmt* st, int index, uint64_t value) {
  if (value)
    sqlite3_bind_int64(st, index, static_cast<int64_t>(value));
  else
    sqlite3_bind_null(st, index);
}

const char* kind_name(uint8_t kind) {
  switch (static_cast<RecordKind>(kind)) {
    case RecordKind::kAlloc:
      return "alloc";
    case RecordKind::kFree:
      return "free";
    case RecordKind::kReclaim:
      return "reclaim";
  }
  return "?";
}

}  // namespace

Recorder::~Recorder() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (db_) sqlite3_close(db_);
}

bool Recorder::open(const std::string& path, const std::string& socket_path) {
  path_ = path;
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::fprintf(stderr, "allocation_server: cannot open the recording %s: %s\n", path.c_str(),
                 sqlite3_errmsg(db_));
    return false;
  }
  char* error = nullptr;
  if (sqlite3_exec(db_, kSchema, nullptr, nullptr, &error) != SQLITE_OK ||
      (!sqlite::has_column(db_, "events", "page_size") &&
       sqlite3_exec(db_, kUpgradeFrom1, nullptr, nullptr, &error) != SQLITE_OK) ||
      (!sqlite::has_column(db_, "devices", "asic_id") &&
       sqlite3_exec(db_, kUpgradeFrom2, nullptr, nullptr, &error) != SQLITE_OK) ||
      (!sqlite::has_column(db_, "events", "context") &&
       sqlite3_exec(db_, kUpgradeContexts, nullptr, nullptr, &error) != SQLITE_OK) ||
      (!sqlite::has_column(db_, "contexts", "tensor") &&
       sqlite3_exec(db_, kUpgradeTensors, nullptr, nullptr, &error) != SQLITE_OK)) {
    std::fprintf(stderr, "allocation_server: cannot record to %s: %s\n", path.c_str(), error ? error : "?");
    sqlite3_free(error);
    return false;
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::string meta =
      "INSERT OR REPLACE INTO meta VALUES('schema_version','2');"
      "INSERT OR IGNORE INTO meta VALUES('started_unix_ms','" +
      std::to_string(now) +
      "');"
      "INSERT OR REPLACE INTO meta VALUES('socket','" +
      socket_path + "');";
  sqlite3_exec(db_, meta.c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COALESCE(MAX(id), 0) FROM contexts", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    context_id_base_ = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  thread_ = std::thread([this] { run(); });
  return true;
}

void Recorder::publish() {
  if (staged_.empty() && staged_marks_.empty()) return;
  if (failed_.load(std::memory_order_relaxed)) {
    staged_.clear();
    staged_marks_.clear();
    return;
  }
  std::lock_guard lock(mutex_);
  for (RecordedMark& mark : staged_marks_) {  // their places, counted in the batch they join
    mark.before_event += pending_.events.size();
    pending_.marks.push_back(std::move(mark));
  }
  staged_marks_.clear();
  if (pending_.events.empty())
    std::swap(pending_.events, staged_);
  else
    pending_.events.insert(pending_.events.end(), staged_.begin(), staged_.end());
  staged_.clear();
}

void Recorder::context_used(uint32_t index, const Context& context) {
  if (index < contexts_named_.size() && contexts_named_[index]) return;
  if (index >= contexts_named_.size()) contexts_named_.resize(index + 1, false);
  contexts_named_[index] = true;
  std::lock_guard lock(mutex_);
  pending_.contexts.emplace_back(index, context);
}

void Recorder::device(RecordedDevice d) {
  std::lock_guard lock(mutex_);
  pending_.devices.push_back(std::move(d));
}

void Recorder::sample(RecordedSample s) {
  std::lock_guard lock(mutex_);
  pending_.samples.push_back(std::move(s));
}

void Recorder::process_started(RecordedProcess p) {
  std::lock_guard lock(mutex_);
  pending_.started.push_back(std::move(p));
}

void Recorder::process_ended(uint64_t client, int64_t end_ms) {
  std::lock_guard lock(mutex_);
  pending_.ended.emplace_back(client, end_ms);
}

void Recorder::flush() {
  publish();
  std::unique_lock lock(mutex_);
  const uint64_t target = ++queued_;
  wake_.notify_all();
  done_.wait(lock, [&] { return written_ >= target || failed_.load(); });
}

void Recorder::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stop_ || queued_ > written_; });
    Batch batch;
    std::swap(batch, pending_);
    const uint64_t target = queued_;
    const bool stopping = stop_;
    lock.unlock();
    if (!batch.empty() && !failed_.load()) write(batch);
    lock.lock();
    written_ = std::max(written_, target);
    done_.notify_all();
    if (stopping && pending_.empty()) return;
  }
}

void Recorder::fail(const std::string& what) {
  if (failed_.exchange(true)) return;
  std::fprintf(
      stderr,
      "allocation_server: recording to %s stopped: %s. Tracking continues; the recording keeps what was "
      "written before.\n",
      path_.c_str(), what.c_str());
}

bool Recorder::write(const Batch& batch) {
  auto check = [&](int rc) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
      fail(sqlite3_errmsg(db_));
      return false;
    }
    return true;
  };
  if (!check(sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr))) return false;
  sqlite3_stmt* st = nullptr;
  bool ok = true;
  if (!batch.started.empty() &&
      check(sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO processes VALUES(?,?,?,?,?,NULL)", -1, &st,
                               nullptr))) {
    for (const auto& p : batch.started) {
      sqlite3_bind_int64(st, 1, static_cast<int64_t>(p.client));
      sqlite3_bind_int(st, 2, p.pid);
      sqlite3_bind_int64(st, 3, p.uid);
      sqlite3_bind_text(st, 4, p.name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 5, p.start_ms);
      ok = ok && check(sqlite3_step(st));
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
  }
  if (ok && !batch.devices.empty() &&
      check(sqlite3_prepare_v2(
          db_,
          "INSERT INTO devices(time_ms,client,device,architecture,mesh_row,mesh_col,capacity,grid_x,"
          "grid_y,asic_id,logical_id) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
          -1, &st, nullptr))) {
    for (const auto& d : batch.devices) {
      std::string capacity = "[";
      for (size_t i = 0; i < d.capacity.size(); ++i) {
        if (i) capacity += ',';  // (not `(i ? "," : "") + ...`: GCC 12 -O3 warns falsely on it, -Wrestrict)
        capacity += std::to_string(d.capacity[i]);
      }
      capacity += "]";
      sqlite3_bind_int64(st, 1, d.time_ms);
      sqlite3_bind_int64(st, 2, static_cast<int64_t>(d.client));
      sqlite3_bind_int(st, 3, d.device);
      sqlite3_bind_text(st, 4, d.architecture.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(st, 5, d.mesh_row);
      sqlite3_bind_int(st, 6, d.mesh_col);
      sqlite3_bind_text(st, 7, capacity.c_str(), -1, SQLITE_TRANSIENT);
      bind_optional_int(st, 8, d.grid_x);
      bind_optional_int(st, 9, d.grid_y);
      if (d.asic_id)
        sqlite3_bind_int64(st, 10,
                           static_cast<int64_t>(*d.asic_id));  // unique ids use all 64 bits: as stored
      else
        sqlite3_bind_null(st, 10);
      if (d.logical_id)
        sqlite3_bind_int(st, 11, *d.logical_id);
      else
        sqlite3_bind_null(st, 11);
      ok = ok && check(sqlite3_step(st));
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
  }
  if (ok && !batch.events.empty() &&
      check(sqlite3_prepare_v2(
          db_,
          "INSERT INTO events(time_ms,client,pid,device,type,kind,size,address,buffer_id,"
          "page_size,layout,shard_count,direction,context) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
          -1, &st, nullptr))) {
    size_t next_mark = 0;
    for (size_t i = 0; i < batch.events.size(); ++i) {
      while (ok && next_mark < batch.marks.size() && batch.marks[next_mark].before_event <= i)
        ok = write_mark(batch.marks[next_mark++]);
      const RecordedEvent& e = batch.events[i];
      sqlite3_bind_int64(st, 1, e.time_ms);
      sqlite3_bind_int64(st, 2, static_cast<int64_t>(e.client));
      sqlite3_bind_int(st, 3, e.pid);
      sqlite3_bind_int(st, 4, e.device);
      const std::string type(wire::memory_type_name(e.memory_type));
      sqlite3_bind_text(st, 5, type.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 6, kind_name(e.kind), -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 7, static_cast<int64_t>(e.size));
      sqlite3_bind_int64(st, 8, static_cast<int64_t>(e.address));
      sqlite3_bind_int64(st, 9, static_cast<int64_t>(e.buffer_id));
      bind_optional_int(st, 10, e.page_size);
      bind_optional_text(st, 11, layout_name(e.layout));
      bind_optional_int(st, 12, e.shard_count);
      bind_optional_text(st, 13, direction_name(e.direction));
      bind_optional_int(st, 14, e.context ? e.context + static_cast<uint64_t>(context_id_base_) : 0);
      ok = ok && check(sqlite3_step(st));
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
  }
  for (size_t i = 0; ok && i < batch.marks.size(); ++i)  // marks after the batch's last event
    if (batch.marks[i].before_event >= batch.events.size()) ok = write_mark(batch.marks[i]);
  if (ok && !batch.contexts.empty() &&
      check(sqlite3_prepare_v2(
          db_, "INSERT OR REPLACE INTO contexts(id, scope, op, site, tensor) VALUES(?,?,?,?,?)", -1, &st,
          nullptr))) {
    for (const auto& [id, context] : batch.contexts) {
      sqlite3_bind_int64(st, 1, id + context_id_base_);
      sqlite3_bind_text(st, 2, context.scope.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 3, context.op.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 4, context.site.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 5, context.tensor.c_str(), -1, SQLITE_TRANSIENT);
      ok = ok && check(sqlite3_step(st));
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
  }
  if (ok && !batch.samples.empty() &&
      check(sqlite3_prepare_v2(db_, "INSERT INTO samples VALUES(?,?,?,?,?)", -1, &st, nullptr))) {
    for (const auto& sample : batch.samples) {
      sqlite3_bind_int64(st, 1, sample.time_ms);
      sqlite3_bind_int(st, 2, sample.device);
      const std::string type(wire::memory_type_name(sample.memory_type));
      sqlite3_bind_text(st, 3, type.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 4, static_cast<int64_t>(sample.bytes));
      sqlite3_bind_text(st, 5, sample.source.c_str(), -1, SQLITE_TRANSIENT);
      ok = ok && check(sqlite3_step(st));
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
  }
  if (ok && !batch.ended.empty() &&
      check(sqlite3_prepare_v2(db_, "UPDATE processes SET end_ms=? WHERE client=?", -1, &st, nullptr))) {
    for (const auto& [client, end] : batch.ended) {
      sqlite3_bind_int64(st, 1, end);
      sqlite3_bind_int64(st, 2, static_cast<int64_t>(client));
      ok = ok && check(sqlite3_step(st));
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
  }
  if (!ok || !check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr))) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  }
  rows_written_.fetch_add(batch.events.size(), std::memory_order_relaxed);
  return true;
}

bool Recorder::write_mark(const RecordedMark& mark) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT INTO marks VALUES((SELECT MAX(seq) FROM events),?,?,?,?)", -1, &st,
                         nullptr) != SQLITE_OK)
    return false;
  sqlite3_bind_int64(st, 1, mark.time_ms);
  sqlite3_bind_int64(st, 2, static_cast<int64_t>(mark.client));
  sqlite3_bind_int(st, 3, mark.pid);
  sqlite3_bind_text(st, 4, mark.name.c_str(), -1, SQLITE_TRANSIENT);
  const bool ok = sqlite3_step(st) == SQLITE_DONE;
  sqlite3_finalize(st);
  return ok;
}

}  // namespace allocmon::server
