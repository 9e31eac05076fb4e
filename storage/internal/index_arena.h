// The arenas an index's messages are built and parsed in, whose blocks are kept for the next
// index: a 100,000-leaf index takes tens of megabytes, and in fresh memory its page faults cost
// several times more than building it.
#ifndef CAIRN_STORAGE_INTERNAL_INDEX_ARENA_H_
#define CAIRN_STORAGE_INTERNAL_INDEX_ARENA_H_

#include <cstddef>

#include "google/protobuf/arena.h"

namespace cairn {

// Blocks of up to 1 MiB (the default 8 KiB blocks would be allocated thousands of times), taken
// from and given back to a process-wide cache of up to kRetainedIndexArenaBytes.
google::protobuf::ArenaOptions IndexArenaOptions();

inline constexpr size_t kRetainedIndexArenaBytes = size_t{128} << 20;

// Bytes of blocks the cache holds now (for tests).
size_t RetainedIndexArenaBytes();

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_INDEX_ARENA_H_
