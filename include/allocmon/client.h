/* allocmon tracking client: the stable C ABI a device runtime calls on every buffer allocation and free.
 *
 * Tracking is off unless TT_ALLOC_TRACKING_ENABLED=1 at process start (or allocmon_configure() turns it on);
 * then every call below returns after one predictable branch. When on, a call appends a 40-byte record to a
 * queue of the calling thread (no system call, no lock); a background thread ships batches to
 * allocation_server over the Unix socket TT_ALLOC_SERVER_SOCKET (default /tmp/tt_allocation_server.sock). The
 * server being absent, slow or restarted never blocks or crashes the application: the client keeps its own
 * table of live buffers and re-sends it when it (re)connects. */
#ifndef ALLOCMON_CLIENT_H
#define ALLOCMON_CLIENT_H

#include <stdint.h>

#include "allocmon/memory_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ALLOCMON_API __attribute__((visibility("default")))

typedef struct allocmon_device_info {
  int32_t device_id;                            /* physical device id, fixed when the device opens */
  int32_t mesh_row;                             /* -1 when not part of a mesh */
  int32_t mesh_col;                             /* -1 when not part of a mesh */
  const char* architecture;                     /* e.g. "wormhole_b0"; copied, may be NULL */
  uint64_t capacity[ALLOCMON_MAX_MEMORY_TYPES]; /* bytes per allocmon_memory_type, 0 = none or unknown */
  uint16_t grid_x; /* worker core grid (L1 banks = grid_x * grid_y), 0 = unknown; since 0.2 (soname 1) */
  uint16_t grid_y;
} allocmon_device_info;

/* Non-zero while tracking is on. The C++ header reads this flag inline so that a disabled call costs one
 * branch. */
extern ALLOCMON_API volatile int allocmon_tracking_enabled;

/* Overrides the environment: enabled (0/1) and the server socket path (NULL keeps the current one). Call
 * before the first event; meant for tests and embedders. */
ALLOCMON_API void allocmon_configure(int enabled, const char* socket_path);

ALLOCMON_API void allocmon_register_device(const allocmon_device_info* info);
/* Also releases, in the server's accounting, whatever this process still holds on the device. */
ALLOCMON_API void allocmon_unregister_device(int32_t device_id);

ALLOCMON_API void allocmon_alloc(int32_t device_id, allocmon_memory_type type, uint64_t size,
                                 uint64_t address, uint64_t buffer_id);
ALLOCMON_API void allocmon_free(int32_t device_id, uint64_t buffer_id);

/* How the allocator laid a buffer out: what `allocmon-replay` needs to place it again on another device. */
typedef enum allocmon_layout_kind {
  ALLOCMON_LAYOUT_UNKNOWN = 0,
  ALLOCMON_LAYOUT_INTERLEAVED = 1, /* page p in bank p mod banks */
  ALLOCMON_LAYOUT_SHARDED = 2,     /* one shard per core of a core set */
} allocmon_layout_kind;

typedef struct allocmon_buffer_layout {
  uint64_t page_size;   /* bytes per page, 0 = unknown (sizes over 4 GiB are sent as unknown) */
  uint32_t kind;        /* allocmon_layout_kind */
  uint32_t shard_count; /* sharded: the number of cores (banks) holding a shard */
  int32_t bottom_up;    /* -1: the memory type's default direction, 0: top-down, 1: bottom-up */
} allocmon_buffer_layout;

/* allocmon_alloc plus the buffer's layout (NULL: unknown). Same cost: the record has room for it. */
ALLOCMON_API void allocmon_alloc_with_layout(int32_t device_id, allocmon_memory_type type, uint64_t size,
                                             uint64_t address, uint64_t buffer_id,
                                             const allocmon_buffer_layout* layout);
/* Allocator statistics for one device and type, shown by the monitor as fill and fragmentation. */
ALLOCMON_API void allocmon_report_free_space(int32_t device_id, allocmon_memory_type type,
                                             uint64_t free_bytes, uint64_t largest_free_block);
/* The allocator's region for one device and type: the address range of every bank ([base, base + bank_size)),
 * how many banks, and its alignments (pages are rounded to page_alignment, blocks to block_alignment). With
 * it the monitor draws the type's address map: used blocks and free gaps, as the allocator sees them. */
ALLOCMON_API void allocmon_describe_region(int32_t device_id, allocmon_memory_type type, uint64_t base,
                                           uint64_t bank_size, uint32_t banks, uint32_t page_alignment,
                                           uint32_t block_alignment);

/* Inline forms for hot paths: when tracking is off they cost one load and branch in the caller (an
 * out-of-line call through the PLT costs ~2.5 ns even when it returns at once). */
static inline void allocmon_track_alloc(int32_t device_id, allocmon_memory_type type, uint64_t size,
                                        uint64_t address, uint64_t buffer_id) {
  if (__builtin_expect(allocmon_tracking_enabled != 0, 0))
    allocmon_alloc(device_id, type, size, address, buffer_id);
}
static inline void allocmon_track_alloc_with_layout(int32_t device_id, allocmon_memory_type type,
                                                    uint64_t size, uint64_t address, uint64_t buffer_id,
                                                    const allocmon_buffer_layout* layout) {
  if (__builtin_expect(allocmon_tracking_enabled != 0, 0))
    allocmon_alloc_with_layout(device_id, type, size, address, buffer_id, layout);
}
static inline void allocmon_track_free(int32_t device_id, uint64_t buffer_id) {
  if (__builtin_expect(allocmon_tracking_enabled != 0, 0)) allocmon_free(device_id, buffer_id);
}

/* What the bytes are (docs/attribution.md). Each thread has a stack of scopes (names joined into a path,
 * "model/decoder.3/attention") and of ops (a name such as "ttnn.matmul" and the caller's site,
 * "model.py:123"); every buffer allocated while they are in force carries the innermost scope path, op and
 * site, and the server's leak reports, snapshots and diffs group by them. Not for per-allocation paths: each
 * call takes a lock and may allocate (a scope or op usually spans many allocations). Strings are copied; NULL
 * is empty. */
ALLOCMON_API void allocmon_scope_push(const char* name);
ALLOCMON_API void allocmon_scope_pop(void);
ALLOCMON_API void allocmon_op_begin(const char* op, const char* site);
ALLOCMON_API void allocmon_op_end(void);
/* The tensor the calling thread's next allocations hold, as a short description a person reads ("bfloat16
 * TILE [1, 1, 1024, 1024] DRAM interleaved, sharded dim 3 over 8"); the buffers of one distributed tensor
 * then show as one row (docs/attribution.md). A per-thread stack like the ops': the innermost description
 * wins and allocmon_tensor_end() returns to the one before (an unmatched end is ignored). The process names
 * each distinct (scope, op, site, tensor) once, so descriptions should say what a tensor is (its type, shape
 * and placement), never which one it is (no ids or addresses). Copied, cut at 1 KiB; NULL is none. */
ALLOCMON_API void allocmon_tensor_begin(const char* description);
ALLOCMON_API void allocmon_tensor_end(void);
/* A named point in the run ("iter-1"): the server keeps it in order with this process's events, so what was
 * allocated between two marks and is still alive can be listed (allocmon.diff, allocmon-report --diff). */
ALLOCMON_API void allocmon_mark(const char* name);

enum {
  ALLOCMON_FLUSH_OK = 0,         /* the server applied every event this process reported before the call */
  ALLOCMON_FLUSH_DISABLED = 1,   /* tracking is off: nothing to flush */
  ALLOCMON_FLUSH_NO_SERVER = -1, /* no server reachable on the socket */
  ALLOCMON_FLUSH_TIMEOUT = -2,   /* the server did not confirm in time (stalled?) */
};
/* Barrier: returns once the server has applied every event reported before it by any thread of this process
 * (events that happen-before the call), or after timeout_ms. Tests and tools use it instead of sleeping. */
ALLOCMON_API int allocmon_flush(int timeout_ms);

typedef struct allocmon_client_stats {
  uint64_t events_reported; /* alloc/free/free-space calls accepted while enabled */
  uint64_t events_sent;     /* events written to the server socket */
  uint64_t resyncs; /* full live-table re-sends (connect, reconnect, recovery from a stalled server) */
  uint64_t events_superseded; /* queued events dropped because a resync replaced them (server stalled) */
  uint64_t client_errors;     /* unknown frees, duplicate ids, unregistered devices seen by the client */
  uint64_t live_buffers;      /* buffers this process holds, by the client's own table */
  int connected;
} allocmon_client_stats;
/* 1 when this process registered the device (allocmon_register_device) and has not unregistered it, else 0.
 * Not for hot paths (it takes a lock): for bindings and tools that check their callers' input. */
ALLOCMON_API int allocmon_device_registered(int32_t device_id);
ALLOCMON_API void allocmon_get_client_stats(allocmon_client_stats* out);

#ifdef __cplusplus
}
#endif

#endif
