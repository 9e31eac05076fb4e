// JSON documents (metrics, custom metadata) as Python dicts, lists and scalars.
#include <string>

#include "cairn/python/src/bindings.h"

namespace cairn::python {

nlohmann::json JsonFromPython(py::handle object) {
  if (object.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(object)) return object.cast<bool>();
  if (py::isinstance<py::int_>(object)) {
    try {
      return object.cast<int64_t>();
    } catch (const py::cast_error&) {
      return object.cast<uint64_t>();
    }
  }
  if (py::isinstance<py::float_>(object)) return object.cast<double>();
  if (py::isinstance<py::str>(object)) return object.cast<std::string>();
  if (py::isinstance<py::dict>(object)) {
    nlohmann::json out = nlohmann::json::object();
    for (auto item : object.cast<py::dict>()) {
      if (!py::isinstance<py::str>(item.first)) {
        ThrowInvalidArgument("JSON object keys must be str, not " +
                             py::str(py::type::handle_of(item.first)).cast<std::string>());
      }
      out[item.first.cast<std::string>()] = JsonFromPython(item.second);
    }
    return out;
  }
  if (py::isinstance<py::list>(object) || py::isinstance<py::tuple>(object)) {
    nlohmann::json out = nlohmann::json::array();
    for (py::handle item : object) out.push_back(JsonFromPython(item));
    return out;
  }
  // numpy scalars and other numbers: through float() or int().
  if (py::hasattr(object, "item")) return JsonFromPython(object.attr("item")());
  ThrowInvalidArgument("cannot store a " +
                       py::str(py::type::handle_of(object)).cast<std::string>() + " as JSON");
}

py::object JsonToPython(const nlohmann::json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(json.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(json.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(json.get<uint64_t>());
    case nlohmann::json::value_t::number_float:
      return py::float_(json.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(json.get<std::string>());
    case nlohmann::json::value_t::binary:
      return py::bytes(std::string(json.get_binary().begin(), json.get_binary().end()));
    case nlohmann::json::value_t::array: {
      py::list out;
      for (const nlohmann::json& item : json) out.append(JsonToPython(item));
      return out;
    }
    case nlohmann::json::value_t::object: {
      py::dict out;
      for (const auto& [key, value] : json.items()) out[py::str(key)] = JsonToPython(value);
      return out;
    }
  }
  return py::none();
}

}  // namespace cairn::python
