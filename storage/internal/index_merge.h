// Merges the index written by one process of a multi-process save into the primary's: the
// trees must have the same structure; shards and data files of `other` are appended.
#ifndef CAIRN_STORAGE_INTERNAL_INDEX_MERGE_H_
#define CAIRN_STORAGE_INTERNAL_INDEX_MERGE_H_

#include "absl/status/status.h"
#include "cairn/storage/index.pb.h"

namespace cairn {

absl::Status MergeProcessIndex(const format::TreeIndex& other, format::TreeIndex* primary);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_INDEX_MERGE_H_
