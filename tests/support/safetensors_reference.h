// An independent safetensors reader for the tests, written from the format's description and
// sharing no code with the library's: it checks a file against every rule of the format (and
// that a writer padded the header so that each tensor is aligned) and returns its contents.
#ifndef CAIRN_TESTS_SUPPORT_SAFETENSORS_REFERENCE_H_
#define CAIRN_TESTS_SUPPORT_SAFETENSORS_REFERENCE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cairn::testing {

struct ReferenceTensor {
  std::string dtype;  // the format's name: "F32", "BF16", ...
  std::vector<uint64_t> shape;
  std::string bytes;
  uint64_t begin = 0;  // in the data buffer
};

struct ReferenceFile {
  std::map<std::string, ReferenceTensor> tensors;
  std::map<std::string, std::string> metadata;
  uint64_t header_bytes = 0;
};

// Parses `file` (its whole contents). Returns false and sets `error` for any rule broken.
bool ReadReferenceSafetensors(const std::string& file, ReferenceFile* out, std::string* error);

// Reads the file at `path` from the real filesystem.
bool ReadReferenceSafetensorsFile(const std::string& path, ReferenceFile* out, std::string* error);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_SAFETENSORS_REFERENCE_H_
