// A fresh directory on the real filesystem for one test, removed when the test ends, and the
// reading and rewriting of a real file's bytes that tests which damage files need.
#ifndef CAIRN_TESTS_SUPPORT_TEMP_DIR_H_
#define CAIRN_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace cairn::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `path()/name`.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The whole contents of the real file `path` (empty when it cannot be read).
std::string ReadAll(const std::string& path);
// Replaces the contents of the real file `path` with `data`.
void WriteAll(const std::string& path, const std::string& data);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_TEMP_DIR_H_
