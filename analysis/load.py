"""Reading and validating result files (the contract is experiments/RESULTS_SCHEMA.md).

Every reader raises InputError for anything a user can cause (missing column, truncated line, bad
number, invalid JSON); InputError's message names the file and, where there is one, the line.
"""

import csv
import json
import os
import re

import numpy as np
import pandas as pd

SCHEMA_VERSION = 1

# Column name -> type: "int", "float", "str" or "reps" (";"-separated floats).
POOL_COLUMNS = [
    ("schema_version", "int"),
    ("policy", "str"),
    ("n", "int"),
    ("pool_slots", "int"),
    ("allocations", "int"),
    ("frees", "int"),
    ("fallback_allocations", "int"),
    ("fallback_pct", "float"),
    ("fallback_bytes", "int"),
    ("slots_demanded", "int"),
    ("utilization_pct", "float"),
    ("high_water_slots", "int"),
    ("slots_per_entry", "float"),
    ("live_bytes", "int"),
    ("bytes_per_entry", "float"),
    ("peak_live_bytes", "int"),
    ("reused_allocations", "int"),
    ("insert_ns_per_op", "float"),
    ("query_ns_per_op", "float"),
    ("insert_ns_reps", "reps"),
    ("query_ns_reps", "reps"),
    ("peak_rss_kb", "int"),
    ("process_malloc", "str"),
]
POOL_POLICIES = ("bump_pool", "slot_recycler", "malloc")

MATRIX_COLUMNS = [
    ("schema_version", "int"),
    ("process_malloc", "str"),
    ("workload", "str"),
    ("policy", "str"),
    ("n", "int"),
    ("threads", "int"),
    ("repetitions", "int"),
    ("ns_per_op", "float"),
    ("ns_per_op_cv", "float"),
    ("ns_per_op_reps", "reps"),
    ("allocs_per_op", "float"),
    ("bytes_per_op", "float"),
    ("bytes_per_entry", "float"),
    ("peak_rss_kb", "float"),
    ("fallback_pct", "float"),
]

REFERENCE_COLUMNS = [
    ("n", "int"),
    ("pool_slots", "int"),
    ("slots_demanded", "float"),
    ("utilization_pct", "float"),
    ("fallback_pct", "float"),
    ("total_allocations", "float"),
    ("fallback_allocations", "float"),
    ("insert_ns_per_op", "float"),
    ("query_ns_per_op", "float"),
]

# Kinds that may be empty: reps (no repetitions recorded) and measured floats (e.g. malloc rows have
# no pool, so utilization_pct is empty). Empty -> NaN. Integers and strings must be present.
_NULLABLE = {"reps", "float"}

POOL_DEFAULT_CSV = "pool_exhaustion.csv"
POOL_DEFAULT_JSON = "pool_exhaustion.json"
POOL_SWEEP_CSV = "pool_exhaustion_sweep.csv"
POOL_SWEEP_JSON = "pool_exhaustion_sweep.json"
MATRIX_CSV = "allocator_matrix.csv"


class InputError(Exception):
    """A problem with an input file, reported as one line and exit status 2."""

    def __init__(self, path, message, line=None):
        self.path = str(path)
        self.line = line
        self.message = message
        where = self.path if line is None else "%s line %d" % (self.path, line)
        super().__init__("%s: %s" % (where, message))


def parse_reps(text):
    """'1.5;2;3' -> [1.5, 2.0, 3.0]; '' -> []."""
    text = (text or "").strip()
    if not text:
        return []
    return [float(x) for x in text.split(";") if x.strip() != ""]


def _convert(value, kind, path, line, column, nullable):
    value = value.strip()
    if kind == "str":
        return value
    if kind == "reps":
        try:
            return parse_reps(value)
        except ValueError:
            raise InputError(path, "column %s: expected ';'-separated numbers, got %r"
                             % (column, value), line)
    if value == "":
        if nullable:
            return np.nan
        raise InputError(path, "column %s: empty value" % column, line)
    try:
        if kind == "int":
            f = float(value)
            if not f.is_integer():
                raise ValueError(value)
            return int(f)
        f = float(value)
        if nullable or np.isfinite(f):
            return f
        raise ValueError(value)
    except ValueError:
        raise InputError(path, "column %s: expected %s, got %r"
                         % (column, "an integer" if kind == "int" else "a number", value), line)


def read_csv(path, columns, all_nullable=False, comments=False):
    """Reads a schema CSV strictly. The header must start with `columns` in order (extra trailing
    columns are kept as strings); every record must have as many fields as the header."""
    path = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(path, "no such file")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, "cannot read: %s" % getattr(e, "strerror", None) or e)
    lines = text.splitlines()
    records = []
    header = None
    header_line = None
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if comments and raw.lstrip().startswith("#"):
            continue
        try:
            fields = next(csv.reader([raw], strict=True))
        except csv.Error as e:
            raise InputError(path, "malformed CSV: %s" % e, lineno)
        if header is None:
            header, header_line = [h.strip() for h in fields], lineno
            expected = [c for c, _ in columns]
            if header[:len(expected)] != expected:
                missing = [c for c in expected if c not in header]
                if missing:
                    detail = "missing column%s %s" % ("s" if len(missing) > 1 else "",
                                                      ", ".join(missing))
                else:
                    detail = "columns out of order"
                raise InputError(path, "unexpected header (%s); expected %s"
                                 % (detail, ",".join(expected)), lineno)
            continue
        if len(fields) != len(header):
            raise InputError(path, "expected %d fields, got %d%s"
                             % (len(header), len(fields),
                                " (truncated file?)" if lineno == len(lines) else ""), lineno)
        row = {}
        for (name, kind), value in zip(columns, fields):
            row[name] = _convert(value, kind, path, lineno, name,
                                 all_nullable or kind in _NULLABLE)
        for name, value in zip(header[len(columns):], fields[len(columns):]):
            row[name] = value
        row["_line"] = lineno
        records.append(row)
    if header is None:
        raise InputError(path, "empty file (no header)")
    if not text.endswith("\n") and records:
        # A writer that renames atomically always ends with a newline; a missing one means the
        # last record may be cut in the middle of a number.
        raise InputError(path, "last line has no newline (truncated file?)", len(lines))
    df = pd.DataFrame.from_records(records, columns=[c for c, _ in columns] + header[len(columns):]
                                   + ["_line"])
    if "schema_version" in df.columns and len(df):
        bad = df[df["schema_version"] != SCHEMA_VERSION]
        if len(bad):
            raise InputError(path, "schema_version %s is not supported (expected %d)"
                             % (bad.iloc[0]["schema_version"], SCHEMA_VERSION),
                             int(bad.iloc[0]["_line"]))
    return df


def read_pool_csv(path):
    df = read_csv(path, POOL_COLUMNS)
    for _, r in df.iterrows():
        if r["policy"] not in POOL_POLICIES:
            raise InputError(path, "unknown policy %r (expected one of %s)"
                             % (r["policy"], ", ".join(POOL_POLICIES)), int(r["_line"]))
    return df


def read_matrix_csv(path):
    return read_csv(path, MATRIX_COLUMNS)


def read_reference_csv(path):
    return read_csv(path, REFERENCE_COLUMNS, all_nullable=True, comments=True)


def read_json(path):
    path = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(path, "no such file")
    except json.JSONDecodeError as e:
        raise InputError(path, "invalid JSON (column %d): %s" % (e.colno, e.msg), e.lineno)
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, "cannot read: %s" % e)


def read_pool_json(path):
    """Returns the parsed pool_exhaustion JSON; `rows` becomes a DataFrame (or None)."""
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise InputError(path, "expected a JSON object with metadata, rows, findings, sizing")
    rows = doc.get("rows")
    df = None
    if rows:
        names = [c for c, _ in POOL_COLUMNS]
        recs = []
        for i, r in enumerate(rows):
            missing = [c for c in names if c not in r]
            if missing:
                raise InputError(path, "rows[%d]: missing %s" % (i, ", ".join(missing)))
            rec = dict(r)
            for c, kind in POOL_COLUMNS:
                if kind == "reps" and isinstance(rec[c], str):
                    rec[c] = parse_reps(rec[c])
            rec["_line"] = i
            recs.append(rec)
        df = pd.DataFrame.from_records(recs)
    return {
        "metadata": doc.get("metadata") or {},
        "rows": df,
        "findings": doc.get("findings") or [],
        "sizing": doc.get("sizing") or {},
    }


# ----- Google Benchmark JSON -----

_SUFFIX = re.compile(r"/(repeats|threads|min_time|iterations|min_warmup_time):[^/]*|"
                     r"/(real_time|process_time|manual_time)$")
_TIME_SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def split_benchmark_name(run_name):
    """'insert_seq/bump_pool/keys:1000/threads:4' -> ('insert_seq', 'bump_pool', 1000, 4)."""
    threads = 1
    m = re.search(r"/threads:(\d+)", run_name)
    if m:
        threads = int(m.group(1))
    base = _SUFFIX.sub("", run_name)
    base = _SUFFIX.sub("", base)
    parts = base.split("/")
    if len(parts) < 3 or not parts[2].startswith("keys:"):
        return None
    try:
        n = int(parts[2][len("keys:"):])
    except ValueError:
        return None
    return parts[0], parts[1], n, threads


def read_gbench_json(path):
    """Reads Google Benchmark JSON. Returns (context, DataFrame with one row per benchmark:
    run_name, workload, policy, n, threads, process_malloc, real_time_reps (ns/iteration),
    ns_per_op_reps, ns_per_op)."""
    doc = read_json(path)
    if not isinstance(doc, dict) or "benchmarks" not in doc:
        raise InputError(path, "not Google Benchmark JSON (no 'benchmarks')")
    context = doc.get("context") or {}
    pm = context.get("process_malloc") or os.path.splitext(os.path.basename(str(path)))[0] \
        .replace("matrix_", "")
    groups = {}
    order = []
    for i, b in enumerate(doc["benchmarks"]):
        if not isinstance(b, dict) or "name" not in b:
            raise InputError(path, "benchmarks[%d]: no name" % i)
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        run_name = b.get("run_name", b["name"])
        try:
            scale = _TIME_SCALE[b.get("time_unit", "ns")]
            real = float(b["real_time"]) * scale
        except (KeyError, ValueError, TypeError):
            raise InputError(path, "benchmarks[%d] (%s): bad real_time/time_unit" % (i, run_name))
        if "ns_per_op" in b:
            per_op = float(b["ns_per_op"])
        elif "items_per_second" in b and b["items_per_second"]:
            per_op = 1e9 / float(b["items_per_second"])
        else:
            per_op = real
        if run_name not in groups:
            groups[run_name] = {"real": [], "per_op": [], "bench": b}
            order.append(run_name)
        groups[run_name]["real"].append(real)
        groups[run_name]["per_op"].append(per_op)
    recs = []
    for run_name in order:
        g = groups[run_name]
        parts = split_benchmark_name(run_name)
        workload, policy, n, threads = parts if parts else (run_name, "", 0, 1)
        if parts and g["bench"].get("threads"):
            threads = int(g["bench"]["threads"])
        recs.append({
            "run_name": run_name, "workload": workload, "policy": policy, "n": n,
            "threads": threads, "process_malloc": pm,
            "real_time_reps": g["real"], "ns_per_op_reps": g["per_op"],
            "ns_per_op": float(np.median(g["per_op"])),
            "repetitions": len(g["per_op"]),
            "bytes_per_entry": g["bench"].get("bytes_per_entry", np.nan),
        })
    return context, pd.DataFrame.from_records(
        recs, columns=["run_name", "workload", "policy", "n", "threads", "process_malloc",
                       "real_time_reps", "ns_per_op_reps", "ns_per_op", "repetitions",
                       "bytes_per_entry"])


def is_gbench_json(path):
    """True for Google Benchmark's own output: an object with a "benchmarks" list. The matrix's
    context.json (contexts only) and other JSON files are not."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return False
    try:
        doc = json.loads(text)
    except ValueError:
        # A truncated benchmark file is still one: the reader reports where it breaks.
        return '"benchmarks"' in text
    return isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list)
