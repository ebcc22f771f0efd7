#include "attribution.hpp"

namespace allocmon::server {

uint32_t Attribution::intern(const Context& context) {
  std::string key = context.scope;
  key += '\0';
  key += context.op;
  key += '\0';
  key += context.site;
  key += '\0';
  key += context.tensor;
  if (auto found = index_.find(key); found != index_.end()) return found->second;
  if (contexts_.size() > kMaxContexts || bytes_ + 2 * key.size() > max_bytes_) return 0;
  bytes_ += 2 * key.size();
  const auto index = static_cast<uint32_t>(contexts_.size());
  contexts_.push_back(context);
  index_.emplace(std::move(key), index);
  return index;
}

void Attribution::mark(std::string name, pid_t pid, uid_t uid, int64_t time_unix_ms) {
  marks_.push_back({std::move(name), pid, uid, seq_, time_unix_ms});
  if (marks_.size() > kMaxMarks) marks_.pop_front();
}

}  // namespace allocmon::server
