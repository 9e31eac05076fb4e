// zarr's names for element types (format 2's numpy type strings, format 3's data_type names) and
// its JSON spellings of fill values, as cairn DTypes and element bytes.
#ifndef CAIRN_STORAGE_ZARR_INTERNAL_ZARR_DTYPE_H_
#define CAIRN_STORAGE_ZARR_INTERNAL_ZARR_DTYPE_H_

#include <string>

#include "absl/status/statusor.h"
#include "cairn/storage/dtype.h"
#include "nlohmann/json.hpp"

namespace cairn::zarr_internal {

struct V2DType {
  DType dtype;
  bool big_endian = false;
};

// "<i4", ">f8", "|b1", "|u1", "<c8", and TensorStore's "bfloat16", "float8_e4m3fn",
// "float8_e5m2". Unimplemented naming other numpy types (structured, strings, datetimes);
// InvalidArgument for what is not a type string. `where` names the metadata in messages.
absl::StatusOr<V2DType> ParseV2DType(const nlohmann::json& json, const std::string& where);
// "bool", "int8" ... "complex128", "float8_e4m3fn", "float8_e5m2"; Unimplemented naming any other.
absl::StatusOr<DType> ParseV3DType(const nlohmann::json& json, const std::string& where);

// One element of `dtype` in native (little-endian) bytes: JSON numbers, "NaN", "Infinity",
// "-Infinity", "0x..." bit patterns of floats, true/false, [re, im] for complex types. Null gives
// zeros (format 2's "no fill value"). InvalidArgument for a value the dtype cannot hold.
absl::StatusOr<std::string> ParseFillValue(const nlohmann::json& json, DType dtype,
                                           const std::string& where);

// The inverse of ParseV3DType for writing: every cairn dtype's format 3 name (float8_e4m3fn and
// float8_e5m2 as TensorStore names them). InvalidArgument naming `where` for a value that is no
// DType.
absl::StatusOr<std::string> V3DTypeName(DType dtype, const std::string& where);

// The fill value 0 of `dtype` as TensorStore spells it in zarr.json: false, 0, 0.0, [0.0, 0.0].
nlohmann::json ZeroFillValueJson(DType dtype);

}  // namespace cairn::zarr_internal

#endif  // CAIRN_STORAGE_ZARR_INTERNAL_ZARR_DTYPE_H_
