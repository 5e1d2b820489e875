// experiments/common/field_spec.h: how experiments/schema/schema.json describes one field, as the
// generated experiments/schema/schema.h spells it for C++ (records.h reads and writes with it).
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_FIELD_SPEC_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_FIELD_SPEC_H_

#include <span>
#include "absl/strings/string_view.h"

namespace experiments::schema {

// schema.json's types. kStrList and kObject exist only in JSON files.
enum class FieldType { kInt, kFloat, kBool, kStr, kEnum, kReps, kStrList, kObject };

struct FieldSpec {
  absl::string_view name;
  FieldType type;
  absl::string_view unit;
  bool nullable;  // may be empty (CSV) or null (JSON); schema.json says when
  std::span<const absl::string_view> values;  // kEnum: the allowed values
};

}  // namespace experiments::schema

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_FIELD_SPEC_H_
