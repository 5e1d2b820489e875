"""Reading result files strictly against experiments/schema/schema.json, their one definition.

Every reader raises InputError for anything a file can get wrong: a missing or unknown column or
field, a value of the wrong type, NaN or infinity, an enum value not in the schema, an empty
non-nullable value, a duplicated key, a cut-off last line. The message names the file and the line
("FILE line N: ..."); report.py turns it into one line on stderr and exit status 2.
"""

import csv
import json
import math
import os
import re

import pandas as pd


class InputError(Exception):
    """A problem with an input file, reported as one line and exit status 2."""

    def __init__(self, path, message, line=None):
        self.path = str(path)
        self.line = line
        self.message = message
        where = self.path if line is None else "%s line %d" % (self.path, line)
        super().__init__("%s: %s" % (where, message))


def _schema_path():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.join(here, "..", "experiments", "schema", "schema.json")]
    if os.environ.get("RUNFILES_DIR"):
        candidates.append(os.path.join(os.environ["RUNFILES_DIR"], "hamt_alloc", "experiments",
                                       "schema", "schema.json"))
    for c in candidates:
        if os.path.isfile(c):
            return c
    raise RuntimeError("experiments/schema/schema.json not found (tried %s)" % candidates)


with open(_schema_path(), encoding="utf-8") as _f:
    SCHEMA = json.load(_f)
VERSION = SCHEMA["version"]
# Named numbers the experiments and the analysis share (schema.json "constants").
CONSTANTS = {name: c["value"] for name, c in SCHEMA.get("constants", {}).items()}
RECORDS = SCHEMA["records"]


def fields(record):
    return RECORDS[record]["fields"]


def names(record):
    return [f["name"] for f in fields(record)]


def _short(value):
    text = value if isinstance(value, str) else json.dumps(value)
    return repr(text) if len(text) <= 40 else "%r... (%d characters)" % (text[:40], len(text))


# What the C++ writer writes (std::to_chars) and its reader accepts (std::from_chars): no '+', no
# spaces, no '_'.
_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_NONFINITE = re.compile(r"-?(inf|infinity|nan)", re.I)
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def _check(spec, value, from_csv):
    """Returns the typed value of one field, or raises ValueError with the reason."""
    kind = spec["type"]
    empty = value is None or (from_csv and value == "" and kind not in ("str", "reps"))
    if empty:
        if spec.get("nullable"):
            return None
        raise ValueError("empty value" if from_csv else "may not be null")
    if kind == "int":
        if from_csv:
            if not _INT.fullmatch(value):
                raise ValueError("%s is not a whole number" % _short(value))
            value = int(value)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected a whole number, got %s" % _short(value))
        if not -2**63 <= value < 2**63:
            raise ValueError("%s is out of the 64-bit range" % _short(str(value)))
        return value
    if kind == "float":
        if from_csv:
            if _NONFINITE.fullmatch(value):
                raise ValueError("%s is not a finite number" % _short(value))
            if not _FLOAT.fullmatch(value):
                raise ValueError("%s is not a number" % _short(value))
            value = float(value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a number, got %s" % _short(value))
        if not math.isfinite(value):
            raise ValueError("%s is not a finite number" % _short(str(value)))
        return float(value)
    if kind == "bool":
        if from_csv:
            if value in ("true", "false"):
                return value == "true"
            raise ValueError("%s is not true or false" % _short(value))
        if not isinstance(value, bool):
            raise ValueError("expected true or false, got %s" % _short(value))
        return value
    if kind in ("str", "enum"):
        if not isinstance(value, str):
            raise ValueError("expected a string, got %s" % _short(value))
        if spec.get("format") == "utc_time" and not _UTC_TIME.fullmatch(value):
            raise ValueError("%s is not a UTC time like 2026-11-29T18:02:11Z" % _short(value))
        if kind == "enum" and value not in spec["values"]:
            raise ValueError("%s is not one of %s" % (_short(value), ", ".join(spec["values"])))
        return value
    if kind == "reps":
        if from_csv:
            items = [] if value == "" else value.split(";")
            out = []
            for item in items:
                if not _FLOAT.fullmatch(item):
                    raise ValueError("%s is not a finite number" % _short(item))
                out.append(float(item))
            return out
        if not isinstance(value, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in value):
            raise ValueError("expected a list of finite numbers")
        return [float(v) for v in value]
    if kind == "str_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return value
    if kind == "object":
        if not isinstance(value, dict):
            raise ValueError("expected an object")
        return value
    raise ValueError("unknown schema type %s" % kind)


def _check_keys(path, record, rows, lines):
    key = RECORDS[record].get("key") or []
    if not key:
        return
    seen = {}
    for row, line in zip(rows, lines):
        k = tuple(row[f] for f in key)
        if k in seen:
            raise InputError(path, "duplicate of line %d (%s)" % (
                seen[k], "/".join(map(str, k))), line)
        seen[k] = line


def _frame(record, rows, lines):
    df = pd.DataFrame.from_records(rows, columns=names(record))
    df["_line"] = lines
    return df


def read_csv_text(path, text, record, comments=False):
    """Parses a CSV document of `record` rows: a DataFrame with the schema's columns, typed, plus
    `_line` (the line each row came from)."""
    specs = fields(record)
    expected = names(record)
    if text and not text.endswith("\n"):
        raise InputError(path, "no newline at the end (truncated file?)", text.count("\n") + 1)
    header = None
    rows, lines = [], []
    for lineno, raw in enumerate(text.split("\n")[:-1], start=1):
        if not raw.strip() or (comments and raw.lstrip().startswith("#")):
            continue
        try:
            row = next(csv.reader([raw], strict=True))
        except csv.Error as e:
            raise InputError(path, "malformed CSV: %s" % e, lineno)
        if header is None:
            header = row
            for name in expected:
                if name not in header:
                    raise InputError(path, "header lacks column %r" % name, lineno)
            for name in header:
                if name not in expected:
                    raise InputError(path, "unknown column %r (another schema version?)" % name,
                                     lineno)
            if header != expected:
                raise InputError(path, "columns out of order", lineno)
            continue
        if len(row) != len(expected):
            raise InputError(path, "expected %d fields, got %d" % (len(expected), len(row)),
                             lineno)
        typed = {}
        for spec, value in zip(specs, row):
            try:
                typed[spec["name"]] = _check(spec, value, from_csv=True)
            except ValueError as e:
                raise InputError(path, "column %s: %s" % (spec["name"], e), lineno)
        rows.append(typed)
        lines.append(lineno)
    if header is None:
        raise InputError(path, "empty file (no header)", 1)
    _check_keys(path, record, rows, lines)
    if "schema_version" in expected:
        for row, line in zip(rows, lines):
            if row["schema_version"] != VERSION:
                raise InputError(path, "schema_version %s is not supported (this reader: %d)"
                                 % (row["schema_version"], VERSION), line)
    return _frame(record, rows, lines)


def read_text(path):
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError(path, "no such file")
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a file")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, "cannot read: %s" % (getattr(e, "strerror", None) or e))


def read_csv(path, record, comments=False):
    return read_csv_text(path, read_text(path), record, comments)


# ----- JSON: values are checked as parsed; errors name the line of the offending value.

def _line_index(text):
    """Maps JSON paths (tuples of keys and indices) to the line where their value starts."""
    decoder = json.JSONDecoder()
    index = {}

    def skip(i):
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def value(i, path):
        i = skip(i)
        index[path] = text.count("\n", 0, i) + 1
        if text[i] == "{":
            i = skip(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key, i = decoder.raw_decode(text, skip(i))
                i = skip(i)  # ':'
                i = value(i + 1, path + (key,))
                i = skip(i)
                if text[i] == "}":
                    return i + 1
                i += 1  # ','
        if text[i] == "[":
            i = skip(i + 1)
            if text[i] == "]":
                return i + 1
            n = 0
            while True:
                i = value(i, path + (n,))
                n += 1
                i = skip(i)
                if text[i] == "]":
                    return i + 1
                i += 1
        _, end = decoder.raw_decode(text, i)
        return end

    try:
        value(0, ())
    except (ValueError, IndexError):
        pass
    return index


def _reject_constant(name):
    raise ValueError("%s is not valid JSON (not a finite number)" % name)


def read_json(path, allow_nan=False):
    """(document, text): invalid JSON is an InputError naming the line; so are NaN and Infinity,
    unless `allow_nan` (Google Benchmark writes them in aggregates; its readers check the values
    they use)."""
    text = read_text(path)
    try:
        return json.loads(text, parse_constant=None if allow_nan else _reject_constant), text
    except json.JSONDecodeError as e:
        raise InputError(path, "invalid JSON (column %d): %s" % (e.colno, e.msg), e.lineno)
    except ValueError as e:
        # parse_constant: find where.
        word = str(e).split(" ")[0]
        pos = text.find(word)
        raise InputError(path, str(e), text.count("\n", 0, max(pos, 0)) + 1)


def _path_text(path):
    out = ""
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else ("." if out else "") + str(p)
    return out


class _Doc:
    """Checks JSON values of one file, reporting errors at their line."""

    def __init__(self, path, text):
        self.path = path
        self.text = text
        self._index = None

    def error(self, where, message):
        if self._index is None:
            self._index = _line_index(self.text)
        line = None
        for k in range(len(where), -1, -1):
            if tuple(where[:k]) in self._index:
                line = self._index[tuple(where[:k])]
                break
        return InputError(self.path, "%s: %s" % (_path_text(where), message), line)

    def record(self, record, obj, where):
        if not isinstance(obj, dict):
            raise self.error(where, "expected an object (a %s record)" % record)
        out = {}
        known = set(names(record))
        for k in obj:
            if k not in known:
                raise self.error(where + (k,), "unknown field")
        for spec in fields(record):
            if spec["name"] not in obj:
                raise self.error(where, "missing field %r" % spec["name"])
            try:
                out[spec["name"]] = _check(spec, obj[spec["name"]], from_csv=False)
            except ValueError as e:
                raise self.error(where + (spec["name"],), str(e))
        if out.get("schema_version", VERSION) != VERSION:
            raise self.error(where + ("schema_version",), "%s is not supported (this reader: %d)"
                             % (out["schema_version"], VERSION))
        return out

    def records(self, record, arr, where):
        if not isinstance(arr, list):
            raise self.error(where, "expected a list of %s records" % record)
        rows = [self.record(record, r, where + (i,)) for i, r in enumerate(arr)]
        key = RECORDS[record].get("key") or []
        seen = {}
        for i, row in enumerate(rows):
            k = tuple(row[f] for f in key)
            if key and k in seen:
                raise self.error(where + (i,), "duplicate of %s (%s)" % (
                    _path_text(where + (seen[k],)), "/".join(map(str, k))))
            seen[k] = i
        return _frame(record, rows, [i for i in range(len(rows))])


def file_spec(name):
    for f in SCHEMA["files"]:
        if f["name"] == name:
            return f
    raise KeyError(name)


def read_json_file(path, spec_name):
    """Reads a JSON result file laid out as schema.json's file `spec_name` says: a dict of its
    sections, each a DataFrame (many records), a dict (one record) or, for sections without a
    record, the raw JSON value."""
    doc, text = read_json(path)
    d = _Doc(path, text)
    if not isinstance(doc, dict):
        raise d.error((), "expected a JSON object with sections %s" % ", ".join(
            s["key"] for s in file_spec(spec_name)["sections"]))
    sections = file_spec(spec_name)["sections"]
    keys = [s["key"] for s in sections]
    for k in doc:
        if k not in keys:
            raise d.error((k,), "unknown section (expected %s)" % ", ".join(keys))
    out = {}
    for s in sections:
        if s["key"] not in doc:
            raise d.error((), "missing section %r" % s["key"])
        value = doc[s["key"]]
        if s["record"] is None:
            out[s["key"]] = value
        elif s["many"]:
            out[s["key"]] = d.records(s["record"], value, (s["key"],))
        else:
            out[s["key"]] = d.record(s["record"], value, (s["key"],))
    return out


# ----- Google Benchmark's JSON (its own format; our counters per schema record matrix_counters)

_TIME_SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def read_gbench(path):
    """(context, DataFrame of `iteration` entries: run_name, name parts, threads, cpu_ns, real_ns,
    error, and every matrix_counters counter). Entries must carry the schema's counters (nullable
    ones may be absent); errors name the line."""
    doc, text = read_json(path, allow_nan=True)
    d = _Doc(path, text)
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise d.error((), "not Google Benchmark JSON (no 'benchmarks' list)")
    context = doc.get("context") or {}
    if not isinstance(context, dict):
        raise d.error(("context",), "expected an object")
    counters = fields("matrix_counters")
    rows = []
    for i, b in enumerate(doc["benchmarks"]):
        where = ("benchmarks", i)
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise d.error(where, "an entry without a name")
        if b.get("run_type", "iteration") != "iteration":
            continue
        run_name = b.get("run_name", b["name"])
        row = {"run_name": run_name, "error": b.get("error_message", "") if b.get(
            "error_occurred") else ""}
        parts = run_name.split("/") if isinstance(run_name, str) else []
        if len(parts) < 3 or not re.fullmatch(r"keys:[0-9]+", parts[2]):
            raise d.error(where + ("name",), "expected <workload>/<policy>/keys:<n>..., got %s"
                          % _short(run_name))
        threads = b.get("threads", 1)
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise d.error(where + ("threads",), "expected a positive whole number")
        row.update(workload=parts[0], policy=parts[1], n=int(parts[2][5:]), threads=threads)
        # A merged file's entries name their own shard's host class (allocator_matrix/shards.h).
        row["host_class"] = b.get("host_class") if isinstance(b.get("host_class"), str) else ""
        if not row["error"]:
            unit = _TIME_SCALE.get(b.get("time_unit", "ns"))
            if unit is None:
                raise d.error(where + ("time_unit",), "unknown time unit %s" % _short(
                    b.get("time_unit")))
            for k in ("cpu_time", "real_time"):
                v = b.get(k)
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise d.error(where + (k,), "expected a finite number")
                row[k.replace("_time", "_ns")] = float(v) * unit
            for spec in counters:
                try:
                    row[spec["name"]] = _check(spec, b.get(spec["name"]), from_csv=False)
                except ValueError as e:
                    raise d.error(where + (spec["name"],), "counter: %s" % e)
            if row["ops_per_iter"] <= 0:
                raise d.error(where + ("ops_per_iter",), "counter: must be positive")
        rows.append(row)
    return context, pd.DataFrame(rows)
