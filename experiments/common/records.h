// experiments/common/records.h: typed result records, written and read only through the schema.
//
// A Record<S> holds one value per field of record type S (a struct generated from
// experiments/schema/schema.json into experiments/schema/schema.h). Every Set() is checked against
// the field's spec: the type, an enum's allowed values, finiteness (no NaN or infinity is ever
// written) and nullability. A record is written only when every field is set, so a result file
// never carries a silently empty column. Readers apply the same checks and name the line:
//
//   Record<schema::PoolCell> r;
//   r.Set(F::kN, 1000).Set(F::kPolicy, "bump_pool") ...;     // every field, or Check() throws
//   std::string csv = CsvDocument(rows);                      // header from the schema
//   std::vector<Record<schema::PoolCell>> back = ParseCsvDocument<schema::PoolCell>(csv);
//
// Numbers are written in their shortest round-trip form, so CSV and JSON carry the same values
// and a value read back is the value written.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_RECORDS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_RECORDS_H_

#include <array>
#include <cstdint>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include "absl/strings/string_view.h"
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "experiments/common/field_spec.h"
#include "experiments/common/output.h"
#include "nlohmann/json.hpp"

namespace experiments {

// A value that breaks the schema, in a file being read ("line 7: column n: ...") or in a record
// being written (a programming error: the message names the record and field).
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// null, int, float, bool, str and enum, reps, str_list, object.
using Value = std::variant<std::monostate, std::int64_t, double, bool, std::string,
                           std::vector<double>, std::vector<std::string>, nlohmann::ordered_json>;

namespace records_internal {
// Throws SchemaError unless `value` is a valid value of `spec` (monostate only if nullable).
void Check(absl::string_view record, const schema::FieldSpec& spec, const Value& value);
// Converts convenient C++ values (unsigned, size_t, const char*) to the field's Value.
Value Normalize(const schema::FieldSpec& spec, Value value);
std::string ToCsv(const schema::FieldSpec& spec, const Value& value);
Value FromCsv(const schema::FieldSpec& spec, absl::string_view text);  // throws SchemaError
nlohmann::ordered_json ToJson(const schema::FieldSpec& spec, const Value& value);
Value FromJson(const schema::FieldSpec& spec, const nlohmann::ordered_json& json);
std::string FormatNumber(double value);  // shortest round trip
}  // namespace records_internal

template <class S>
class Record {
 public:
  using Schema = S;
  using Field = typename S::Field;
  static constexpr std::size_t kSize = std::size(S::kFields);

  static const schema::FieldSpec& Spec(Field field) { return S::kFields[Index(field)]; }

  // Integral arguments of any signedness are stored as int64, floating ones as double, string
  // views and const char* as strings. (JSON objects first: nlohmann's json converts to anything.)
  template <class T>
  Record& Set(Field field, T&& value) {
    using D = std::decay_t<T>;
    Value v;
    if constexpr (std::is_same_v<D, Value> || std::is_same_v<D, nlohmann::ordered_json> ||
                  std::is_same_v<D, std::string>) {
      v = std::forward<T>(value);
    } else if constexpr (std::is_same_v<D, bool>) {
      v = static_cast<bool>(value);
    } else if constexpr (std::is_integral_v<D>) {
      v = static_cast<std::int64_t>(value);
    } else if constexpr (std::is_floating_point_v<D>) {
      v = static_cast<double>(value);
    } else if constexpr (std::is_convertible_v<T, absl::string_view>) {
      v = std::string(absl::string_view(value));
    } else {
      v = Value(std::forward<T>(value));
    }
    v = records_internal::Normalize(Spec(field), std::move(v));
    records_internal::Check(S::kName, Spec(field), v);
    values_[Index(field)] = std::move(v);
    set_[Index(field)] = true;
    return *this;
  }
  Record& SetNull(Field field) {
    const Value v;
    records_internal::Check(S::kName, Spec(field), v);
    values_[Index(field)] = v;
    set_[Index(field)] = true;
    return *this;
  }

  bool IsNull(Field field) const { return std::holds_alternative<std::monostate>(Get(field)); }
  const Value& Get(Field field) const { return values_[Index(field)]; }
  std::int64_t Int(Field field) const { return std::get<std::int64_t>(Get(field)); }
  std::uint64_t Count(Field field) const { return static_cast<std::uint64_t>(Int(field)); }
  // A float field, or an int field as a double.
  double Float(Field field) const {
    const Value& v = Get(field);
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    return std::get<double>(v);
  }
  bool Bool(Field field) const { return std::get<bool>(Get(field)); }
  const std::string& Str(Field field) const { return std::get<std::string>(Get(field)); }
  const std::vector<double>& Reps(Field field) const {
    return std::get<std::vector<double>>(Get(field));
  }
  const std::vector<std::string>& StrList(Field field) const {
    return std::get<std::vector<std::string>>(Get(field));
  }
  const nlohmann::ordered_json& Object(Field field) const {
    return std::get<nlohmann::ordered_json>(Get(field));
  }

  // Throws SchemaError naming the first field never set.
  void Check() const {
    for (std::size_t i = 0; i < kSize; ++i) {
      if (!set_[i]) {
        throw SchemaError(std::string(S::kName) + "." + std::string(S::kFields[i].name) +
                          ": never set");
      }
    }
  }

  // The key fields' values joined, e.g. "grid/bump_pool/malloc/1000/65536/false/0".
  std::string Key() const {
    std::string key;
    for (Field f : S::kKey) {
      if (!key.empty()) key += '/';
      key += records_internal::ToCsv(Spec(f), Get(f));
    }
    return key;
  }

  std::vector<std::string> CsvFields() const {
    Check();
    std::vector<std::string> fields;
    for (std::size_t i = 0; i < kSize; ++i) {
      fields.push_back(records_internal::ToCsv(S::kFields[i], values_[i]));
    }
    return fields;
  }

  nlohmann::ordered_json Json() const {
    Check();
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < kSize; ++i) {
      json[std::string(S::kFields[i].name)] = records_internal::ToJson(S::kFields[i], values_[i]);
    }
    return json;
  }

  // `where` prefixes errors ("line 7", "rows[3]").
  static Record FromCsvFields(const std::vector<std::string>& fields, const std::string& where) {
    if (fields.size() != kSize) {
      throw SchemaError(where + ": expected " + std::to_string(kSize) + " fields, got " +
                        std::to_string(fields.size()));
    }
    Record record;
    for (std::size_t i = 0; i < kSize; ++i) {
      try {
        record.values_[i] = records_internal::FromCsv(S::kFields[i], fields[i]);
        records_internal::Check(S::kName, S::kFields[i], record.values_[i]);
      } catch (const SchemaError& error) {
        throw SchemaError(where + ": column " + std::string(S::kFields[i].name) + ": " +
                          error.what());
      }
      record.set_[i] = true;
    }
    return record;
  }

  static Record FromJson(const nlohmann::ordered_json& json, const std::string& where) {
    if (!json.is_object()) throw SchemaError(where + ": expected an object");
    for (const auto& [name, value] : json.items()) {
      bool known = false;
      for (const schema::FieldSpec& spec : S::kFields) known |= spec.name == name;
      if (!known) throw SchemaError(where + ": unknown field '" + name + "'");
    }
    Record record;
    for (std::size_t i = 0; i < kSize; ++i) {
      const std::string name(S::kFields[i].name);
      if (!json.contains(name)) throw SchemaError(where + ": missing field '" + name + "'");
      try {
        record.values_[i] = records_internal::FromJson(S::kFields[i], json.at(name));
        records_internal::Check(S::kName, S::kFields[i], record.values_[i]);
      } catch (const SchemaError& error) {
        throw SchemaError(where + "." + name + ": " + error.what());
      }
      record.set_[i] = true;
    }
    return record;
  }

  friend bool operator==(const Record& a, const Record& b) { return a.values_ == b.values_; }

 private:
  static constexpr std::size_t Index(Field field) { return static_cast<std::size_t>(field); }

  std::array<Value, kSize> values_{};
  std::array<bool, kSize> set_{};
};

// A record whose every field is `value_of(field)` (a Value; std::monostate for null), asked in
// schema order. Writers implement value_of as a switch over S::Field without a default, so a
// field added to the schema and not written is a compile error (-Wswitch under -Werror).
template <class S, class ValueOf>
Record<S> RecordFrom(ValueOf&& value_of) {
  Record<S> record;
  for (std::size_t i = 0; i < Record<S>::kSize; ++i) {
    const auto field = static_cast<typename S::Field>(i);
    record.Set(field, value_of(field));
  }
  return record;
}

template <class S>
std::vector<std::string> CsvHeader() {
  std::vector<std::string> header;
  for (const schema::FieldSpec& spec : S::kFields) header.emplace_back(spec.name);
  return header;
}

// A whole CSV file: the header, then one line per record, every line ending in a newline.
template <class S>
std::string CsvDocument(const std::vector<Record<S>>& records) {
  std::string text = CsvLine(CsvHeader<S>());
  for (const Record<S>& r : records) text += CsvLine(r.CsvFields());
  return text;
}

namespace records_internal {
// Splits a CSV document into lines of fields, strictly: every line (the last one too) must end in
// a newline, since a writer that renames atomically always writes one and a missing one means a
// number may have been cut. Returns (line number, fields) per non-empty line.
std::vector<std::pair<int, std::vector<std::string>>> SplitCsvDocument(absl::string_view text);
void CheckHeader(const std::vector<std::string>& expected, const std::vector<std::string>& got,
                 int line);
}  // namespace records_internal

// Parses a file written by CsvDocument. Throws SchemaError "line N: ..." on a wrong header, a
// malformed or truncated line, a value that breaks the schema, or two records with one key.
template <class S>
std::vector<Record<S>> ParseCsvDocument(absl::string_view text) {
  const auto lines = records_internal::SplitCsvDocument(text);
  if (lines.empty()) throw SchemaError("line 1: empty file (no header)");
  records_internal::CheckHeader(CsvHeader<S>(), lines[0].second, lines[0].first);
  std::vector<Record<S>> records;
  std::vector<std::pair<std::string, int>> keys;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string where = "line " + std::to_string(lines[i].first);
    records.push_back(Record<S>::FromCsvFields(lines[i].second, where));
    if (!std::empty(S::kKey)) {
      const std::string key = records.back().Key();
      for (const auto& [other, line] : keys) {
        if (other == key) {
          throw SchemaError(where + ": duplicate of line " + std::to_string(line) + " (" + key + ")");
        }
      }
      keys.emplace_back(key, lines[i].first);
    }
  }
  return records;
}

template <class S>
nlohmann::ordered_json JsonArray(const std::vector<Record<S>>& records) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const Record<S>& r : records) array.push_back(r.Json());
  return array;
}

template <class S>
std::vector<Record<S>> FromJsonArray(const nlohmann::ordered_json& json, const std::string& key) {
  if (!json.is_array()) throw SchemaError(key + ": expected an array");
  std::vector<Record<S>> records;
  for (std::size_t i = 0; i < json.size(); ++i) {
    records.push_back(Record<S>::FromJson(json[i], key + "[" + std::to_string(i) + "]"));
  }
  return records;
}

// One cell of an experiment that runs each cell in a process of its own (memory_timeline,
// persistent_churn): its record and its samples. Serialize is the report the cell's process prints
// for its parent; Deserialize reads it back and throws SchemaError on anything else.
template <class CellS, class SampleS>
struct CellReport {
  Record<CellS> cell;
  std::vector<Record<SampleS>> samples;

  std::string Serialize() const {
    nlohmann::ordered_json json;
    json["cell"] = cell.Json();
    json["samples"] = JsonArray(samples);
    return json.dump();
  }

  static CellReport Deserialize(absl::string_view text) {
    const auto json = nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("cell") ||
        !json.contains("samples")) {
      throw SchemaError(std::string("not a report of one ") + std::string(CellS::kName));
    }
    CellReport report;
    report.cell = Record<CellS>::FromJson(json["cell"], "cell");
    report.samples = FromJsonArray<SampleS>(json["samples"], "samples");
    return report;
  }
};

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_RECORDS_H_
