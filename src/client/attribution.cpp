#include "attribution.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

#include "protocol/wire.hpp"

namespace allocmon::client {

namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<std::string, uint32_t> ids;           // scope '\0' op '\0' site '\0' tensor -> id
  std::vector<ContextStrings> contexts{ContextStrings{}};  // [0]: none
};

Registry& registry() {
  static auto* r = new Registry;  // leaked: threads may still change scopes during static destruction
  return *r;
}

std::string clipped(const char* text) {
  std::string s = text ? text : "";
  if (s.size() > wire::kMaxAttributionString) s.resize(wire::kMaxAttributionString);
  return s;
}

struct ThreadAttribution {
  std::vector<std::string> scopes;                       // full paths, innermost last
  std::vector<std::pair<std::string, std::string>> ops;  // (op, site), innermost last
  // Descriptions, innermost last, each with the context in force before it and `scope_changes` then: a
  // tensor's end restores that context without interning it again (the emulated mesh ends one per tensor).
  struct Tensor {
    std::string description;
    uint32_t before;
    uint64_t scope_changes;
  };
  std::vector<Tensor> tensors;
  uint64_t scope_changes = 0;  // scope and op pushes and pops so far
  uint32_t current = 0;

  ContextChange update() {
    ContextStrings strings;
    if (!scopes.empty()) strings.scope = scopes.back();
    if (!ops.empty()) std::tie(strings.op, strings.site) = ops.back();
    if (!tensors.empty()) strings.tensor = tensors.back().description;
    const uint32_t id =
        strings.scope.empty() && strings.op.empty() && strings.site.empty() && strings.tensor.empty()
            ? 0
            : intern_context(strings);
    const bool changed = id != current;
    current = id;
    return {id, changed};
  }
};

ThreadAttribution& thread_attribution() {
  static thread_local ThreadAttribution state;
  return state;
}

}  // namespace

uint32_t intern_context(const ContextStrings& strings) {
  std::string key = strings.scope;
  key += '\0';
  key += strings.op;
  key += '\0';
  key += strings.site;
  key += '\0';
  key += strings.tensor;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto [it, inserted] = r.ids.try_emplace(std::move(key), static_cast<uint32_t>(r.contexts.size()));
  if (inserted) r.contexts.push_back(strings);
  return it->second;
}

ContextStrings context_strings(uint32_t id) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return id < r.contexts.size() ? r.contexts[id] : ContextStrings{};
}

ContextChange push_scope(const char* name) {
  ThreadAttribution& t = thread_attribution();
  std::string path = t.scopes.empty() ? std::string() : t.scopes.back() + "/";
  path += clipped(name);
  if (path.size() > wire::kMaxAttributionString) path.resize(wire::kMaxAttributionString);
  t.scopes.push_back(std::move(path));
  ++t.scope_changes;
  return t.update();
}

ContextChange pop_scope() {
  ThreadAttribution& t = thread_attribution();
  if (!t.scopes.empty()) t.scopes.pop_back();  // an unmatched pop is ignored
  ++t.scope_changes;
  return t.update();
}

ContextChange begin_op(const char* op, const char* site) {
  ThreadAttribution& t = thread_attribution();
  t.ops.emplace_back(clipped(op), clipped(site));
  ++t.scope_changes;
  return t.update();
}

ContextChange end_op() {
  ThreadAttribution& t = thread_attribution();
  if (!t.ops.empty()) t.ops.pop_back();
  ++t.scope_changes;
  return t.update();
}

ContextChange begin_tensor(const char* description) {
  ThreadAttribution& t = thread_attribution();
  t.tensors.push_back({clipped(description), t.current, t.scope_changes});
  return t.update();
}

ContextChange end_tensor() {
  ThreadAttribution& t = thread_attribution();
  if (t.tensors.empty()) return {t.current, false};  // an unmatched end is ignored
  const ThreadAttribution::Tensor ended = std::move(t.tensors.back());
  t.tensors.pop_back();
  if (ended.scope_changes != t.scope_changes) return t.update();  // scopes or ops changed inside it
  const bool changed = ended.before != t.current;
  t.current = ended.before;
  return {t.current, changed};
}

}  // namespace allocmon::client
