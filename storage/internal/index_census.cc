#include "cairn/storage/internal/index_census.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "cairn/storage/index.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/message.h"
#include "google/protobuf/wire_format_lite.h"

namespace cairn {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::io::CodedInputStream;
using WireFormatLite = google::protobuf::internal::WireFormatLite;

// A repeated field's element pointer (or value) in an array that doubles as it grows.
constexpr uint64_t kRepeatedSlotBytes = 2 * sizeof(void*);
// An unknown field: its record in the message's unknown field set, which grows by doubling.
constexpr uint64_t kUnknownFieldBytes = 64;
// Strings this short live inside the std::string object.
constexpr uint64_t kInlineStringBytes = 15;

struct MessageCost;

// How one field number of a message is parsed, and what each occurrence costs.
struct FieldCost {
  bool known = false;
  WireFormatLite::WireType wire_type = WireFormatLite::WIRETYPE_VARINT;
  bool repeated = false;
  bool packable = false;                 // a repeated scalar, which may also arrive packed
  bool is_string = false;                // string or bytes
  const MessageCost* message = nullptr;  // set for message fields
};

struct MessageCost {
  uint64_t object_bytes = 0;
  std::vector<FieldCost> fields;  // by field number
};

// The costs of every message type reachable from TreeIndex, built once from the descriptors so
// that they follow the schema.
class CostTable {
 public:
  CostTable() { root_ = Build(format::TreeIndex::descriptor()); }
  const MessageCost* root() const { return root_; }

 private:
  const MessageCost* Build(const Descriptor* descriptor) {
    auto [it, inserted] = costs_.try_emplace(descriptor, nullptr);
    if (!inserted) return it->second.get();
    it->second = std::make_unique<MessageCost>();
    MessageCost* cost = it->second.get();
    cost->object_bytes = google::protobuf::MessageFactory::generated_factory()
                             ->GetPrototype(descriptor)
                             ->SpaceUsedLong();
    int max_number = 0;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      max_number = std::max(max_number, descriptor->field(i)->number());
    }
    cost->fields.resize(max_number + 1);
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      FieldCost& f = cost->fields[field->number()];
      f.known = true;
      f.repeated = field->is_repeated();
      f.wire_type = WireFormatLite::WireTypeForFieldType(
          static_cast<WireFormatLite::FieldType>(field->type()));
      f.is_string = field->type() == FieldDescriptor::TYPE_STRING ||
                    field->type() == FieldDescriptor::TYPE_BYTES;
      f.packable = f.repeated && field->is_packable();
      if (field->type() == FieldDescriptor::TYPE_MESSAGE) f.message = Build(field->message_type());
    }
    return cost;
  }

  absl::flat_hash_map<const Descriptor*, std::unique_ptr<MessageCost>> costs_;
  const MessageCost* root_ = nullptr;
};

// Adds the cost of the message fields up to the stream's current limit to `*total`.
bool Walk(CodedInputStream& in, const MessageCost& message, int depth, uint64_t* total) {
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.BytesUntilLimit() == 0;  // a zero tag inside it is malformed
    const uint32_t number = WireFormatLite::GetTagFieldNumber(tag);
    const WireFormatLite::WireType wire_type = WireFormatLite::GetTagWireType(tag);
    const FieldCost* field = number < message.fields.size() && message.fields[number].known
                                 ? &message.fields[number]
                                 : nullptr;
    const bool as_declared = field != nullptr && wire_type == field->wire_type;
    const bool packed = field != nullptr && field->packable &&
                        wire_type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    uint64_t skipped = 0;
    switch (wire_type) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t ignored;
        if (!in.ReadVarint64(&ignored)) return false;
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64:
        if (!in.Skip(8)) return false;
        break;
      case WireFormatLite::WIRETYPE_FIXED32:
        if (!in.Skip(4)) return false;
        break;
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t length;
        if (!in.ReadVarint32(&length) || static_cast<int>(length) < 0 ||
            static_cast<int>(length) > in.BytesUntilLimit()) {
          return false;
        }
        if (as_declared && field->message != nullptr) {
          if (depth <= 0) return false;  // the parser's recursion limit
          const CodedInputStream::Limit limit = in.PushLimit(static_cast<int>(length));
          *total += field->message->object_bytes + (field->repeated ? kRepeatedSlotBytes : 0);
          if (!Walk(in, *field->message, depth - 1, total)) return false;
          in.PopLimit(limit);
          continue;
        }
        if (packed) {
          // Every element ends in a byte below 0x80 (varints) or takes 4 or 8 bytes.
          const void* data;
          int size;
          uint64_t elements = 0;
          uint32_t left = length;
          while (left > 0 && in.GetDirectBufferPointer(&data, &size)) {
            const int take = std::min<uint64_t>(size, left);
            const unsigned char* bytes = static_cast<const unsigned char*>(data);
            for (int i = 0; i < take; ++i) elements += bytes[i] < 0x80 ? 1 : 0;
            in.Skip(take);
            left -= take;
          }
          if (left > 0) return false;
          *total += elements * kRepeatedSlotBytes;
          continue;
        }
        if (!in.Skip(static_cast<int>(length))) return false;
        skipped = length;
        break;
      }
      default:
        return false;  // groups (never written) and invalid wire types
    }
    if (!as_declared) {
      *total += kUnknownFieldBytes + skipped;
    } else if (field->is_string) {
      *total += sizeof(std::string) + (skipped > kInlineStringBytes ? skipped + 1 : 0) +
                (field->repeated ? kRepeatedSlotBytes : 0);
    } else if (field->repeated) {
      *total += kRepeatedSlotBytes;
    }
  }
}

}  // namespace

std::optional<uint64_t> EstimateIndexParseBytes(absl::string_view payload, int max_depth) {
  static const CostTable* const table = new CostTable();
  if (payload.size() > static_cast<size_t>(INT32_MAX)) return std::nullopt;
  CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                      static_cast<int>(payload.size()));
  in.PushLimit(static_cast<int>(payload.size()));
  uint64_t total = table->root()->object_bytes;
  if (!Walk(in, *table->root(), max_depth, &total)) return std::nullopt;
  return total;
}

}  // namespace cairn
