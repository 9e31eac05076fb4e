#include "cairn/storage/orbax/internal/python_json.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_format.h"

namespace cairn::internal {
namespace {

void Dump(const nlohmann::ordered_json& value, std::string* out) {
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out->append(", ");
        first = false;
        out->append(nlohmann::ordered_json(key).dump(-1, ' ', true));
        out->append(": ");
        Dump(item, out);
      }
      out->push_back('}');
      return;
    }
    case nlohmann::ordered_json::value_t::array: {
      out->push_back('[');
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out->append(", ");
        Dump(value[i], out);
      }
      out->push_back(']');
      return;
    }
    case nlohmann::ordered_json::value_t::number_float: {
      // Python spells what JSON cannot hold as these bare words, and its readers accept them.
      const double d = value.get<double>();
      if (std::isnan(d)) {
        out->append("NaN");
      } else if (std::isinf(d)) {
        out->append(d > 0 ? "Infinity" : "-Infinity");
      } else {
        out->append(value.dump());
      }
      return;
    }
    default:
      out->append(value.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace));
  }
}

// Python's repr() of one str: single quotes unless the text holds one and no double quote.
std::string StrRepr(const std::string& text) {
  const bool has_single = text.find('\'') != std::string::npos;
  const bool has_double = text.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\r') {
      out.append("\\r");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (u < 0x20 || u == 0x7f) {
      out.append(absl::StrFormat("\\x%02x", u));
    } else {
      out.push_back(c);  // printable ASCII, and UTF-8 that Python prints as it is
    }
  }
  out.push_back(quote);
  return out;
}

}  // namespace

std::string PythonJsonDumps(const nlohmann::ordered_json& value) {
  std::string out;
  Dump(value, &out);
  return out;
}

std::string PythonTupleRepr(const std::vector<std::string>& items) {
  std::string out = "(";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(StrRepr(items[i]));
  }
  out.append(items.size() == 1 ? ",)" : ")");
  return out;
}

}  // namespace cairn::internal
