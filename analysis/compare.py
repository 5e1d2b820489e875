"""--compare OLD NEW: per-cell ratio of medians, Mann-Whitney U over the repetitions (two-sided,
as Google Benchmark's tools/compare.py does), geometric mean of the ratios. Works on every result
kind: pool_exhaustion (default or sweep), allocator_matrix, a Google Benchmark JSON file, and the
per-malloc experiments' directories (replay, persistent_churn, memory_timeline: results/<name>/
or one of its <malloc>/ subdirectories). A value measured once per cell (churn's and the
timeline's counts and memory) has no p-value: a change beyond the threshold counts as a
regression, marked "measured once". Every timed cell (pool cells, matrix rows, replay rows) is
keyed on the host class that measured it: times of two classes are never compared, and two runs
that share no class say so in one line."""

import math
import os
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis import load, schema
from analysis.schema import InputError


# Every compared cell: its name, the metric, its repetitions and median, and the host class that
# measured it (None for counts and memory, which compare across classes). A timed cell's name
# ends in /host:<class>, so times of two classes never meet in one row.
CELL_COLUMNS = ["cell", "metric", "reps", "median", "host"]


class Comparison:
    def __init__(self, kind, cells, notes):
        self.kind = kind
        self.cells = cells  # DataFrame: cell, metric, old, new, ratio, pvalue, n_old, n_new
        self.notes = notes


def _timed(cell, host, metric, reps, median):
    """A timed cell: keyed on the host class that measured it."""
    return {"cell": "%s/host:%s" % (cell, host), "metric": metric, "reps": reps,
            "median": median, "host": host}


def _pool_cells(rows):
    out = []
    # Only hash seed 0 is timed with every repetition; the other seeds are measured once, for
    # their counts (experiments/pool_exhaustion/plan.h), so their times are not compared.
    for _, r in rows[rows["seed"] == 0].iterrows():
        # The host class is part of the cell: times from two classes are never compared. It no
        # longer covers the process malloc (run_metadata.host), which is a treatment: its own part.
        cell = "%s/%s/fallback:%s/n:%d/pool:%d%s%s/malloc:%s" % (
            r["role"], r["policy"], r["fallback"], r["n"], r["pool_slots"],
            "/prefault" if r["prefault"] else "", "/huge_pages" if r["huge_pages"] else "",
            r["process_malloc"])
        for metric in ("insert", "query"):
            out.append(_timed(cell, r["host"], metric + "_ns_per_op",
                              list(r[metric + "_ns_reps"]), float(r[metric + "_ns_per_op"])))
    return out


def _matrix_cells(rows):
    out = []
    for _, r in rows.iterrows():
        if r["ns_per_op"] is None or (isinstance(r["ns_per_op"], float) and
                                      math.isnan(r["ns_per_op"])):
            continue
        cell = "%s/%s/%s/keys:%d%s" % (r["process_malloc"], r["workload"], r["policy"], r["n"],
                                       "/threads:%d" % r["threads"] if r["threads"] != 1 else "")
        out.append(_timed(cell, r["host"], "ns_per_op", list(r["ns_per_op_reps"]),
                          float(r["ns_per_op"])))
    return out


def _replay_cells(rows, host):
    """replay_row carries no host column: the run's (run_metadata.host) measured every row."""
    out = []
    for _, r in rows.iterrows():
        for metric in ("ns_per_event", "ns_per_alloc", "ns_per_free"):
            reps = [float(x) for x in (r[metric + "_reps"] or [])]
            if reps:
                # The malloc's name without its version, as the matrix's cells: a library upgrade
                # is what a comparison may be run to judge.
                out.append(_timed("%s/%s/%s" % (str(r["process_malloc"]).split()[0], r["trace"],
                                                r["policy"]),
                                  host, metric, reps, float(np.median(reps))))
    return out


def _single_cells(rows, key, metrics):
    """Cells whose metrics were measured once: `key` names the cell's fields, in order."""
    out = []
    for _, r in rows.iterrows():
        cell = "/".join("%s:%s" % (k, r[k]) if k == "n" else str(r[k]) for k in key)
        for metric in metrics:
            v = r[metric]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            out.append({"cell": cell, "metric": metric, "reps": [float(v)], "median": float(v),
                        "host": None})
    return out


# The per-malloc experiments: their loader (load.load_per_malloc), the JSON section of their cells
# and how to turn those (and the run's host class) into compared cells.
PER_MALLOC_KINDS = {
    load.REPLAY_STEM: (load.load_replay, "rows", _replay_cells),
    # Counts and memory only, so not keyed on the host class: churn's ns_per_update is one
    # untimed-grade measurement (schema), timeline's seconds are not timing-grade either, and page
    # faults vary with what the kernel had ready; a rerun would flag them as noise.
    load.CHURN_STEM: (load.load_churn, "cells", lambda rows, _host: _single_cells(
        rows, ("process_malloc", "retention", "policy", "n"),
        ("slots_per_update", "allocations_per_update", "peak_rss_kb"))),
    load.TIMELINE_STEM: (load.load_timeline, "cells", lambda rows, _host: _single_cells(
        rows, ("process_malloc", "workload", "policy", "n"),
        ("anon_rss_peak_kb", "retained_kb", "slots_demanded"))),
}


def _holds_per_malloc(path, stem):
    """Whether `path`, or one of its subdirectories (not a run store's .runs), holds a published
    `stem` set: a look at file names only, as for the other kinds."""
    dirs = [path] + [os.path.join(path, d) for d in os.listdir(path)
                     if os.path.isdir(os.path.join(path, d)) and not d.endswith(".runs")]
    return any(os.path.exists(os.path.join(d, stem + ext)) for d in dirs
               for ext in (".json", ".current"))


def _kinds(path):
    """The result kinds a file or directory holds."""
    if not os.path.isdir(path):
        return [load.detect_kind(path)]
    kinds = [k for k in load.POOL_STEMS if os.path.exists(os.path.join(path, k + ".json"))
             or os.path.exists(os.path.join(path, k + ".current"))]
    if os.path.exists(os.path.join(path, "context.json")) or os.path.exists(
            os.path.join(path, load.MATRIX_STEM + ".current")):
        kinds.append(load.MATRIX_STEM)
    kinds += [stem for stem in PER_MALLOC_KINDS if _holds_per_malloc(path, stem)]
    if not kinds:
        raise InputError(path, "holds no results of this workbench (pool_exhaustion, "
                               "allocator_matrix, replay, persistent_churn, memory_timeline)")
    return kinds


def _check_complete(path, metadata, allow_incomplete, notes):
    if metadata is None:
        notes.append("%s: a bare CSV carries no metadata; its completeness is not known" % path)
    elif not metadata.get("complete"):
        if not allow_incomplete:
            raise InputError(path, "run %s is incomplete (interrupted or failed): finish it with "
                             "--resume, or pass --allow-incomplete" % metadata.get("run_id", "?"))
        notes.append("%s is an INCOMPLETE run" % path)


def _cells(path, kind, allow_incomplete, notes):
    """DataFrame of cell, metric, reps, median for the `kind` results of a file or directory."""
    directory = path if os.path.isdir(path) else os.path.dirname(path) or "."
    if kind in load.POOL_STEMS:
        if os.path.isdir(path):
            rs = load.load_pool(path, kind)
            rows, metadata = rs.sections["rows"], rs.metadata
        elif path.endswith(".csv"):
            rows, metadata = schema.read_csv(path, "pool_cell"), None
        else:
            doc = schema.read_json_file(path, "pool_exhaustion.json")
            rows, metadata = doc["rows"], doc["metadata"]
        _check_complete(path, metadata, allow_incomplete, notes)
        cells = _pool_cells(rows)
    elif kind in PER_MALLOC_KINDS:
        loader, section, to_cells = PER_MALLOC_KINDS[kind]
        cells = []
        for rs in loader(path):
            _check_complete(rs.directory, rs.metadata, allow_incomplete, notes)
            cells += to_cells(rs.sections[section], rs.metadata.get("host", "unknown"))
    elif kind == load.MATRIX_STEM:
        if os.path.isdir(path) or os.path.basename(path) == "context.json":
            rs = load.load_matrix(directory)
            _check_complete(path, rs.metadata, allow_incomplete, notes)
            cells = _matrix_cells(rs.sections["rows"])
        else:
            _check_complete(path, None, allow_incomplete, notes)
            cells = _matrix_cells(schema.read_csv(path, "matrix_row"))
    else:
        ctx, df = schema.read_gbench(path)
        rows = load.matrix_rows_from_gbench([(ctx.get("process_malloc", "?"),
                                              load.host_class_of(ctx), df)])
        cells = _matrix_cells(rows)
    out = pd.DataFrame(cells, columns=CELL_COLUMNS)
    if out.empty:
        raise InputError(path, "no timed cell to compare")
    out["cell"] = (kind + ":" if kind != load.MATRIX_STEM else "") + out["cell"]
    return out


def _host_notes(old, co, new, cn, notes):
    """Times compare only within one host class (timed cells are keyed on it). Notes the classes
    only one side measured; returns the one line to say when the two share none (else None)."""
    ho, hn = set(co["host"].dropna()), set(cn["host"].dropna())
    if not ho or not hn:
        return None
    names = lambda hs: ", ".join(sorted(hs))  # noqa: E731
    if not ho & hn:
        apart = ("no host class in common: %s was timed on %s, %s on %s; times compare only "
                 "within one host class, so none is compared" % (old, names(ho), new, names(hn)))
        notes.append(apart)
        return apart
    for side, only in ((old, ho - hn), (new, hn - ho)):
        if only:
            notes.append("host class(es) %s only in %s: their times are not compared"
                         % (names(only), side))
    return None


def mann_whitney_p(a, b):
    """Two-sided Mann-Whitney U p-value; NaN with fewer than 2 repetitions on a side."""
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if sorted(a) == sorted(b):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def compare(old, new, allow_incomplete=False):
    """Compares two result files or directories of the same kind: pool_exhaustion (default or
    sweep), allocator_matrix, one Google Benchmark JSON file each, or the per-malloc experiments'
    directories (PER_MALLOC_KINDS)."""
    for p in (old, new):
        if not os.path.exists(p):
            raise InputError(p, "no such file or directory")
    if os.path.isdir(old) != os.path.isdir(new):
        raise InputError(new, "cannot compare a file with a directory (%s)" % old)
    ko, kn = _kinds(old), _kinds(new)
    kinds = [k for k in ko if k in kn]
    if not kinds:
        raise InputError(new, "holds %s results but %s holds %s results" % (
            ", ".join(kn), old, ", ".join(ko)))
    notes = []
    for k in set(ko) ^ set(kn):
        notes.append("%s results only in %s; not compared" % (k, old if k in ko else new))
    co = pd.concat([_cells(old, k, allow_incomplete, notes) for k in kinds], ignore_index=True)
    cn = pd.concat([_cells(new, k, allow_incomplete, notes) for k in kinds], ignore_index=True)
    apart = _host_notes(old, co, new, cn, notes)
    m = co.merge(cn.drop(columns="host"), on=["cell", "metric"], how="outer",
                 suffixes=("_old", "_new"), indicator=True)
    for side, label in (("left_only", old), ("right_only", new)):
        only = m[m["_merge"] == side]
        if len(only):
            notes.append("%d cell(s) only in %s (e.g. %s)" % (len(only), label,
                                                            only.iloc[0]["cell"]))
    rows = []
    for _, r in m[m["_merge"] == "both"].iterrows():
        ro, rn = r["reps_old"], r["reps_new"]
        mo = float(np.median(ro)) if ro else r["median_old"]
        mn = float(np.median(rn)) if rn else r["median_new"]
        if mo > 0:
            ratio = mn / mo
        elif mn == mo:
            ratio = 1.0
        else:  # from zero (or below: RSS kept after teardown can shrink): no ratio, a direction
            ratio = float("inf") if mn > mo else 0.0
        rows.append({"cell": r["cell"], "metric": r["metric"], "old": mo, "new": mn,
                     "ratio": ratio,
                     "pvalue": mann_whitney_p(ro, rn), "n_old": len(ro), "n_new": len(rn)})
    cells = pd.DataFrame(rows, columns=["cell", "metric", "old", "new", "ratio", "pvalue",
                                        "n_old", "n_new"])
    if cells.empty:
        raise InputError(new, apart or "no cell in common with %s" % old)
    return Comparison(", ".join(kinds), cells, notes)


def smallest_p(n_old, n_new):
    """The smallest two-sided p-value the Mann-Whitney U test can give with these sample sizes
    (all of one side below all of the other): 2 / C(n_old + n_new, n_old)."""
    if n_old < 1 or n_new < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n_old + n_new, n_old))


def verdicts(cells, threshold_pct, alpha):
    """REGRESSION: slower beyond the threshold, significantly; also when the repetitions are too
    few for any p-value to reach alpha (then no test can clear the change, so it is not let pass)."""
    change = (cells["ratio"] - 1.0) * 100.0
    sig = cells["pvalue"] < alpha
    untestable = np.array([smallest_p(a, b) >= alpha for a, b in zip(cells["n_old"],
                                                                     cells["n_new"])], dtype=bool)
    once = np.array([a == 1 and b == 1 for a, b in zip(cells["n_old"], cells["n_new"])],
                    dtype=bool)
    v = np.where(sig & (change > threshold_pct), "REGRESSION",
                 np.where(once & (change > threshold_pct), "REGRESSION (untested: measured once)",
                 np.where(untestable & (change > threshold_pct), "REGRESSION (untested: too few "
                          "repetitions)",
                          np.where(sig & (change < -threshold_pct), "faster",
                                   np.where(sig, "changed (within threshold)", "")))))
    return pd.Series(v, index=cells.index)


def format_table(comp, threshold_pct, alpha):
    """The aligned text table, and whether any cell regressed."""
    c = comp.cells.copy()
    c["verdict"] = verdicts(c, threshold_pct, alpha)
    header = ["cell", "metric", "old", "new", "new/old", "change", "p-value", "reps", "verdict"]
    body = []
    for _, r in c.iterrows():
        body.append([r["cell"], r["metric"], "%.1f" % r["old"], "%.1f" % r["new"],
                     "%.3f" % r["ratio"], "%+.1f%%" % ((r["ratio"] - 1) * 100),
                     "-" if math.isnan(r["pvalue"]) else "%.4f" % r["pvalue"],
                     "%d/%d" % (r["n_old"], r["n_new"]), r["verdict"]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    right = {2, 3, 4, 5, 6, 7}

    def line(vals):
        return "  ".join(str(v).rjust(w) if i in right else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(vals, widths))).rstrip()

    out = [line(header), line(["-" * w for w in widths])] + [line(b) for b in body]
    ratios = c["ratio"][np.isfinite(c["ratio"]) & (c["ratio"] > 0)]
    gm = float(stats.gmean(ratios)) if len(ratios) else float("nan")
    out.append("")
    out.append("%s: geometric mean of new/old over %d cells: %.3f (%+.1f%%)"
               % (comp.kind, len(ratios), gm, (gm - 1) * 100))
    regressed = c[c["verdict"].str.startswith("REGRESSION")]
    once = sum(a == 1 and b == 1 for a, b in zip(c["n_old"], c["n_new"]))
    untestable = sum(smallest_p(a, b) >= alpha and not (a == 1 and b == 1)
                     for a, b in zip(c["n_old"], c["n_new"]))
    if once:
        out.append("note: %d cell(s) hold a value measured once per run (counts, memory): no "
                   "p-value; a change beyond the threshold counts as a regression" % once)
    if untestable:
        out.append("note: %d cell(s) have too few repetitions for any p-value below %g (with n "
                   "and m repetitions the smallest is 2 / C(n+m, n): use at least 4 per side); "
                   "their slowdowns beyond the threshold count as regressions" % (untestable, alpha))
    for n in comp.notes:
        out.append("note: " + n)
    if len(regressed):
        tested = int((regressed["verdict"] == "REGRESSION").sum())
        names = ["%s %s" % (a, b) for a, b in zip(regressed["cell"], regressed["metric"])]
        shown = 10  # one readable line: the table above lists every cell
        out.append("%d regression(s) beyond %.1f%%: %d with p < %g, %d untested (measured "
                   "once, or too few repetitions): %s%s"
                   % (len(regressed), threshold_pct, tested, alpha, len(regressed) - tested,
                      ", ".join(names[:shown]),
                      " (+%d more, marked in the table)" % (len(names) - shown)
                      if len(names) > shown else ""))
    else:
        out.append("no significant regression beyond %.1f%% (alpha %g)" % (threshold_pct, alpha))
    return "\n".join(out) + "\n", len(regressed) > 0
