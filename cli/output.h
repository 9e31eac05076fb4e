// Formatting shared by the subcommands: sizes, times, aligned tables, JSON on stdout, and the
// exit codes with the way a subcommand fails.
#ifndef CAIRN_CLI_OUTPUT_H_
#define CAIRN_CLI_OUTPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace cairn::cli {

// Exit codes, as diff(1) uses them: the answer is "no" (damaged, different) is not an error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;
inline constexpr int kExitTrouble = 2;

// Ends the subcommand with `code` (through CLI11, so that main returns it).
[[noreturn]] void Exit(int code);
// Prints "cairn: <context>: <status>" to stderr and ends with kExitTrouble.
[[noreturn]] void Fail(absl::string_view context, const absl::Status& status);

// "0 B", "512 B", "1.5 KiB", "3.2 GiB".
std::string FormatBytes(uint64_t bytes);
// "412.3 MiB/s"; "-" when the duration is zero.
std::string FormatThroughput(uint64_t bytes, absl::Duration elapsed);
// Local time, "2026-12-04 02:34:14".
std::string FormatLocalTime(absl::Time time);
// RFC 3339 in UTC, for JSON.
std::string JsonTime(absl::Time time);
// A JSON value on one line, compactly: {"loss":0.25}.
std::string CompactJson(const nlohmann::json& value);

// Rows printed with each column padded to its widest cell; the last column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size() - 1; }
  std::string ToString() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// Writes `value` to stdout, indented, with a final newline.
void PrintJson(const nlohmann::json& value);

}  // namespace cairn::cli

#endif  // CAIRN_CLI_OUTPUT_H_
