#include "cairn/storage/zarr/internal/zarr_dtype.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"

namespace cairn::zarr_internal {
namespace {

// Format 3 names of types cairn has no DType for, refused as Unimplemented rather than unknown.
constexpr absl::string_view kUnreadV3Types[] = {"float8_e3m4",
                                                "float8_e4m3",
                                                "float8_e4m3b11fnuz",
                                                "float8_e4m3fnuz",
                                                "float8_e5m2fnuz",
                                                "float8_e8m0fnu",
                                                "float4_e2m1fn",
                                                "float6_e2m3fn",
                                                "float6_e3m2fn",
                                                "int2",
                                                "int4",
                                                "uint2",
                                                "uint4",
                                                "string",
                                                "bytes",
                                                "variable_length_bytes"};

absl::Status BadFill(const nlohmann::json& json, DType dtype, const std::string& where,
                     absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": fill_value ", json.dump(), " of ", DTypeName(dtype), " ", why));
}

// A float element from a number, "NaN", "Infinity", "-Infinity" or "0x" + its bits in hex.
absl::Status ParseFloatFill(const nlohmann::json& json, DType dtype, const std::string& where,
                            char* out) {
  const size_t size = DTypeSize(dtype);
  if (json.is_number()) {
    const double value = json.get<double>();
    CastElements(DType::kFloat64, &value, dtype, out, 1);
    return absl::OkStatus();
  }
  if (!json.is_string()) return BadFill(json, dtype, where, "is not a number");
  const std::string& text = json.get_ref<const std::string&>();
  double value;
  if (text == "NaN") {
    value = std::numeric_limits<double>::quiet_NaN();
  } else if (text == "Infinity") {
    value = std::numeric_limits<double>::infinity();
  } else if (text == "-Infinity") {
    value = -std::numeric_limits<double>::infinity();
  } else if (absl::StartsWith(text, "0x")) {
    uint64_t bits = 0;
    if (text.size() != 2 + 2 * size || !absl::SimpleHexAtoi(text.substr(2), &bits)) {
      return BadFill(json, dtype, where,
                     absl::StrCat("is not \"0x\" and ", 2 * size, " hex digits"));
    }
    for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>(bits >> (8 * i));
    return absl::OkStatus();
  } else {
    return BadFill(json, dtype, where, "is not a number, \"NaN\", \"Infinity\" or hex bits");
  }
  CastElements(DType::kFloat64, &value, dtype, out, 1);
  return absl::OkStatus();
}

absl::Status ParseIntegerFill(const nlohmann::json& json, DType dtype, const std::string& where,
                              char* out) {
  if (json.is_number_unsigned()) {
    const uint64_t value = json.get<uint64_t>();
    if (FindUnrepresentable(DType::kUInt64, &value, dtype, 1) == 0) {
      return BadFill(json, dtype, where, "is out of range");
    }
    CastElements(DType::kUInt64, &value, dtype, out, 1);
    return absl::OkStatus();
  }
  if (json.is_number_integer()) {
    const int64_t value = json.get<int64_t>();
    if (FindUnrepresentable(DType::kInt64, &value, dtype, 1) == 0) {
      return BadFill(json, dtype, where, "is out of range");
    }
    CastElements(DType::kInt64, &value, dtype, out, 1);
    return absl::OkStatus();
  }
  if (json.is_number_float()) {
    // Some writers spell an integer fill as 0.0.
    const double value = json.get<double>();
    if (value != std::trunc(value) || FindUnrepresentable(DType::kFloat64, &value, dtype, 1) == 0) {
      return BadFill(json, dtype, where, "is not an integer in range");
    }
    CastElements(DType::kFloat64, &value, dtype, out, 1);
    return absl::OkStatus();
  }
  return BadFill(json, dtype, where, "is not an integer");
}

}  // namespace

absl::StatusOr<V2DType> ParseV2DType(const nlohmann::json& json, const std::string& where) {
  if (json.is_array()) {
    return absl::UnimplementedError(
        absl::StrCat(where, ": structured dtype ", json.dump(), " is not read"));
  }
  if (!json.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": dtype ", json.dump(), " is not a type string"));
  }
  std::string text = json.get<std::string>();
  absl::string_view name = text;
  char order = '|';
  if (!name.empty() && (name[0] == '<' || name[0] == '>' || name[0] == '|')) {
    order = name[0];
    name.remove_prefix(1);
  }
  V2DType out{DType::kFloat32, order == '>'};
  // TensorStore's names for the types numpy lacks.
  for (DType narrow : {DType::kBFloat16, DType::kFloat8E4M3FN, DType::kFloat8E5M2}) {
    if (name == DTypeName(narrow)) {
      out.dtype = narrow;
      return out;
    }
  }
  struct Entry {
    absl::string_view code;
    DType dtype;
  };
  constexpr Entry kTypes[] = {
      {"b1", DType::kBool},      {"i1", DType::kInt8},       {"i2", DType::kInt16},
      {"i4", DType::kInt32},     {"i8", DType::kInt64},      {"u1", DType::kUInt8},
      {"u2", DType::kUInt16},    {"u4", DType::kUInt32},     {"u8", DType::kUInt64},
      {"f2", DType::kFloat16},   {"f4", DType::kFloat32},    {"f8", DType::kFloat64},
      {"c8", DType::kComplex64}, {"c16", DType::kComplex128}};
  for (const Entry& entry : kTypes) {
    if (name == entry.code) {
      out.dtype = entry.dtype;
      if (order == '|' && DTypeSize(entry.dtype) > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": dtype \"", text, "\" has no byte order ('<' or '>')"));
      }
      return out;
    }
  }
  if (!name.empty() && absl::ascii_isalpha(name[0])) {
    return absl::UnimplementedError(absl::StrCat(where, ": dtype \"", text, "\" is not read"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": dtype \"", text, "\" is not a numpy type string"));
}

absl::StatusOr<DType> ParseV3DType(const nlohmann::json& json, const std::string& where) {
  if (json.is_object()) {
    const std::string name =
        json.contains("name") && json["name"].is_string() ? json["name"].get<std::string>() : "?";
    return absl::UnimplementedError(
        absl::StrCat(where, ": data_type \"", name, "\" (an extension type) is not read"));
  }
  if (!json.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": data_type ", json.dump(), " is not a name"));
  }
  const std::string& name = json.get_ref<const std::string&>();
  absl::StatusOr<DType> dtype = ParseDType(name);
  if (dtype.ok()) return dtype;
  for (absl::string_view unread : kUnreadV3Types) {
    if (name == unread) {
      return absl::UnimplementedError(
          absl::StrCat(where, ": data_type \"", name, "\" is not read (cairn has no such dtype)"));
    }
  }
  return absl::UnimplementedError(absl::StrCat(where, ": unknown data_type \"", name, "\""));
}

absl::StatusOr<std::string> ParseFillValue(const nlohmann::json& json, DType dtype,
                                           const std::string& where) {
  std::string out(DTypeSize(dtype), '\0');
  if (json.is_null()) return out;
  if (dtype == DType::kBool) {
    if (json.is_boolean()) {
      out[0] = json.get<bool>() ? 1 : 0;
    } else if (json.is_number() && (json.get<double>() == 0 || json.get<double>() == 1)) {
      out[0] = json.get<double>() != 0 ? 1 : 0;
    } else {
      return BadFill(json, dtype, where, "is not true or false");
    }
    return out;
  }
  if (IsInteger(dtype)) {
    CAIRN_RETURN_IF_ERROR(ParseIntegerFill(json, dtype, where, out.data()));
    return out;
  }
  if (IsComplex(dtype)) {
    const DType part = dtype == DType::kComplex64 ? DType::kFloat32 : DType::kFloat64;
    if (!json.is_array() || json.size() != 2) {
      return BadFill(json, dtype, where, "is not [real, imaginary]");
    }
    CAIRN_RETURN_IF_ERROR(ParseFloatFill(json[0], part, where, out.data()));
    CAIRN_RETURN_IF_ERROR(ParseFloatFill(json[1], part, where, out.data() + DTypeSize(part)));
    return out;
  }
  CAIRN_RETURN_IF_ERROR(ParseFloatFill(json, dtype, where, out.data()));
  return out;
}

absl::StatusOr<std::string> V3DTypeName(DType dtype, const std::string& where) {
  if (!IsValidDType(static_cast<int>(dtype))) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": dtype ", static_cast<int>(dtype), " has no zarr v3 data_type name"));
  }
  // cairn's names are zarr v3's (ParseV3DType reads them back through ParseDType).
  return std::string(DTypeName(dtype));
}

nlohmann::json ZeroFillValueJson(DType dtype) {
  if (dtype == DType::kBool) return false;
  if (IsInteger(dtype)) return 0;
  if (IsComplex(dtype)) return nlohmann::json::array({0.0, 0.0});
  return 0.0;
}

}  // namespace cairn::zarr_internal
