// What a recording says the bytes are (docs/attribution.md): each alloc's context — scope path, op, call site
// and tensor description — and the marks, as allocmon-report reads them. A recording made before attribution
// existed has none.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace allocmon::report {

struct Context {
  std::string scope, op, site;  // "" when not in force
  std::string tensor;           // the tensor's description ("" in recordings made before descriptions)
};

struct Mark {
  int64_t after_seq = 0;  // the last events.seq recorded before it
  int64_t time_ms = 0;    // unix ms
  int pid = 0;
  std::string name;
};

struct Attribution {
  std::map<int64_t, Context> contexts;               // by contexts.id
  std::unordered_map<int64_t, int64_t> context_of;   // events.seq of an alloc -> contexts.id
  std::vector<Mark> marks;                           // in recording order
  const Context* context_of_seq(int64_t seq) const;  // nullptr: none
};

// Throws allocmon::sqlite::Error naming the file when it cannot be read.
Attribution load_attribution(const std::string& path);

}  // namespace allocmon::report
