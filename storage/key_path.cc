#include "cairn/storage/key_path.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/utf8.h"

namespace cairn {
namespace {

// Keys that read unambiguously after a dot; anything else is written in brackets and quotes.
bool IsPlainKey(absl::string_view key) {
  if (key.empty() || absl::ascii_isdigit(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

// Built with room for the new entry: copying and then appending would allocate twice.
KeyPath KeyPath::Child(absl::string_view key) const {
  KeyPath child;
  child.entries_.reserve(entries_.size() + 1);
  child.entries_ = entries_;
  child.entries_.push_back(Entry{false, std::string(key), 0});
  return child;
}

KeyPath KeyPath::Child(size_t index) const {
  KeyPath child;
  child.entries_.reserve(entries_.size() + 1);
  child.entries_ = entries_;
  child.entries_.push_back(Entry{true, std::string(), index});
  return child;
}

std::string KeyPath::ToString() const {
  if (entries_.empty()) return "<root>";
  std::string out;
  for (const Entry& entry : entries_) {
    if (entry.is_index) {
      absl::StrAppend(&out, "[", entry.index, "]");
    } else if (IsPlainKey(entry.key)) {
      absl::StrAppend(&out, out.empty() ? "" : ".", entry.key);
    } else {
      // A key that is not UTF-8 (refused by saves, named in the refusal) is shown byte by byte.
      const bool text = FirstInvalidUtf8(entry.key) == absl::string_view::npos;
      std::string escaped;
      for (char c : entry.key) {
        if (!text && static_cast<unsigned char>(c) >= 0x80) {
          escaped += EscapeForMessage(absl::string_view(&c, 1));
          continue;
        }
        if (c == '"' || c == '\\') escaped.push_back('\\');
        escaped.push_back(c);
      }
      absl::StrAppend(&out, "[\"", escaped, "\"]");
    }
  }
  return out;
}

bool operator==(const KeyPath& a, const KeyPath& b) {
  if (a.entries_.size() != b.entries_.size()) return false;
  for (size_t i = 0; i < a.entries_.size(); ++i) {
    const KeyPath::Entry& x = a.entries_[i];
    const KeyPath::Entry& y = b.entries_[i];
    if (x.is_index != y.is_index || x.key != y.key || x.index != y.index) return false;
  }
  return true;
}

}  // namespace cairn
