"""Finding and reading one experiment's published result set, with where it came from.

An output directory D holds, per result set S, a link S.current to the last complete run's
directory (experiments/common/run_store.h). It is resolved once, so that every file of a set comes
from one run. A directory without it (made by hand, or by an old version) is read as it is.
Every file is read through schema.py; the set's provenance (files, run, commit, completeness, age)
goes into the report.
"""

import datetime
import glob
import os

import numpy as np
import pandas as pd
from scipy import stats

from analysis import schema
from analysis.schema import InputError

POOL_STEMS = ("pool_exhaustion", "pool_exhaustion_sweep")
MATRIX_STEM = "allocator_matrix"
TIMELINE_STEM = "memory_timeline"
CHURN_STEM = "persistent_churn"
REPLAY_STEM = "replay"


def published_dir(directory, stem):
    """The directory holding S's files: the target of D/S.current, resolved once, else D."""
    link = os.path.join(directory, stem + ".current")
    if os.path.islink(link):
        target = os.path.realpath(link)
        if not os.path.isdir(target):
            raise InputError(link, "points to a missing run directory %s" % target)
        return target
    return directory


class ResultSet:
    def __init__(self, kind, directory):
        self.kind = kind
        self.directory = directory
        self.files = []
        self.metadata = {}
        self.sections = {}  # pool: rows, capacities, ...; matrix: rows, binaries
        self.notes = []     # things the report must say about these inputs

    @property
    def complete(self):
        return bool(self.metadata.get("complete"))

    def age(self, now=None):
        date = self.metadata.get("date")
        if not date:
            return None
        try:
            start = datetime.datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            return None
        return (now or datetime.datetime.now(datetime.timezone.utc)) - start


def format_age(delta):
    if delta is None:
        return "unknown"
    s = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return "%d %s" % (s // size, unit)
    return "%d s" % s


def _rows_equal(csv_rows, json_rows):
    cols = [c for c in csv_rows.columns if c != "_line"]
    if len(csv_rows) != len(json_rows):
        return False
    a = csv_rows[cols].reset_index(drop=True)
    b = json_rows[cols].reset_index(drop=True)
    for c in cols:
        for x, y in zip(a[c], b[c]):
            if isinstance(x, list) or isinstance(y, list):
                if list(x or []) != list(y or []):
                    return False
            elif not (x == y or (x is None and y is None) or (
                    isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y))):
                return False
    return True


def load_pool(directory, stem):
    """pool_exhaustion's (or the sweep's) published set in `directory`, or None if absent."""
    d = published_dir(directory, stem)
    csv_path, json_path = os.path.join(d, stem + ".csv"), os.path.join(d, stem + ".json")
    if not os.path.exists(csv_path) and not os.path.exists(json_path):
        return None
    rs = ResultSet(stem, d)
    if not os.path.exists(json_path):
        raise InputError(json_path, "missing (its CSV is here: the findings and metadata are in "
                                    "the JSON)")
    rs.sections = schema.read_json_file(json_path, "pool_exhaustion.json")
    rs.metadata = rs.sections.pop("metadata")
    rs.files.append(json_path)
    if os.path.exists(csv_path):
        rows = schema.read_csv(csv_path, "pool_cell")
        rs.files.append(csv_path)
        if not _rows_equal(rows, rs.sections["rows"]):
            raise InputError(csv_path, "its rows differ from %s's: the two files come from "
                                       "different runs" % os.path.basename(json_path))
    return rs


def load_per_malloc(directory, stem, csv_files):
    """An experiment's published sets, one per process malloc: `directory` itself when it holds
    one, else one per subdirectory (results/<experiment>/<malloc>/); [] when there is none.
    `csv_files` lists (file name, record, JSON section): each csv file present must hold the same
    records as the JSON's section."""
    candidates = [directory] + sorted(
        os.path.join(directory, d) for d in os.listdir(directory)
        if os.path.isdir(os.path.join(directory, d)) and not d.endswith(".runs"))
    sets = []
    for cand in candidates:
        d = published_dir(cand, stem)
        json_path = os.path.join(d, stem + ".json")
        if not os.path.exists(json_path):
            continue
        rs = ResultSet(stem, d)
        rs.sections = schema.read_json_file(json_path, stem + ".json")
        rs.metadata = rs.sections.pop("metadata")
        rs.files.append(json_path)
        for name, record, key in csv_files:
            path = os.path.join(d, name)
            if os.path.exists(path):
                rs.files.append(path)
                if not _rows_equal(schema.read_csv(path, record), rs.sections[key]):
                    raise InputError(path, "its rows differ from %s's: the two files come from "
                                           "different runs" % os.path.basename(json_path))
        sets.append(rs)
        if cand == directory:
            break  # a set of its own: its subdirectories are its runs, not other sets
    return sets


def load_timeline(directory):
    """memory_timeline's published sets, one per process malloc (load_per_malloc)."""
    return load_per_malloc(directory, TIMELINE_STEM, (
        (TIMELINE_STEM + "_cells.csv", "timeline_cell", "cells"),
        (TIMELINE_STEM + ".csv", "timeline_sample", "samples")))


def load_churn(directory):
    """persistent_churn's published sets, one per process malloc (load_per_malloc)."""
    return load_per_malloc(directory, CHURN_STEM, (
        (CHURN_STEM + ".csv", "churn_cell", "cells"),
        (CHURN_STEM + "_samples.csv", "churn_sample", "samples")))


def load_replay(directory):
    """The replay's published sets, one per process malloc (load_per_malloc)."""
    return load_per_malloc(directory, REPLAY_STEM, ((REPLAY_STEM + ".csv", "replay_row", "rows"),))


def median_confidence_interval(values, level=0.95):
    """As experiments/common/statistics.h's MedianConfidenceInterval: the order statistics
    [x(k), x(n + 1 - k)] with the largest k whose coverage 1 - 2 P(B <= k - 1), B ~ Bin(n, 1/2),
    is still >= level; (None, None) when even [min, max] falls short (fewer than 6 values)."""
    n = len(values)
    ranks = [k for k in range(1, (n + 1) // 2 + 1)
             if 1 - 2 * stats.binom.cdf(k - 1, n, 0.5) >= level]
    if not ranks:
        return None, None
    ordered = sorted(values)
    return float(ordered[ranks[-1] - 1]), float(ordered[n - ranks[-1]])


def matrix_rows_from_gbench(frames):
    """allocator_matrix.csv's rows, derived from Google Benchmark JSON entries the way
    experiments/allocator_matrix/merge.cc does (schema: matrix_row): per benchmark, every
    repetition's cpu_time / ops_per_iter, their median and coefficient of variation. `frames`:
    (process_malloc, host class, DataFrame) per benchmark file (host_class_of)."""
    out = []
    for process_malloc, host, df in frames:
        if df.empty:
            continue
        for run_name, g in df.groupby("run_name", sort=False):
            ok = g[g["error"] == ""]
            reps = list(ok["cpu_ns"] / ok["ops_per_iter"]) if len(ok) else []
            real = list(ok["real_ns"] / ok["ops_per_iter"]) if len(ok) else []
            first = g.iloc[0]

            def med(col):
                if col not in ok or not ok[col].notna().any():
                    return None
                return float(np.median(ok[col].dropna()))
            cv = None
            if reps:
                mean = float(np.mean(reps))
                cv = float(np.std(reps, ddof=1) / mean) if len(reps) > 1 and mean else 0.0
            ci_low, ci_high = median_confidence_interval(reps) if reps else (None, None)
            out.append({
                "schema_version": schema.VERSION, "process_malloc": process_malloc,
                "workload": first["workload"], "policy": first["policy"], "n": int(first["n"]),
                "threads": int(first["threads"]), "repetitions": len(reps),
                "ns_per_op": float(np.median(reps)) if reps else None, "ns_per_op_cv": cv,
                "ns_per_op_ci_low": ci_low, "ns_per_op_ci_high": ci_high,
                "ns_per_op_reps": reps, "allocs_per_op": med("allocs_per_op"),
                "bytes_per_op": med("bytes_per_op"), "bytes_per_entry": med("bytes_per_entry"),
                "peak_rss_kb": med("peak_rss_kb"), "fallback_pct": med("fallback_pct"),
                # As merge.cc: the last failed repetition's message, even if others ran.
                "error": str(g.loc[g["error"] != "", "error"].iloc[-1]) if (g["error"] != "").any()
                else "",
                "real_ns_per_op": float(np.median(real)) if real else None,
                # As merge.cc: an entry's own host class (a merged file's), else the file's.
                "host": first.get("host_class") or host})
    return pd.DataFrame(out, columns=schema.names("matrix_row"))


def host_class_of(context):
    """The host class a benchmark file's context names (bench.cc's host_class), as merge.cc reads
    it: "unknown" in a file written before it was recorded."""
    return context.get("host_class") or "unknown"


def load_matrix(directory, prefer_csv=True):
    """allocator_matrix's published set in `directory`, or None if absent. Benchmark JSON files
    that context.json does not list are left over from another run: ignored, with a note."""
    d = published_dir(directory, MATRIX_STEM)
    context_path = os.path.join(d, "context.json")
    csv_path = os.path.join(d, "allocator_matrix.csv")
    jsons = sorted(glob.glob(os.path.join(d, "matrix_*.json")))
    if not os.path.exists(context_path) and not os.path.exists(csv_path) and not jsons:
        return None
    rs = ResultSet(MATRIX_STEM, d)
    if not os.path.exists(context_path):
        raise InputError(context_path, "missing (the run's metadata is in it)")
    context = schema.read_json_file(context_path, "context.json")
    rs.metadata = context["metadata"]
    binaries = context["binaries"] if isinstance(context["binaries"], dict) else {}
    rs.sections["binaries"] = binaries
    rs.files.append(context_path)
    frames = []
    for binary, entry in binaries.items():
        path = os.path.join(d, binary + ".json")
        if isinstance(entry, dict) and "failure" not in entry and not os.path.exists(path):
            raise InputError(context_path, "lists %s, but %s is missing" % (binary, path))
    for j in jsons:
        binary = os.path.splitext(os.path.basename(j))[0]
        if binary not in binaries:
            rs.notes.append("%s is not part of this run (context.json does not list it): left "
                            "over from another run; ignored" % j)
            continue
        ctx, df = schema.read_gbench(j)
        frames.append((ctx.get("process_malloc") or binary.replace("matrix_", ""),
                       host_class_of(ctx), df))
        rs.files.append(j)
    if prefer_csv and os.path.exists(csv_path):
        rs.sections["rows"] = schema.read_csv(csv_path, "matrix_row")
        rs.files.append(csv_path)
    else:
        if os.path.exists(csv_path):
            rs.notes.append("rows derived from the benchmark JSON (allocator_matrix.csv not read)")
        else:
            rs.notes.append("no allocator_matrix.csv: rows derived from the benchmark JSON")
        rs.sections["rows"] = matrix_rows_from_gbench(frames)
    return rs


def read_reference(path):
    return schema.read_csv(path, "reference_row", comments=True)


def detect_kind(path):
    """What a file or directory holds: pool_exhaustion, pool_exhaustion_sweep, allocator_matrix
    or gbench (one Google Benchmark JSON file)."""
    if os.path.isdir(path):
        for stem in POOL_STEMS + (MATRIX_STEM,):
            if os.path.exists(os.path.join(path, stem + ".current")):
                return stem
        for stem in POOL_STEMS:
            if os.path.exists(os.path.join(path, stem + ".json")):
                return stem
        if os.path.exists(os.path.join(path, "context.json")) or os.path.exists(
                os.path.join(path, "allocator_matrix.csv")):
            return MATRIX_STEM
        raise InputError(path, "holds no pool_exhaustion or allocator_matrix results")
    name = os.path.basename(path)
    for stem in POOL_STEMS:
        if name in (stem + ".csv", stem + ".json"):
            return stem
    if name in ("allocator_matrix.csv", "context.json"):
        return MATRIX_STEM
    for stem in (REPLAY_STEM, CHURN_STEM, TIMELINE_STEM):
        if name.startswith(stem) and name.endswith((".json", ".csv")):
            raise InputError(path, "a %s result file: give its directory (results/%s or one of "
                                   "its <malloc>/ subdirectories)" % (stem, stem))
    if name.endswith(".json"):
        return "gbench"
    raise InputError(path, "not a result file of this workbench (see experiments/RESULTS_SCHEMA.md)")
