/* allocmon memory types: the one list every side (client, server, monitor, Python) is generated from.
 * Adding a type is one line here; codes are part of the wire format, so never renumber. */
#ifndef ALLOCMON_MEMORY_TYPES_H
#define ALLOCMON_MEMORY_TYPES_H

/* X(name, code) */
#define ALLOCMON_MEMORY_TYPES(X) \
  X(DRAM, 0)                     \
  X(L1, 1)                       \
  X(L1_SMALL, 2)                 \
  X(TRACE, 3)                    \
  X(CB, 4)                       \
  X(KERNEL, 5)

#define ALLOCMON_ENUM_ENTRY(name, code) ALLOCMON_##name = code,
typedef enum allocmon_memory_type { ALLOCMON_MEMORY_TYPES(ALLOCMON_ENUM_ENTRY) } allocmon_memory_type;
#undef ALLOCMON_ENUM_ENTRY

#define ALLOCMON_COUNT_ENTRY(name, code) +1
enum { ALLOCMON_NUM_MEMORY_TYPES = 0 ALLOCMON_MEMORY_TYPES(ALLOCMON_COUNT_ENTRY) };
#undef ALLOCMON_COUNT_ENTRY

/* Slots reserved on the wire for per-type arrays: room to add types without a protocol version bump. */
enum { ALLOCMON_MAX_MEMORY_TYPES = 8 };

#endif
