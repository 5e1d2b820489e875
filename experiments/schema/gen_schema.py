"""Generates the C++ view of schema.json (schema.h) or the Markdown tables of RESULTS_SCHEMA.md.

    gen_schema.py --cc schema.json > schema.h
    gen_schema.py --markdown schema.json RESULTS_SCHEMA.md   # prints the document, tables replaced

C++: one struct per record, holding `enum class Field` (one enumerator per field, in order) and
`kFields` (name, type, unit, nullable, enum values). Writers fill a Record<S> through a switch over
S::Field without a default, so -Wswitch (an error under -Werror) names any field left unwritten.
Markdown: every "<!-- schema:RECORD -->" ... "<!-- /schema -->" block is replaced by that record's
table, every "<!-- schema-files:EXPERIMENT -->" block by the table of that experiment's files;
schema_doc_test checks that the committed document equals the generated one.
"""

import json
import re
import sys

TYPES = {"int": "kInt", "float": "kFloat", "bool": "kBool", "str": "kStr", "enum": "kEnum",
         "reps": "kReps", "str_list": "kStrList", "object": "kObject"}


def camel(name):
    return "".join(part.capitalize() for part in name.split("_"))


def check(schema):
    for rname, record in schema["records"].items():
        names = [f["name"] for f in record["fields"]]
        if len(set(names)) != len(names):
            sys.exit("schema: %s: a field is defined twice" % rname)
        for f in record["fields"]:
            if f["type"] not in TYPES:
                sys.exit("schema: %s.%s: unknown type %r" % (rname, f["name"], f["type"]))
            if (f["type"] == "enum") != ("values" in f):
                sys.exit("schema: %s.%s: enum fields, and only they, have values" % (rname, f["name"]))
            if f.get("nullable") and not f.get("null_when"):
                sys.exit("schema: %s.%s: a nullable field says when (null_when)" % (rname, f["name"]))
        for k in record.get("key", []):
            if k not in names:
                sys.exit("schema: %s: key field %s is not a field" % (rname, k))


def cc(schema):
    out = ["// Generated from experiments/schema/schema.json by experiments/schema/gen_schema.py.",
           "// Do not edit: change schema.json.",
           "#ifndef HAMT_ALLOC_EXPERIMENTS_SCHEMA_SCHEMA_H_",
           "#define HAMT_ALLOC_EXPERIMENTS_SCHEMA_SCHEMA_H_",
           "",
           "#include \"absl/strings/string_view.h\"",
           "",
           '#include "experiments/common/field_spec.h"',
           "",
           "namespace experiments::schema {",
           "",
           "inline constexpr int kVersion = %d;" % schema["version"],
           ""]
    for name, constant in schema.get("constants", {}).items():
        out.append("// %s" % constant["description"])
        out.append("inline constexpr double k%s = %r;" % (camel(name), float(constant["value"])))
    out.append("")
    for rname, record in schema["records"].items():
        fields = record["fields"]
        out.append("struct %s {" % camel(rname))
        out.append('  static constexpr absl::string_view kName = "%s";' % rname)
        out.append("  enum class Field : int {")
        for f in fields:
            out.append("    k%s," % camel(f["name"]))
        out.append("  };")
        for f in fields:
            if f["type"] == "enum":
                out.append("  static constexpr absl::string_view k%sValues[] = {%s};" % (
                    camel(f["name"]), ", ".join('"%s"' % v for v in f["values"])))
        out.append("  static constexpr FieldSpec kFields[] = {")
        for f in fields:
            values = "k%sValues" % camel(f["name"]) if f["type"] == "enum" else "{}"
            out.append('      {"%s", FieldType::%s, "%s", %s, %s},' % (
                f["name"], TYPES[f["type"]], f.get("unit", ""),
                "true" if f.get("nullable") else "false", values))
        out.append("  };")
        key = record.get("key", [])
        if key:
            out.append("  static constexpr Field kKey[] = {%s};" % ", ".join(
                "Field::k%s" % camel(k) for k in key))
        else:
            out.append("  static constexpr std::span<const Field> kKey = {};")
        out.append("};")
        out.append("")
    out += ["}  // namespace experiments::schema", "",
            "#endif  // HAMT_ALLOC_EXPERIMENTS_SCHEMA_SCHEMA_H_", ""]
    return "\n".join(out)


def table(record):
    lines = ["| field | type | unit | meaning |", "|---|---|---|---|"]
    for f in record["fields"]:
        kind = f["type"]
        if kind == "enum":
            kind = "enum: " + ", ".join("`%s`" % v for v in f["values"])
        meaning = f["description"]
        if f.get("nullable"):
            meaning += " (empty/null when %s)" % f["null_when"]
        lines.append("| `%s` | %s | %s | %s |" % (f["name"], kind, f.get("unit", ""),
                                                 meaning.replace("|", "\\|")))
    key = record.get("key")
    lines.append("")
    lines.append("_%s%s_" % (record["description"],
                              " Key: %s." % ", ".join("`%s`" % k for k in key) if key else ""))
    return "\n".join(lines)


def files_table(schema, experiment):
    lines = ["| file | format | contents | what |", "|---|---|---|---|"]
    found = False
    for f in schema["files"]:
        if f["experiment"] != experiment:
            continue
        found = True
        if f.get("sections"):
            contents = "; ".join(
                "`%s`: %s" % (sec["key"], "free-form" if sec["record"] is None else
                              "`%s`%s" % (sec["record"], ", many" if sec["many"] else ""))
                for sec in f["sections"])
        elif f.get("record") is None:
            contents = "-"
        else:
            contents = "`%s` records" % f["record"]
        lines.append("| `%s` | %s | %s | %s |" % (f["name"], f["format"], contents,
                                                 f["description"]))
    if not found:
        sys.exit("RESULTS_SCHEMA.md: no files of experiment %r" % experiment)
    return "\n".join(lines)


def markdown(schema, document):
    def replace(match):
        name = match.group(1)
        if name not in schema["records"]:
            sys.exit("RESULTS_SCHEMA.md: unknown record %r" % name)
        return "<!-- schema:%s -->\n%s\n<!-- /schema -->" % (name, table(schema["records"][name]))

    def replace_files(match):
        return "<!-- schema-files:%s -->\n%s\n<!-- /schema -->" % (
            match.group(1), files_table(schema, match.group(1)))
    document = re.sub(r"<!-- schema:(\w+) -->.*?<!-- /schema -->", replace, document, flags=re.S)
    return re.sub(r"<!-- schema-files:(\w+) -->.*?<!-- /schema -->", replace_files, document,
                  flags=re.S)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("--cc", "--markdown"):
        sys.exit("usage: gen_schema.py --cc schema.json | --markdown schema.json DOC.md")
    with open(argv[2], encoding="utf-8") as f:
        schema = json.load(f)
    check(schema)
    if argv[1] == "--cc":
        sys.stdout.write(cc(schema))
    else:
        with open(argv[3], encoding="utf-8") as f:
            sys.stdout.write(markdown(schema, f.read()))


if __name__ == "__main__":
    main(sys.argv)
