//===- values.cpp - Parse and check the VALUES section -------------------===//

#include "values.h"

#include "byte_reader.h"
#include "error.h"
#include "kiln/artifact_format.h"

#include <set>

namespace kiln::rt {
namespace {

constexpr const char *kContext = "corrupt VALUES section";

/// A value is at least its name's and type's lengths and three u32s.
constexpr uint64_t kMinValueBytes = 20;

/// Reads value `index`'s tensor names and resolves them to indices of
/// `tensors`; `used` holds the indices earlier values took.
kiln_status readTensors(ByteReader &reader, const std::string &what,
                        const std::vector<TensorInfo> &tensors,
                        std::set<size_t> &used, std::vector<size_t> &out) {
  uint32_t n = 0;
  std::string countWhat = what + " num_tensors";
  if (kiln_status status = reader.count(n, 4, countWhat.c_str()))
    return status;
  for (uint32_t i = 0; i < n; ++i) {
    std::string name;
    if (kiln_status status = reader.nonEmptyString(
            name, format("%s tensor %u", what.c_str(), i)))
      return status;
    size_t index = 0;
    while (index < tensors.size() && tensors[index].name != name)
      ++index;
    if (index == tensors.size())
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "%s: %s tensor %u '%s' is not one of the model's tensors "
                  "of its role",
                  kContext, what.c_str(), i, name.c_str());
    if (!used.insert(index).second)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "%s: %s tensor '%s' belongs to another value too", kContext,
                  what.c_str(), name.c_str());
    out.push_back(index);
  }
  return KILN_STATUS_OK;
}

kiln_status readValue(ByteReader &reader, uint32_t index,
                      const Metadata &metadata, std::set<size_t> used[2],
                      ValueEntry &out) {
  std::string what = format("value %u", index);
  uint32_t role = 0, flags = 0;
  if (kiln_status status = reader.name(out.name, what))
    return status;
  if (kiln_status status = reader.scalar(role, what + " role"))
    return status;
  if (kiln_status status = reader.scalar(flags, what + " flags"))
    return status;
  if (role > 1 || (flags & ~(KILN_VALUE_SEQUENCE | KILN_VALUE_PRESENT)))
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %s has role %u and flags 0x%x (role 0 or 1, flags bits "
                "0 and 1 only)",
                kContext, what.c_str(), role, flags);
  out.output = role == 1;
  out.sequence = flags & KILN_VALUE_SEQUENCE;
  out.present = flags & KILN_VALUE_PRESENT;
  if (kiln_status status = reader.nonEmptyString(out.type, what + " type"))
    return status;
  const std::vector<TensorInfo> &tensors =
      out.output ? metadata.outputs : metadata.inputs;
  if (kiln_status status =
          readTensors(reader, what, tensors, used[role], out.tensors))
    return status;
  if ((!out.present && !out.tensors.empty()) ||
      (out.present && !out.sequence && out.tensors.size() != 1))
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %s ('%s') has %zu tensors; an absent value has none, a "
                "present optional tensor one",
                kContext, what.c_str(), out.name.c_str(), out.tensors.size());
  return KILN_STATUS_OK;
}

} // namespace

kiln_status parseValues(const uint8_t *data, uint64_t size,
                        const Metadata &metadata,
                        std::vector<ValueEntry> &out) {
  ByteReader reader(data, size, kContext);
  if (kiln_status status = reader.magic(KILN_VALUES_MAGIC))
    return status;
  std::vector<ValueEntry> values;
  std::set<size_t> used[2];
  std::set<std::string> names[2];
  uint32_t n = 0;
  if (kiln_status status = reader.count(n, kMinValueBytes, "num_values"))
    return status;
  values.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (kiln_status status = readValue(reader, i, metadata, used, values[i]))
      return status;
    if (!names[values[i].output].insert(values[i].name).second)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "%s: two %s values are named '%s'", kContext,
                  values[i].output ? "output" : "input",
                  values[i].name.c_str());
  }
  if (reader.remaining() != 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %llu bytes after the last value", kContext,
                (unsigned long long)reader.remaining());
  out = std::move(values);
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
