#include "experiments/common/records.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "experiments/common/console.h"
#include "experiments/common/output.h"

namespace experiments {
namespace records_internal {
namespace {

using schema::FieldSpec;
using schema::FieldType;

std::string TypeName(FieldType type) {
  switch (type) {
    case FieldType::kInt: return "a whole number";
    case FieldType::kFloat: return "a finite number";
    case FieldType::kBool: return "true or false";
    case FieldType::kStr: return "a string";
    case FieldType::kEnum: return "one of the listed values";
    case FieldType::kReps: return "';'-separated finite numbers";
    case FieldType::kStrList: return "a list of strings";
    case FieldType::kObject: return "a JSON object";
  }
  return "?";
}

// Strict: what FormatNumber writes (no sign but '-', no spaces, no '_'); analysis/schema.py
// accepts exactly the same.
double ParseFinite(absl::string_view text) {
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size() || !std::isfinite(value)) {
    throw SchemaError(absl::StrCat(QuoteValue(text), " is not a finite number"));
  }
  return value;
}

}  // namespace

std::string FormatNumber(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

Value Normalize(const FieldSpec& spec, Value value) {
  if (spec.type == FieldType::kFloat) {
    if (const auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  }
  return value;
}

void Check(absl::string_view record, const FieldSpec& spec, const Value& value) {
  auto fail = [&](const std::string& why) {
    throw SchemaError(absl::StrCat(record, ".", spec.name, ": ", why));
  };
  if (std::holds_alternative<std::monostate>(value)) {
    if (!spec.nullable) fail("may not be empty");
    return;
  }
  bool ok = false;
  switch (spec.type) {
    case FieldType::kInt: ok = std::holds_alternative<std::int64_t>(value); break;
    case FieldType::kFloat:
      ok = std::holds_alternative<double>(value);
      if (ok && !std::isfinite(std::get<double>(value))) fail("not a finite number");
      break;
    case FieldType::kBool: ok = std::holds_alternative<bool>(value); break;
    case FieldType::kStr: ok = std::holds_alternative<std::string>(value); break;
    case FieldType::kEnum:
      ok = std::holds_alternative<std::string>(value);
      if (ok) {
        const std::string& s = std::get<std::string>(value);
        bool allowed = false;
        for (absl::string_view v : spec.values) allowed |= v == s;
        if (!allowed) fail(absl::StrCat(QuoteValue(s), " is not one of ", absl::StrJoin(spec.values, ", ")));
      }
      break;
    case FieldType::kReps:
      ok = std::holds_alternative<std::vector<double>>(value);
      if (ok) {
        for (double v : std::get<std::vector<double>>(value)) {
          if (!std::isfinite(v)) fail("a repetition is not a finite number");
        }
      }
      break;
    case FieldType::kStrList: ok = std::holds_alternative<std::vector<std::string>>(value); break;
    case FieldType::kObject: ok = std::holds_alternative<nlohmann::ordered_json>(value); break;
  }
  if (!ok) fail(absl::StrCat("expected ", TypeName(spec.type)));
}

std::string ToCsv(const FieldSpec& spec, const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return "";
  switch (spec.type) {
    case FieldType::kInt: return std::to_string(std::get<std::int64_t>(value));
    case FieldType::kFloat: return FormatNumber(std::get<double>(value));
    case FieldType::kBool: return std::get<bool>(value) ? "true" : "false";
    case FieldType::kStr:
    case FieldType::kEnum: return std::get<std::string>(value);
    case FieldType::kReps:
      return absl::StrJoin(std::get<std::vector<double>>(value), ";",
                           [](std::string* out, double v) { out->append(FormatNumber(v)); });
    case FieldType::kStrList:
    case FieldType::kObject: break;
  }
  throw SchemaError(absl::StrCat(spec.name, ": this type has no CSV form"));
}

Value FromCsv(const FieldSpec& spec, absl::string_view text) {
  if (text.empty() && spec.type != FieldType::kStr && spec.type != FieldType::kReps) {
    if (!spec.nullable) throw SchemaError("empty value");
    return std::monostate{};
  }
  switch (spec.type) {
    case FieldType::kInt: {
      std::int64_t value = 0;
      const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
      if (result.ec != std::errc() || result.ptr != text.data() + text.size()) {
        throw SchemaError(absl::StrCat(QuoteValue(text), " is not a whole number"));
      }
      return value;
    }
    case FieldType::kFloat: return ParseFinite(text);
    case FieldType::kBool:
      if (text == "true") return true;
      if (text == "false") return false;
      throw SchemaError(absl::StrCat(QuoteValue(text), " is not true or false"));
    case FieldType::kStr:
    case FieldType::kEnum: return std::string(text);
    case FieldType::kReps: {
      std::vector<double> values;
      if (text.empty()) return values;
      for (absl::string_view item : absl::StrSplit(text, ';')) values.push_back(ParseFinite(item));
      return values;
    }
    case FieldType::kStrList:
    case FieldType::kObject: break;
  }
  throw SchemaError("this type has no CSV form");
}

nlohmann::ordered_json ToJson(const FieldSpec& spec, const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return nullptr;
  switch (spec.type) {
    case FieldType::kInt: return std::get<std::int64_t>(value);
    case FieldType::kFloat: return std::get<double>(value);
    case FieldType::kBool: return std::get<bool>(value);
    case FieldType::kStr:
    case FieldType::kEnum: return std::get<std::string>(value);
    case FieldType::kReps: return std::get<std::vector<double>>(value);
    case FieldType::kStrList: return std::get<std::vector<std::string>>(value);
    case FieldType::kObject: return std::get<nlohmann::ordered_json>(value);
  }
  return nullptr;
}

Value FromJson(const FieldSpec& spec, const nlohmann::ordered_json& json) {
  if (json.is_null()) {
    if (!spec.nullable) throw SchemaError("may not be null");
    return std::monostate{};
  }
  auto wrong = [&]() { return SchemaError(absl::StrCat("expected ", TypeName(spec.type), ", got ",
                                                       QuoteValue(json.dump()))); };
  switch (spec.type) {
    case FieldType::kInt:
      if (json.is_number_integer()) return json.get<std::int64_t>();
      throw wrong();
    case FieldType::kFloat:
      if (json.is_number()) return json.get<double>();
      throw wrong();
    case FieldType::kBool:
      if (json.is_boolean()) return json.get<bool>();
      throw wrong();
    case FieldType::kStr:
    case FieldType::kEnum:
      if (json.is_string()) return json.get<std::string>();
      throw wrong();
    case FieldType::kReps: {
      if (!json.is_array()) throw wrong();
      std::vector<double> values;
      for (const auto& v : json) {
        if (!v.is_number()) throw wrong();
        values.push_back(v.get<double>());
      }
      return values;
    }
    case FieldType::kStrList: {
      if (!json.is_array()) throw wrong();
      std::vector<std::string> values;
      for (const auto& v : json) {
        if (!v.is_string()) throw wrong();
        values.push_back(v.get<std::string>());
      }
      return values;
    }
    case FieldType::kObject:
      if (json.is_object()) return json;
      throw wrong();
  }
  throw wrong();
}

std::vector<std::pair<int, std::vector<std::string>>> SplitCsvDocument(absl::string_view text) {
  std::vector<std::pair<int, std::vector<std::string>>> lines;
  if (!text.empty() && text.back() != '\n') {
    int count = 1;
    for (char c : text) count += c == '\n';
    throw SchemaError(absl::StrCat("line ", count, ": no newline at the end (truncated file?)"));
  }
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (line.empty() || line == "\r") continue;
    lines.emplace_back(number, SplitCsvLine(line));
  }
  return lines;
}

void CheckHeader(const std::vector<std::string>& expected, const std::vector<std::string>& got,
                 int line) {
  if (got == expected) return;
  for (const std::string& name : expected) {
    if (std::find(got.begin(), got.end(), name) == got.end()) {
      throw SchemaError(absl::StrCat("line ", line, ": header lacks column '", name, "'"));
    }
  }
  for (const std::string& name : got) {
    if (std::find(expected.begin(), expected.end(), name) == expected.end()) {
      throw SchemaError(absl::StrCat("line ", line, ": unknown column '", name,
                                     "' (a file of another schema version?)"));
    }
  }
  throw SchemaError(absl::StrCat("line ", line, ": columns out of order"));
}

}  // namespace records_internal

}  // namespace experiments
