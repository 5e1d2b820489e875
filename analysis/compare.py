"""--compare OLD NEW: per-cell ratio of medians, Mann-Whitney U over the repetitions (two-sided,
as Google Benchmark's tools/compare.py does), geometric mean of the ratios."""

import math
import os
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis import load


class Comparison:
    def __init__(self, cells, notes):
        self.cells = cells  # DataFrame: file, cell, metric, old, new, ratio, pvalue, n_old, n_new
        self.notes = notes


def _kind_of_file(path):
    if path.endswith(".json"):
        if load.is_gbench_json(path):
            return "gbench"
        return "pool_json"
    try:
        with open(path, encoding="utf-8") as f:
            header = f.readline().strip().split(",")
    except OSError as e:
        raise load.InputError(path, "cannot read: %s" % (e.strerror or e))
    if header[:len(load.POOL_COLUMNS)] == [c for c, _ in load.POOL_COLUMNS]:
        return "pool_csv"
    if header[:len(load.MATRIX_COLUMNS)] == [c for c, _ in load.MATRIX_COLUMNS]:
        return "matrix_csv"
    raise load.InputError(path, "not a pool_exhaustion or allocator_matrix CSV (unrecognised "
                                "header)", 1)


def _cells(path):
    """Returns (kind, DataFrame with cell, metric, reps, median)."""
    kind = _kind_of_file(path)
    rows = []
    if kind in ("pool_csv", "pool_json"):
        df = load.read_pool_csv(path) if kind == "pool_csv" else load.read_pool_json(path)["rows"]
        if df is None:
            raise load.InputError(path, "no rows")
        for _, r in df.iterrows():
            cell = "%s/n:%d/pool:%d" % (r["policy"], r["n"], r["pool_slots"])
            for metric in ("insert", "query"):
                rows.append({"cell": cell, "metric": metric + "_ns",
                             "reps": list(r[metric + "_ns_reps"]),
                             "median": float(r[metric + "_ns_per_op"])})
        kind = "pool_exhaustion"
    elif kind == "matrix_csv":
        df = load.read_matrix_csv(path)
        for _, r in df.iterrows():
            cell = "%s/%s/%s/keys:%d%s" % (r["process_malloc"], r["workload"], r["policy"], r["n"],
                                           "/threads:%d" % r["threads"] if r["threads"] != 1
                                           else "")
            rows.append({"cell": cell, "metric": "ns_per_op", "reps": list(r["ns_per_op_reps"]),
                         "median": float(r["ns_per_op"])})
        kind = "allocator_matrix"
    else:
        _, df = load.read_gbench_json(path)
        for _, r in df.iterrows():
            rows.append({"cell": r["run_name"], "metric": "real_time",
                         "reps": list(r["real_time_reps"]),
                         "median": float(np.median(r["real_time_reps"]))})
        kind = "gbench"
    out = pd.DataFrame(rows, columns=["cell", "metric", "reps", "median"])
    dup = out[out.duplicated(["cell", "metric"])]
    if len(dup):
        raise load.InputError(path, "cell %s appears twice" % dup.iloc[0]["cell"])
    return kind, out


def _pair_files(old, new):
    """Pairs of files to compare for two files or two directories."""
    if os.path.isfile(old) and os.path.isfile(new):
        return [(old, new)]
    if os.path.isdir(old) and os.path.isdir(new):
        def listing(d):
            return {f for f in os.listdir(d) if f.endswith((".csv", ".json"))
                    and not f.startswith(".")}
        common = sorted(listing(old) & listing(new))
        # Prefer the merged/CSV form of each experiment; the JSON duplicates it.
        if load.MATRIX_CSV in common:
            common = [f for f in common if not (f.endswith(".json") and f.startswith("matrix_"))]
        for csvname, jsonname in ((load.POOL_DEFAULT_CSV, load.POOL_DEFAULT_JSON),
                                  (load.POOL_SWEEP_CSV, load.POOL_SWEEP_JSON)):
            if csvname in common and jsonname in common:
                common.remove(jsonname)
        if not common:
            raise load.InputError(new, "no result file in common with %s" % old)
        return [(os.path.join(old, f), os.path.join(new, f)) for f in common]
    for p in (old, new):
        if not os.path.exists(p):
            raise load.InputError(p, "no such file or directory")
    raise load.InputError(new, "cannot compare a file with a directory (%s)" % old)


def mann_whitney_p(a, b):
    """Two-sided Mann-Whitney U p-value; NaN with fewer than 2 repetitions on a side."""
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if sorted(a) == sorted(b):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def compare(old, new):
    rows, notes = [], []
    for fo, fn in _pair_files(old, new):
        ko, co = _cells(fo)
        kn, cn = _cells(fn)
        if ko != kn:
            raise load.InputError(fn, "is %s results but %s is %s results" % (kn, fo, ko))
        m = co.merge(cn, on=["cell", "metric"], how="outer", suffixes=("_old", "_new"),
                     indicator=True)
        only_old = m[m["_merge"] == "left_only"]
        only_new = m[m["_merge"] == "right_only"]
        if len(only_old):
            notes.append("%d cell(s) only in %s (e.g. %s)" % (len(only_old), fo,
                                                            only_old.iloc[0]["cell"]))
        if len(only_new):
            notes.append("%d cell(s) only in %s (e.g. %s)" % (len(only_new), fn,
                                                            only_new.iloc[0]["cell"]))
        name = os.path.basename(fn)
        for _, r in m[m["_merge"] == "both"].iterrows():
            ro, rn = r["reps_old"], r["reps_new"]
            mo = float(np.median(ro)) if ro else r["median_old"]
            mn = float(np.median(rn)) if rn else r["median_new"]
            rows.append({"file": name, "cell": r["cell"], "metric": r["metric"], "old": mo,
                         "new": mn, "ratio": mn / mo if mo > 0 else float("nan"),
                         "pvalue": mann_whitney_p(ro, rn), "n_old": len(ro), "n_new": len(rn)})
    cells = pd.DataFrame(rows, columns=["file", "cell", "metric", "old", "new", "ratio", "pvalue",
                                        "n_old", "n_new"])
    if cells.empty:
        raise load.InputError(new, "no cell in common with %s" % old)
    return Comparison(cells, notes)


def verdicts(cells, threshold_pct, alpha):
    change = (cells["ratio"] - 1.0) * 100.0
    sig = cells["pvalue"] < alpha
    v = np.where(sig & (change > threshold_pct), "REGRESSION",
                 np.where(sig & (change < -threshold_pct), "faster",
                          np.where(sig, "changed (within threshold)", "")))
    return pd.Series(v, index=cells.index)


def format_table(comp, threshold_pct, alpha):
    """The aligned text table, and whether any cell regressed."""
    c = comp.cells.copy()
    c["verdict"] = verdicts(c, threshold_pct, alpha)
    header = ["file", "cell", "metric", "old", "new", "new/old", "change", "p-value", "reps",
              "verdict"]
    body = []
    for _, r in c.iterrows():
        body.append([r["file"], r["cell"], r["metric"], "%.1f" % r["old"], "%.1f" % r["new"],
                     "%.3f" % r["ratio"], "%+.1f%%" % ((r["ratio"] - 1) * 100),
                     "-" if math.isnan(r["pvalue"]) else "%.4f" % r["pvalue"],
                     "%d/%d" % (r["n_old"], r["n_new"]), r["verdict"]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    right = {3, 4, 5, 6, 7, 8}

    def line(vals):
        return "  ".join(str(v).rjust(w) if i in right else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(vals, widths))).rstrip()

    out = [line(header), line(["-" * w for w in widths])] + [line(b) for b in body]
    ratios = c["ratio"][np.isfinite(c["ratio"]) & (c["ratio"] > 0)]
    gm = float(stats.gmean(ratios)) if len(ratios) else float("nan")
    out.append("")
    out.append("geometric mean of new/old over %d cells: %.3f (%+.1f%%)"
               % (len(ratios), gm, (gm - 1) * 100))
    for f, g in c.groupby("file"):
        if c["file"].nunique() > 1:
            rr = g["ratio"][np.isfinite(g["ratio"]) & (g["ratio"] > 0)]
            out.append("  %s: %.3f" % (f, float(stats.gmean(rr))))
    regressed = c[c["verdict"] == "REGRESSION"]
    missing_p = int(c["pvalue"].isna().sum())
    if missing_p:
        out.append("note: %d cell(s) have fewer than 2 repetitions on a side; no p-value, never "
                   "flagged" % missing_p)
    for n in comp.notes:
        out.append("note: " + n)
    if len(regressed):
        out.append("%d regression(s) beyond %.1f%% with p < %g: %s"
                   % (len(regressed), threshold_pct, alpha,
                      ", ".join("%s %s" % (a, b) for a, b in zip(regressed["cell"],
                                                                  regressed["metric"]))))
    else:
        out.append("no significant regression beyond %.1f%% (alpha %g)" % (threshold_pct, alpha))
    return "\n".join(out) + "\n", len(regressed) > 0
