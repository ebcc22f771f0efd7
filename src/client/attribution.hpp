// What the bytes are, on the client side: each thread's scope stack and current op, and the process-wide
// table of contexts (scope path, op, call site) they name. Nothing here runs per allocation: a thread's
// context changes only when it enters or leaves a scope or an op, and the change travels through the thread's
// queue as one internal event (so it stays in order with the thread's allocations).
#pragma once

#include <cstdint>
#include <string>

namespace allocmon::client {

struct ContextStrings {
  std::string scope;  // full path, "model/decoder.3/attention"; empty: no scope
  std::string op;     // e.g. "ttnn.matmul"; empty: none
  std::string site;   // e.g. "model.py:123"; empty: none
};

// The process's contexts: an id (from 1) per distinct (scope, op, site), kept for the life of the process.
uint32_t intern_context(const ContextStrings& strings);
ContextStrings context_strings(uint32_t id);

// The calling thread's attribution, changed by the C ABI (allocmon_scope_push, ...). Each returns the
// thread's context id after the change (0: none) and whether it changed.
struct ContextChange {
  uint32_t id;
  bool changed;
};
ContextChange push_scope(const char* name);
ContextChange pop_scope();
ContextChange begin_op(const char* op, const char* site);
ContextChange end_op();

}  // namespace allocmon::client
