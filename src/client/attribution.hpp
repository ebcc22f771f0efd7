// What the bytes are, on the client side: each thread's scope stack, current op and current tensor, and the
// process-wide table of contexts (scope path, op, call site, tensor) they name. Nothing here runs per
// allocation: a thread's context changes only when it enters or leaves a scope or an op, and the change
// travels through the thread's queue as one internal event (so it stays in order with the thread's
// allocations).
#pragma once

#include <cstdint>
#include <string>

namespace allocmon::client {

struct ContextStrings {
  std::string scope;   // full path, "model/decoder.3/attention"; empty: no scope
  std::string op;      // e.g. "ttnn.matmul"; empty: none
  std::string site;    // e.g. "model.py:123"; empty: none
  std::string tensor;  // e.g. "bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, replicated"; empty: none
};

// The process's contexts: an id (from 1) per distinct (scope, op, site, tensor), kept for the life of the
// process (so they grow with distinct tensor descriptions, not with tensors).
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
ContextChange begin_tensor(const char* description);
ContextChange end_tensor();

}  // namespace allocmon::client
