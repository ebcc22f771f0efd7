#include "trace.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

namespace allocmon::replay {

namespace {

uint64_t parse_bytes(const std::string& word, int line, const char* what) {
  try {
    size_t used = 0;
    const unsigned long long value = std::stoull(word, &used, 0);
    if (used != word.size() || word[0] == '-') throw std::invalid_argument(word);
    return value;
  } catch (const std::exception&) {
    throw TraceError(line, std::string(what) + " must be a number of bytes, got '" + word + "'");
  }
}

}  // namespace

std::optional<std::pair<uint32_t, uint32_t>> parse_grid(const std::string& text) {
  const auto x = text.find('x');
  if (x == std::string::npos) return std::nullopt;
  try {
    const unsigned long cols = std::stoul(text.substr(0, x)), rows = std::stoul(text.substr(x + 1));
    if (cols == 0 || rows == 0 || cols > 1024 || rows > 1024) return std::nullopt;
    return std::make_pair(static_cast<uint32_t>(cols), static_cast<uint32_t>(rows));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<mesh::BufferType> parse_buffer_type(const std::string& name) {
  if (name == "DRAM") return mesh::BufferType::DRAM;
  if (name == "L1") return mesh::BufferType::L1;
  if (name == "L1_SMALL") return mesh::BufferType::L1_SMALL;
  if (name == "TRACE") return mesh::BufferType::TRACE;
  return std::nullopt;
}

bool is_sqlite_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char magic[16] = {};
  return file.read(magic, sizeof(magic)) && std::memcmp(magic, "SQLite format 3", 16) == 0;
}

Trace parse_trace(const std::string& text) {
  Trace trace;
  std::istringstream lines(text);
  std::string raw;
  for (int line = 1; std::getline(lines, raw); ++line) {
    if (const auto hash = raw.find('#'); hash != std::string::npos) raw.erase(hash);
    std::istringstream in(raw);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    if (words.empty()) continue;
    const std::string& verb = words[0];
    if (verb == "arch") {
      if (words.size() < 2) throw TraceError(line, "arch needs a name (wormhole_b0 or blackhole)");
      Target target;
      target.architecture = words[1];
      if (!find_architecture(target.architecture))
        throw TraceError(line, "unknown architecture '" + words[1] + "' (wormhole_b0, blackhole)");
      for (size_t i = 2; i < words.size(); ++i) {
        const auto eq = words[i].find('=');
        const std::string key = words[i].substr(0, eq),
                          value = eq == std::string::npos ? "" : words[i].substr(eq + 1);
        if (key == "grid") {
          target.grid = parse_grid(value);
          if (!target.grid) throw TraceError(line, "grid wants XxY (e.g. 8x8), got '" + value + "'");
        } else if (key == "l1_small") {
          target.l1_small = parse_bytes(value, line, "l1_small");
        } else if (key == "trace") {
          target.trace_region = parse_bytes(value, line, "trace");
        } else {
          throw TraceError(line, "unknown arch option '" + words[i] + "' (grid=, l1_small=, trace=)");
        }
      }
      trace.target = target;
    } else if (verb == "alloc") {
      if (words.size() < 5 || words.size() > 7)
        throw TraceError(line,
                         "alloc wants: alloc <id> <DRAM|L1|L1_SMALL|TRACE> <size> <page_size> "
                         "[bottom_up|top_down] [shards=N]");
      Command c{Command::kAlloc, line, words[1]};
      auto type = parse_buffer_type(words[2]);
      if (!type) throw TraceError(line, "unknown buffer type '" + words[2] + "' (DRAM, L1, L1_SMALL, TRACE)");
      c.type = *type;
      c.size = parse_bytes(words[3], line, "size");
      c.page_size = parse_bytes(words[4], line, "page_size");
      if (c.size == 0 || c.page_size == 0) throw TraceError(line, "size and page_size must be positive");
      if (c.size % c.page_size != 0)
        throw TraceError(line, "size " + words[3] + " is not a multiple of the page size " + words[4]);
      for (size_t i = 5; i < words.size(); ++i) {
        if (words[i] == "bottom_up") {
          c.bottom_up = true;
        } else if (words[i] == "top_down") {
          c.bottom_up = false;
        } else if (words[i].rfind("shards=", 0) == 0) {
          const uint64_t shards = parse_bytes(words[i].substr(7), line, "shards");
          if (shards == 0 || shards > 1u << 20)
            throw TraceError(line, "shards must be a positive core count");
          c.shards = static_cast<uint32_t>(shards);
        } else {
          throw TraceError(line, "expected bottom_up, top_down or shards=N, got '" + words[i] + "'");
        }
      }
      trace.commands.push_back(c);
    } else if (verb == "cb") {
      if (words.size() != 3) throw TraceError(line, "cb wants: cb <id> <bytes_per_core>");
      Command c{Command::kCircularBuffers, line, words[1]};
      c.size = parse_bytes(words[2], line, "bytes_per_core");
      trace.commands.push_back(c);
    } else if (verb == "free") {
      if (words.size() != 2) throw TraceError(line, "free wants: free <id>");
      trace.commands.push_back(Command{Command::kFree, line, words[1]});
    } else if (verb == "stats") {
      if (words.size() != 2) throw TraceError(line, "stats wants: stats <DRAM|L1|L1_SMALL|TRACE>");
      Command c{Command::kStats, line, ""};
      auto type = parse_buffer_type(words[1]);
      if (!type) throw TraceError(line, "unknown buffer type '" + words[1] + "'");
      c.type = *type;
      trace.commands.push_back(c);
    } else {
      throw TraceError(line, "unknown command '" + verb + "' (arch, alloc, cb, free, stats)");
    }
  }
  return trace;
}

}  // namespace allocmon::replay
