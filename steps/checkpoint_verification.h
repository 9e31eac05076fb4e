// Checking a committed checkpoint end to end: every file its commit marker lists is read whole
// and compared with the size and checksum recorded there, every chunk of every cairn pytree is
// read and checked against its checksum (docs/FORMAT.md), and the arrays of trees that carry no
// checksums (Orbax's) are loaded back. What `cairn verify` runs.
#ifndef CAIRN_STEPS_CHECKPOINT_VERIFICATION_H_
#define CAIRN_STEPS_CHECKPOINT_VERIFICATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

struct VerifyProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // listed files' sizes plus the arrays' stored bytes
};

struct VerifyOptions {
  Filesystem* filesystem = nullptr;
  // Arrays of trees without checksums (Orbax's) are loaded a batch at a time into one reused
  // buffer of about this size (or the largest array's), which bounds the memory a check takes.
  uint64_t batch_bytes = uint64_t{64} << 20;
  // Called as the check goes (after each file block and each batch of arrays).
  std::function<void(const VerifyProgress&)> progress;
};

// Something of the checkpoint that is not as committed.
struct Damage {
  // The damaged file relative to the checkpoint's directory when known, else the
  // checkpointable (and key path) whose data could not be read back.
  std::string path;
  // What is wrong, naming the file.
  std::string problem;
};

struct VerificationReport {
  bool has_listing = false;     // whether the commit marker lists files (Orbax's markers do not)
  uint64_t files_checked = 0;   // files of the listing read whole
  uint64_t leaves_checked = 0;  // arrays and scalars of the pytrees checked
  uint64_t bytes_read = 0;      // read from files (for trees loaded back, their stored bytes)
  std::vector<Damage> damage;
  bool intact() const { return damage.empty(); }
};

// Verifies the checkpoint at `dir`. Damage (a file differing from its digest or missing, a
// chunk failing its checksum, an unreadable index or metadata) is reported, not returned:
// errors are for what prevents the check (`dir` missing or not a checkpoint, I/O failures).
absl::StatusOr<VerificationReport> VerifyCheckpoint(const std::string& dir,
                                                    const VerifyOptions& options = {});

}  // namespace cairn

#endif  // CAIRN_STEPS_CHECKPOINT_VERIFICATION_H_
