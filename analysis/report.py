"""bazel run //analysis:report -- [--pool-results DIR] [--matrix-results DIR] [--out DIR]
bazel run //analysis:report -- --compare OLD NEW [--threshold PCT] [--alpha A]

Turns the result files of experiments/ (contract: experiments/RESULTS_SCHEMA.md) into
report.md, figures/*.png|svg and tables/*.tex under --out. Exit status: 0 ok; 1 --compare found a
significant regression; 2 bad input, bad flags or an unwritable --out."""

import argparse
import math
import os
import sys
import tempfile

DEFAULT_POOL = "results/pool_exhaustion"
DEFAULT_MATRIX = "results/allocator_matrix"
DEFAULT_TIMELINE = "results/memory_timeline"
DEFAULT_CHURN = "results/persistent_churn"
DEFAULT_REPLAY = "results/replay"
DEFAULT_OUT = "results/report"
DEFAULT_REFERENCE = "experiments/reference/pool_exhaustion_reference.csv"


def _setup_matplotlib():
    # A writable, persistent config/cache dir: no "building the font cache" chatter on every run,
    # and no warning when HOME is read-only (bazel test).
    if "MPLCONFIGDIR" not in os.environ:
        d = os.path.join(tempfile.gettempdir(), "hamt_alloc_mplconfig")
        try:
            os.makedirs(d, exist_ok=True)
            os.environ["MPLCONFIGDIR"] = d
        except OSError:
            pass


def workspace_root():
    return os.environ.get("BUILD_WORKSPACE_DIRECTORY") or os.getcwd()


def resolve(path):
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.join(workspace_root(), path)


def _threshold(text):
    t = text.strip().rstrip("%")
    try:
        v = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a percentage such as 5 or 5%%, got %r" % text)
    if v < 0 or not math.isfinite(v):
        raise argparse.ArgumentTypeError("must be a non-negative percentage")
    return v


def _alpha(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number in (0, 1), got %r" % text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError("must be in (0, 1)")
    return v


class _Once(argparse.Action):
    """A flag that takes one value: given twice, an error (the first value is not silently
    replaced)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest + "_given", False):
            parser.error("%s given twice" % option_string)
        setattr(namespace, self.dest + "_given", True)
        setattr(namespace, self.dest, values)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="analysis",
        description="Result files -> Markdown report, PNG+SVG figures, LaTeX tables; or compare "
                    "two runs. Relative paths are resolved against the workspace root.")
    p.add_argument("--pool-results", action=_Once, default=None, metavar="DIR",
                   help="pool_exhaustion results directory (default %s)" % DEFAULT_POOL)
    p.add_argument("--matrix-results", action=_Once, default=None, metavar="DIR",
                   help="allocator_matrix results directory (default %s)" % DEFAULT_MATRIX)
    p.add_argument("--timeline-results", action=_Once, default=None, metavar="DIR",
                   help="memory_timeline results: one run's directory, or a directory of one "
                        "per process malloc (default %s)" % DEFAULT_TIMELINE)
    p.add_argument("--churn-results", action=_Once, default=None, metavar="DIR",
                   help="persistent_churn results: one run's directory, or a directory of one "
                        "per process malloc (default %s)" % DEFAULT_CHURN)
    p.add_argument("--replay-results", action=_Once, default=None, metavar="DIR",
                   help="replay results: one run's directory, or a directory of one per process "
                        "malloc (default %s)" % DEFAULT_REPLAY)
    p.add_argument("--reference", action=_Once, default=DEFAULT_REFERENCE, metavar="CSV",
                   help="the reference study's figures (default %(default)s)")
    p.add_argument("--out", action=_Once, default=DEFAULT_OUT, metavar="DIR",
                   help="output directory (default %(default)s)")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="report an interrupted or failed run's results (flagged) instead of "
                        "refusing them")
    p.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"),
                   help="compare two result files or directories (any experiment)")
    p.add_argument("--threshold", type=_threshold, default=5.0, metavar="PCT",
                   help="--compare: a slowdown beyond PCT%% that is significant is a regression "
                        "(default 5)")
    p.add_argument("--alpha", type=_alpha, default=0.05,
                   help="--compare: significance level of the Mann-Whitney U test (default 0.05)")
    return p.parse_args(argv)


def note(msg):
    print("analysis: " + msg, file=sys.stderr)


# ----------------------------------------------------------------------------- loading

class Inputs:
    def __init__(self):
        self.pool = None    # load.ResultSet: the default run
        self.sweep = None   # load.ResultSet: --sweep
        self.matrix = None  # load.ResultSet
        self.timelines = []  # load.ResultSet per process malloc
        self.churns = []     # load.ResultSet per process malloc
        self.replays = []    # load.ResultSet per process malloc
        self.ref = None     # DataFrame: the reference study
        self.ref_path = None

    def sets(self):
        return [rs for rs in (self.pool, self.sweep, self.matrix) if rs is not None] + list(
            self.timelines) + list(self.churns) + list(self.replays)


def _directory(flag, given, default):
    """A results directory: a given one must exist; the default may be missing (skipped)."""
    from analysis.schema import InputError
    path = resolve(given or default)
    if not os.path.isdir(path):
        if given:
            raise InputError(path, "%s: no such directory" % flag)
        note("%s: no directory %s; skipped" % (flag, path))
        return None
    return path


def load_inputs(args):
    from analysis import load
    from analysis.schema import InputError

    inp = Inputs()
    pool_dir = _directory("--pool-results", args.pool_results, DEFAULT_POOL)
    if pool_dir:
        inp.pool = load.load_pool(pool_dir, "pool_exhaustion")
        inp.sweep = load.load_pool(pool_dir, "pool_exhaustion_sweep")
    matrix_dir = _directory("--matrix-results", args.matrix_results, DEFAULT_MATRIX)
    if matrix_dir:
        inp.matrix = load.load_matrix(matrix_dir)
    timeline_dir = _directory("--timeline-results", args.timeline_results, DEFAULT_TIMELINE)
    if timeline_dir:
        inp.timelines = load.load_timeline(timeline_dir)
        if args.timeline_results and not inp.timelines:
            raise InputError(timeline_dir, "--timeline-results: holds no memory_timeline results")
    churn_dir = _directory("--churn-results", args.churn_results, DEFAULT_CHURN)
    if churn_dir:
        inp.churns = load.load_churn(churn_dir)
        if args.churn_results and not inp.churns:
            raise InputError(churn_dir, "--churn-results: holds no persistent_churn results")
    replay_dir = _directory("--replay-results", args.replay_results, DEFAULT_REPLAY)
    if replay_dir:
        inp.replays = load.load_replay(replay_dir)
        if args.replay_results and not inp.replays:
            raise InputError(replay_dir, "--replay-results: holds no replay results")
    # A directory named on the command line must hold what its flag says.
    if args.pool_results and pool_dir and inp.pool is None and inp.sweep is None:
        raise InputError(pool_dir, "--pool-results: holds no pool_exhaustion results")
    if args.matrix_results and matrix_dir and inp.matrix is None and matrix_dir != pool_dir:
        raise InputError(matrix_dir, "--matrix-results: holds no allocator_matrix results")
    if not inp.sets():
        raise InputError(pool_dir or matrix_dir or resolve(DEFAULT_POOL),
                         "no result files found (run bazel run //experiments:pool_exhaustion, "
                         "//experiments:allocator_matrix, //experiments:memory_timeline, "
                         "//experiments:persistent_churn or //experiments:replay first)")
    for rs in inp.sets():
        if not rs.complete:
            if not args.allow_incomplete:
                raise InputError(rs.files[0], "run %s is incomplete (interrupted or failed): "
                                 "finish it with --resume, or pass --allow-incomplete to report "
                                 "it flagged" % rs.metadata.get("run_id", "?"))
            rs.notes.append("INCOMPLETE run (interrupted or failed): its numbers are partial")
    ref = resolve(args.reference)
    if os.path.isfile(ref):
        inp.ref = load.read_reference(ref)
        inp.ref_path = ref
    else:
        note("reference study: no file %s; skipped" % ref)
    return inp


# ----------------------------------------------------------------------------- report

def _img(md, name, caption):
    md.append("![%s](figures/%s.png)\n\n*%s* ([SVG](figures/%s.svg))\n" % (caption, name, caption,
                                                                          name))


def host_banner(md, rows, what):
    """Says, once per section, that `rows` come from several host classes (derive.host_groups) and
    that its times are shown per class; nothing when they come from one."""
    from analysis import derive

    classes = derive.hosts(rows)
    if len(classes) > 1:
        md.append("**%s were measured on %d host classes** (%s: a merged sharded run). Counts are "
                  "merged; times compare only within one class, so every table, figure and "
                  "ranking of times below is one per host class (`Host class` headings; file "
                  "names end in `_host_<class>`).\n"
                  % (what, len(classes), ", ".join("`%s`" % h for h in classes)))


def per_host(md, rows, render):
    """Calls render(rows of one host class, host, file-name suffix) once per host class
    (derive.host_groups), under a `#### Host class` heading when there are several; once, as
    it is, when there is one."""
    from analysis import derive

    for host, group in derive.host_groups(rows):
        if host is not None:
            md.append("#### Host class `%s`\n" % host)
        render(group, host, derive.host_suffix(host))


VERDICTS = {"reproduced": "reproduced", "not_reproduced": "**not reproduced**",
            "not_judged": "not judged"}

# The pool table's columns and their formats: the report_test checks every cell against the file.
POOL_COLUMNS = [
    ("policy", None), ("n", "int"), ("pool_slots", "int"), ("allocations", "int"),
    ("fallback_allocations", "int"), ("fallback_pct", "pct"), ("model_fallback_pct", "pct"),
    ("study_predicted_fallback_pct", "pct"), ("slots_demanded", "int"),
    ("model_slots_demanded", "int"), ("slots_per_entry", "num2"), ("utilization_pct", "pct"),
    ("bytes_per_entry", "num"), ("insert_ns_per_op", "num"), ("query_ns_per_op", "num"),
    ("peak_rss_kb", "int")]


def pool_formats():
    from analysis import tables as T
    kinds = {"int": T.fmt_int, "pct": T.fmt_pct, "num": T.fmt_num,
             "num2": lambda v: T.fmt_num(v, 2)}
    return {c: kinds[k] for c, k in POOL_COLUMNS if k}


def git_head():
    import subprocess
    try:
        out = subprocess.run(["git", "-C", workspace_root(), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(inp, md):
    import pandas as pd
    from analysis import load, tables as T

    md.append("## Where these numbers come from\n")
    head = git_head()
    rows = []
    for rs in inp.sets():
        meta = rs.metadata
        for f in rs.files:
            rows.append({"file": os.path.relpath(f, workspace_root()) if f.startswith(
                workspace_root()) else f, "run": meta.get("run_id", "-"),
                "commit": str(meta.get("git_commit", "-"))[:12],
                "complete": "yes" if rs.complete else "**NO**",
                "age": load.format_age(rs.age()), "process malloc": meta.get("process_malloc", "-")})
    if inp.ref_path:
        rows.append({"file": os.path.relpath(inp.ref_path, workspace_root()), "run": "reference",
                     "commit": "-", "complete": "-", "age": "-", "process malloc": "-"})
    md.append(T.markdown(pd.DataFrame(rows)))
    for rs in inp.sets():
        meta = rs.metadata
        commit = str(meta.get("git_commit", ""))
        if head and commit and not commit.startswith(head):
            md.append("- %s was measured at commit `%s`; the workspace is at `%s`." % (
                rs.kind, commit[:12], head[:12]))
        for n in rs.notes:
            md.append("- **%s**: %s" % (rs.kind, n))
        md.append("- %s: %s, %s, %s; %s sessions, %.1f s; `%s`" % (
            rs.kind, meta.get("cpu_model", "?"), meta.get("compiler", "?"),
            meta.get("build_flags", "?"), meta.get("sessions", "?"),
            meta.get("duration_seconds", float("nan")), " ".join(meta.get("argv", []))))
    md.append("")


# Finding 4's table: the finding4_ratio columns shown, and their formats (report_test checks every
# cell against the file).
FINDING4_COLUMNS = [
    ("n", "int"), ("fallback", None), ("pages", None), ("grid", "yesno"), ("fallback_pct", "pct"),
    ("exhausted_insert_ns", "num"), ("sized_insert_ns", "num"), ("insert_ratio", "ratio"),
    ("insert_ratio_min", "ratio"), ("insert_ratio_max", "ratio"), ("reference_insert_ratio", "ratio"),
    ("query_ratio", "ratio"), ("query_ratio_min", "ratio"), ("query_ratio_max", "ratio"),
    ("reference_query_ratio", "ratio"), ("exhausted_faults_per_insert", "num4"),
    ("sized_faults_per_insert", "num4"), ("sized_anon_huge_kb", "int"),
    ("sized_span_per_live_byte", "num"), ("holds", "yesno")]


def finding4_formats():
    from analysis import tables as T
    kinds = {"int": T.fmt_int, "pct": T.fmt_pct, "num": T.fmt_num, "ratio": T.fmt_ratio,
             "num4": lambda v: T.fmt_num(v, 4), "yesno": lambda v: "yes" if v else "no"}
    return {c: kinds[k] for c, k in FINDING4_COLUMNS if k}


def finding4_section(rs, md, figs, tex, fig_dir):
    from analysis import figures, schema, tables as T

    f4 = rs.sections.get("finding4_map")
    if f4 is None or f4.empty:
        return
    from analysis import derive
    rows = rs.sections["rows"]
    md.append("### Finding 4 by fallback and page policy\n")
    md.append("At each N where the smaller pool (%s slots) sends most allocations to the fallback "
              "and the larger (%s slots) none, both pools re-measured with every fallback and page "
              "policy, the two cells interleaved (one repetition of each in turn). Ratios are "
              "exhausted over sized pool: the median of the per-repetition ratios, and their "
              "smallest and largest; `reference`: the study's (macOS, Apple M4 Pro). Faults: minor "
              "page faults per insert (getrusage); huge KiB: AnonHugePages after the sized pool's "
              "build; span per live byte: the bytes the sized pool handed out per byte live after "
              "its build (a bump pool never reuses a freed slot); `grid`: the run's own "
              "configuration, re-measured like the others. `malloc` is the process's (%s). "
              "Finding 4's verdict is judged in the run's own "
              "configuration (%s) and names every other above.\n"
              % (T.fmt_int(f4["exhausted_pool"].iloc[0]), T.fmt_int(f4["sized_pool"].iloc[0]),
                 f4["process_malloc"].iloc[0],
                 ", ".join(sorted({"%s, %s pages" % (r["fallback"], r["pages"])
                                   for _, r in f4[f4["grid"]].iterrows()})) or "-"))
    prefix = "" if rs.kind == "pool_exhaustion" else "sweep_"

    # A ratio of times measured on two host classes is not a result: named, never shown.
    f4, apart = derive.finding4_hosts(f4, rows)
    for _, r in apart.iterrows():
        md.append("Not compared: finding 4's pair at N = %s (fallback %s, pages %s) has its two "
                  "cells on different host classes (%s).\n"
                  % (T.fmt_int(r["n"]), r["fallback"], r["pages"], ", ".join(r["hosts"])))
    if f4.empty:
        return

    def render(f4, host, suffix):
        table = f4[[c for c, _ in FINDING4_COLUMNS]]
        md.append(T.markdown(table, finding4_formats()))
        tex("%s_finding4%s.tex" % (rs.kind, suffix), T.latex(
            table, finding4_formats(), caption="Finding 4 by fallback and page policy: exhausted "
            "over sized pool%s" % ("" if host is None else " (host class %s)" % host),
            label="tab:%s-finding4%s" % (rs.kind.replace("_", "-"), suffix.replace("_", "-"))))
        name = prefix + "fig_m_finding4_map" + suffix
        figs(figures.finding4_map(f4, fig_dir, name))
        _img(md, name, "(m) finding 4: insert time, exhausted over sized pool, per fallback and "
             "page policy (bars: median paired ratio; whiskers: smallest and largest "
             "repetition), one panel per N; dashed: the study's ratio; dotted: the criterion's "
             "x%.2f%s" % (schema.CONSTANTS["finding4_min_insert_ratio"],
                          "" if host is None else "; host class %s" % host))
    if len(derive.hosts(rows)) > 1:
        # Cells of several classes: each record under the class of its pair, even when the
        # comparable pairs all come from one.
        for host, group in f4.groupby("host", sort=True):
            md.append("#### Host class `%s`\n" % host)
            render(group, host, derive.host_suffix(host))
    else:
        per_host(md, f4, render)


def pool_section(rs, ref, md, figs, tex, fig_dir):
    import pandas as pd
    from analysis import derive, figures, tables as T

    rows = rs.sections["rows"]
    grid = derive.grid(rows)
    md.append("## Pool exhaustion (%s run)\n" % rs.metadata.get("mode", "?"))
    host_banner(md, rows, "The cells")
    md.append("### Findings of the reference study\n")
    findings = rs.sections["findings"]
    if findings.empty:
        md.append("The run recorded no findings.\n")
    else:
        md.append("Judged once by the experiment (`experiments/pool_exhaustion/findings.cc`); "
                  "this report only renders them.\n")
        md.append(T.markdown(pd.DataFrame([{
            "#": int(f["id"]), "finding": f["title"], "verdict": VERDICTS[f["verdict"]],
            "criterion": f["criterion"]} for _, f in findings.iterrows()]),
            align=["r", "l", "l", "l"]))
        for _, f in findings.iterrows():
            md.append("**%d. %s** (%s). %s" % (int(f["id"]), f["title"],
                                                f["verdict"].replace("_", " "), f["summary"]))
            if f["needs"]:
                md.append("Needs: %s" % f["needs"])
            md.extend("- %s" % d for d in f["details"])
            md.append("")

    finding4_section(rs, md, figs, tex, fig_dir)

    if ref is not None:
        md.append("### bump_pool: this run vs the reference study\n")
        md.append("The reference is a Mojo HAMT on an Apple M4 Pro: compare shapes, not absolute "
                  "times. `-` = not measured or not reported.\n")
        names = {"n": "N", "pool_slots": "pool slots",
                 "utilization_pct": "util. % (ours)", "ref_utilization_pct": "util. % (ref)",
                 "fallback_pct": "fallback % (ours)", "ref_fallback_pct": "fallback % (ref)",
                 "insert_ns_per_op": "insert ns (ours)", "ref_insert_ns_per_op": "insert ns (ref)",
                 "query_ns_per_op": "find ns (ours)", "ref_query_ns_per_op": "find ns (ref)"}

        def render(rows, host, suffix):
            ovr = derive.ours_vs_reference(rows, ref)
            if host is not None:  # one class's cells: the reference cells it measured
                ours = [c for c in ("utilization_pct", "fallback_pct", "insert_ns_per_op",
                                    "query_ns_per_op") if c in ovr]
                ovr = ovr[ovr[ours].notna().any(axis=1)] if len(ovr) else ovr
                if ovr.empty:
                    md.append("No reference cell measured on this host class.\n")
                    return
            fm = {"n": T.fmt_int, "pool_slots": T.fmt_int}
            for c in ovr.columns:
                if c not in fm:
                    fm[c] = T.fmt_pct if c.endswith("_pct") else (lambda v: T.fmt_num(v, 0))
            named = ovr.rename(columns=names)
            fm_named = {names[c]: fm[c] for c in ovr.columns}
            md.append(T.markdown(named, fm_named))
            tex("%s%s.tex" % (rs.kind, suffix), T.latex(
                named, fm_named, caption="Pool exhaustion (bump\\_pool): this run vs the "
                "reference study%s" % ("" if host is None else " (host class %s)" % host),
                label="tab:%s%s" % (rs.kind.replace("_", "-"), suffix.replace("_", "-"))))
        per_host(md, rows, render)

    md.append("### Every measured cell\n")
    seeds = int(rows["seed"].max()) + 1
    md.append("Columns as in `%s.csv` (experiments/RESULTS_SCHEMA.md), for hash seed 0%s; `model_`: "
              "the demand model's expectation; `verification` is finding 3's cell. Finding 4's "
              "map cells (role `finding4_map`) are summarized in its table above.\n"
              % (rs.kind, " (the CSV also holds seeds 1..%d, counts only)" % (seeds - 1)
                 if seeds > 1 else ""))
    cols = [c for c, _ in POOL_COLUMNS]
    per_host(md, rows[(rows["seed"] == 0) & (rows["role"] != "finding4_map")],
             lambda cells, _host, _suffix: md.append(T.markdown(
                 cells[["role"] + cols].sort_values(["role", "policy", "pool_slots", "n"]),
                 pool_formats())))

    acc, exhaustion = derive.model_accuracy(rows, rs.sections["capacities"])
    if len(acc):
        md.append("### The demand model against the measurements\n")
        md.append("Per grid cell with a pool: measured means over %d hash seed(s) beside the demand "
                  "model's expectation (`model/demand_model.h`); errors are model / measured - 1, "
                  "fallback gaps model - measured in percentage points. Largest |error|: demand "
                  "%.2f%%, live bytes per entry %.2f%%, fallback share %.2f points%s.\n"
                  % (int(acc["seeds"].max()), acc["demand_error_pct"].abs().max(),
                     acc["bytes_error_pct"].abs().max(), acc["fallback_gap_pp"].abs().max(),
                     "" if exhaustion.empty else ", largest N without fallback %.2f%%"
                     % exhaustion["error_pct"].abs().max()))
        fm = {"pool_slots": T.fmt_int, "n": T.fmt_int, "demand": T.fmt_int,
              "demand_sd": lambda v: T.fmt_num(v, 0), "model_demand": T.fmt_int,
              "demand_error_pct": lambda v: T.fmt_num(v, 2), "bytes_per_entry": T.fmt_num,
              "model_bytes_per_entry": T.fmt_num, "bytes_error_pct": lambda v: T.fmt_num(v, 2),
              "fallback_pct": T.fmt_pct, "model_fallback_pct": T.fmt_pct,
              "fallback_gap_pp": lambda v: T.fmt_num(v, 2)}
        md.append(T.markdown(acc, fm))
        tex("%s_model.tex" % rs.kind, T.latex(acc, fm, caption="The demand model against the "
                                              "measured means over hash seeds",
                                              label="tab:%s-model" % rs.kind.replace("_", "-")))
        if len(exhaustion):
            md.append(T.markdown(exhaustion, {"pool_slots": T.fmt_int, "largest_n": T.fmt_int,
                                              "model_largest_n": T.fmt_int,
                                              "error_pct": lambda v: T.fmt_num(v, 2)}))

    md.append("### Sizing\n")
    recs = rs.sections["recommendations"]
    if len(recs):
        head = float(recs["headroom_pct"].iloc[0])
        wide = recs.assign(col=recs["policy"] + " (" + recs["source"] + ")").pivot(
            index="n", columns="col", values="recommended_slots").reset_index()
        wide = wide.rename(columns={"n": "N"})
        fm = {c: T.fmt_int for c in wide.columns}
        md.append("Recommended pool (8-byte slots) = the demand model's expected demand at that N "
                  "x %.2f (`model`), beside the same from this run's measured demand "
                  "(`measured`); any other N: `bazel run //experiments:demand_model`.\n"
                  % (1 + head / 100))
        md.append(T.markdown(wide, fm))
        tex("%s_sizing.tex" % rs.kind, T.latex(wide, fm, caption="Recommended pool size "
                                               "(8-byte slots) per N, %.0f\\%% headroom" % head,
                                               label="tab:%s-sizing" % rs.kind.replace("_", "-")))
    caps = rs.sections["capacities"]
    if len(caps):
        md.append("Largest N without fallback (measured: keys inserted before the first "
                  "fallback; `>=`: the search limit was reached):\n")
        c = caps.assign(largest_n=[("&ge; " if lb else "") + T.fmt_int(v) for v, lb in
                                   zip(caps["largest_n"], caps["lower_bound"])])
        md.append(T.markdown(c[["policy", "pool_slots", "largest_n"]],
                             {"pool_slots": T.fmt_int}))
    fits = rs.sections["sizing_fits"]
    for _, f in fits.iterrows():
        md.append("- %s: straight line over N = %s..%s (descriptive): demand = %s + %.2f slots "
                  "per entry x N%s; measured N within %.1f%% of it" % (
                      f["policy"], T.fmt_int(f["n_min"]), T.fmt_int(f["n_max"]),
                      T.fmt_int(f["fixed_slots"]), f["slots_per_entry"],
                      "" if f["r_squared"] is None else ", R^2 %.4f" % f["r_squared"],
                      f["max_deviation_pct"]))
    md.append("")

    md.append("### Figures\n")
    prefix = "" if rs.kind == "pool_exhaustion" else "sweep_"
    if (grid["policy"] == "bump_pool").any():
        figs(figures.fallback_share(grid[grid["seed"] == 0], ref if prefix == "" else None,
                                    fig_dir, prefix + "fig_a_fallback_share"))
        _img(md, prefix + "fig_a_fallback_share", "(a) bump_pool fallback share vs N per pool "
             "size, the study's 1 - capacity/demand, and the reference study")
    if (grid["pool_slots"] > 0).any():
        figs(figures.pool_demand(grid[grid["seed"] == 0], fig_dir, prefix + "fig_b_pool_demand"))
        _img(md, prefix + "fig_b_pool_demand", "(b) pool demand and utilization vs N; red lines: "
             "capacity")
    curve = rs.sections["model_curve"]
    if len(curve) and (grid["pool_slots"] > 0).any():
        figs(figures.slots_per_entry_vs_model(grid, curve, fig_dir, prefix + "fig_g_slots_per_entry"))
        _img(md, prefix + "fig_g_slots_per_entry", "(g) slots per entry against N: the demand "
             "model's curve and the measured points (mean and sd over hash seeds)")
        figs(figures.fallback_predicted_vs_measured(grid, fig_dir,
                                                    prefix + "fig_h_fallback_predicted"))
        _img(md, prefix + "fig_h_fallback_predicted", "(h) predicted against measured fallback "
             "share over every pooled cell: the demand model and the study's formula")

    def ns_figure(cells, host, suffix):
        figs(figures.ns_per_op(cells, fig_dir, prefix + "fig_c_ns_per_op" + suffix))
        _img(md, prefix + "fig_c_ns_per_op" + suffix, "(c) insert and find ns/op vs N per "
             "policy%s" % ("" if host is None else ", host class %s" % host))
    per_host(md, grid[grid["seed"] == 0], ns_figure)
    figs(figures.bytes_per_entry(grid[grid["seed"] == 0], fig_dir, prefix + "fig_d_bytes_per_entry"))
    _img(md, prefix + "fig_d_bytes_per_entry", "(d) live allocator bytes per entry per policy")
    if rs.kind == "pool_exhaustion_sweep":
        be = derive.break_even(rows, caps)
        if not be.empty:
            figs(figures.break_even(be, fig_dir))
            _img(md, "fig_f_break_even", "(f) break-even N vs pool size (log-log)")
            md.append(T.markdown(be, {"pool_slots": T.fmt_int, "max_n_without_fallback": T.fmt_int,
                                      "min_n_with_fallback": T.fmt_int,
                                      "measured_max_n": T.fmt_int}))


def matrix_section(rs, md, figs, tex, fig_dir):
    from analysis import derive, figures, tables as T

    mat = rs.sections["rows"]
    md.append("## Allocator matrix\n")
    host_banner(md, mat, "The benchmarks")
    md.append("### Winners per workload (glibc process malloc)\n")

    def winners(mat, host, suffix):
        w = derive.winners(mat)
        if w.empty:
            md.append("No glibc rows.\n")
            return
        multi_t = w["threads"].nunique() > 1
        wcols = ["workload", "n"] + (["threads"] if multi_t else []) + [
            "winner", "ns_per_op", "runner_up", "runner_up_ns_per_op", "malloc_ns_per_op"]
        fm = {"n": T.fmt_int, "ns_per_op": T.fmt_num, "runner_up_ns_per_op": T.fmt_num,
              "malloc_ns_per_op": T.fmt_num}
        md.append("Lowest median ns/op per workload at each N:\n")
        md.append(T.markdown(w[wcols], fm))
        tex("matrix_winners%s.tex" % suffix, T.latex(
            w[wcols], fm, caption="Fastest policy per workload (median ns/op, glibc%s)"
            % ("" if host is None else ", host class %s" % host),
            label="tab:matrix-winners" + suffix.replace("_", "-")))
    per_host(md, mat, winners)
    md.append("### Relative to malloc (glibc)\n")

    def relative(mat, host, suffix):
        wide, _ = derive.ratios_to_malloc(mat)
        if wide.empty:
            md.append("No glibc `malloc` policy rows to normalise by.\n")
            return
        on = "" if host is None else ", host class %s" % host
        figs(figures.matrix_heatmap(wide, fig_dir, "fig_e_matrix_heatmap" + suffix))
        _img(md, "fig_e_matrix_heatmap" + suffix, "(e) median ns/op of every policy x workload "
             "relative to the malloc policy (glibc, same N%s), geometric mean over N; last "
             "column: geometric mean per policy" % on)
        tab = wide.reset_index()
        fm = {c: T.fmt_ratio for c in tab.columns if c != "policy"}
        md.append("Ratio of median ns/op to `malloc` (< 1 is faster); geometric mean over N:\n")
        md.append(T.markdown(tab, fm))
        tex("matrix%s.tex" % suffix, T.latex(tab, fm, caption="Median ns/op relative to the "
                                             "malloc policy (glibc%s), geometric mean over N" % on,
                                             label="tab:matrix" + suffix.replace("_", "-")))
    per_host(md, mat, relative)
    md.append("### Every benchmark\n")
    cols = ["process_malloc", "workload", "policy", "n", "threads", "ns_per_op", "ns_per_op_ci_low",
            "ns_per_op_ci_high", "ns_per_op_cv", "allocs_per_op", "bytes_per_entry", "fallback_pct",
            "error"]
    fm = {"n": T.fmt_int, "ns_per_op": T.fmt_num, "ns_per_op_ci_low": T.fmt_num,
          "ns_per_op_ci_high": T.fmt_num, "ns_per_op_cv": lambda v: T.fmt_num(v, 3),
          "allocs_per_op": lambda v: T.fmt_num(v, 3), "bytes_per_entry": T.fmt_num,
          "fallback_pct": T.fmt_pct}
    per_host(md, mat, lambda rows, _host, _suffix: md.append(T.markdown(rows[cols], fm)))


TIMELINE_COLUMNS = [
    ("process_malloc", None), ("workload", None), ("policy", None), ("n", "int"),
    ("first_fallback_op", "int"), ("slots_demanded", "int"), ("fallback_allocations", "int"),
    ("pool_chunks", "int"), ("peak_live_bytes", "int"), ("anon_rss_start_kb", "int"),
    ("anon_rss_peak_kb", "int"), ("anon_rss_end_kb", "int"), ("retained_kb", "int"),
    ("minor_faults", "int")]


def column_formats(columns):
    """How a section shows its (name, kind) columns: kind "int" with tables.fmt_int, "float" with
    tables.fmt_num, None as the text it is."""
    from analysis import tables as T
    return {c: (T.fmt_int if kind == "int" else T.fmt_num) for c, kind in columns if kind}


GROWING_COLUMNS = [
    ("process_malloc", None), ("n", "int"), ("policy", None), ("pool_slots", "int"),
    ("slots_demanded", "int"),
    ("fallback_allocations", "int"), ("pool_chunks", "int"), ("anon_rss_peak_kb", "int"),
    ("retained_kb", "int"), ("insert_ns_per_op", "float")]


def timeline_section(sets, matrix, md, figs, tex, fig_dir):
    import pandas as pd

    from analysis import derive, figures, tables as T

    cells = pd.concat([rs.sections["cells"] for rs in sets], ignore_index=True)
    samples = pd.concat([rs.sections["samples"] for rs in sets], ignore_index=True)
    md.append("## Memory over time\n")
    md.append("Every cell ran in a fresh process; RSS is anonymous resident memory (code pages "
              "excluded). *Retained* is what the process still holds after the map and its "
              "policy were destroyed.\n")
    for (malloc, n, workload), _ in cells.groupby(["process_malloc", "n", "workload"]):
        figs(figures.memory_timeline(samples, cells, workload, n, malloc, fig_dir))
        _img(md, figures.timeline_figure_name(workload, n, malloc),
             "(i) %s, N = {:,}, process malloc %s: live bytes and pool demand against capacity "
             "(top; dot: first fallback) and anonymous RSS above start (bottom) against map "
             "operations".format(int(n)) % (workload, malloc))
    build = cells[cells["workload"] == "build"]
    if not build.empty:
        retained = build.pivot_table(index=["policy", "n"], columns="process_malloc",
                                     values="retained_kb", aggfunc="first").reset_index()
        fm = {c: T.fmt_int for c in retained.columns if c != "policy"}
        md.append("### KiB kept after teardown (build workload), per policy, N and process "
                  "malloc\n")
        md.append(T.markdown(retained, fm))
        tex("timeline_retained.tex", T.latex(retained, fm, caption="Anonymous RSS (KiB) kept "
                                             "after teardown of a built map",
                                             label="tab:timeline-retained"))
    # Its ns per insert come from the matrix: one table per host class of the matrix's rows.
    live = None if matrix is None else matrix.sections["rows"]
    if not derive.growing_vs_others(cells).empty:
        md.append("### The growing pool against the bump pool, the recycler and malloc (build)\n")
        md.append("A pool that adds chunks instead of falling back, at each N the timeline built "
                  "it: demand, fallbacks, chunks and RSS from the timeline cells (`pool_slots`: a "
                  "fixed pool's capacity, a growing pool's first chunk); ns per insert from the "
                  "allocator matrix's "
                  "insert_seq (one thread, same process malloc and N; its fixed pools are sized to "
                  "fit; `-`: the matrix did not measure that cell, e.g. N = 10M needs `--large`).\n")

        def growing(live, host, suffix):
            table = derive.growing_vs_others(cells, live)
            md.append(T.markdown(table, column_formats(GROWING_COLUMNS)))
            tex("timeline_growing%s.tex" % suffix, T.latex(
                table, column_formats(GROWING_COLUMNS), caption="The growing pool against fixed "
                "pools and malloc (build%s)" % ("" if host is None else
                                                 ", matrix host class %s" % host),
                label="tab:timeline-growing" + suffix.replace("_", "-")))
        per_host(md, live, growing)
    md.append("### Every cell\n")
    cols = [c for c, _ in TIMELINE_COLUMNS]
    md.append(T.markdown(cells[cols], column_formats(TIMELINE_COLUMNS)))


CHURN_COLUMNS = [
    ("process_malloc", None), ("retention", None), ("policy", None), ("n", "int"),
    ("updates", "int"), ("history", "int"), ("allocations_per_update", "float"),
    ("model_path_nodes", "float"),
    ("frees_per_update", "float"), ("slots_per_update", "float"),
    ("update_slots_demanded", "int"), ("updates_to_exhaust", "int"), ("ns_per_update", "float"),
    ("fallback_allocations", "int"), ("live_bytes_end", "int"), ("peak_rss_kb", "int")]


def churn_section(sets, md, figs, tex, fig_dir):
    import pandas as pd

    from analysis import figures, tables as T

    cells = pd.concat([rs.sections["cells"] for rs in sets], ignore_index=True)
    samples = pd.concat([rs.sections["samples"] for rs in sets], ignore_index=True)
    md.append("## Persistent churn\n")
    host_banner(md, cells, "The cells")
    md.append("N keys built, then updates (half overwrites, a quarter inserts, a quarter erases; "
              "fixed seed) on a hamt::PersistentMap keeping its newest version, the last H or a "
              "random H, beside the same updates on hamt::Map in place. Counts are per update, "
              "over the updates alone; each cell ran in a fresh process. *Updates to exhaust*: "
              "how many updates a pool of `pool_slots`, empty at the first update, lasts.\n")
    for (malloc, n), _ in cells.groupby(["process_malloc", "n"]):
        figs(figures.persistent_churn(samples, cells, n, malloc, fig_dir))
        _img(md, figures.churn_figure_name(n, malloc),
             "(j) N = {:,}, process malloc {}: slots demanded against updates per retention "
             "pattern; black: allocated (every policy), colours: each pool's fresh-slot "
             "demand".format(int(n), malloc))
    cols = [c for c, _ in CHURN_COLUMNS]
    fm = column_formats(CHURN_COLUMNS)
    md.append("### Every cell\n")

    def table(cells, host, suffix):
        md.append(T.markdown(cells[cols], fm))
        tex("persistent_churn%s.tex" % suffix, T.latex(
            cells[cols], fm, caption="Persistent churn: allocation per update by retention "
            "pattern and policy%s" % ("" if host is None else " (host class %s)" % host),
            label="tab:persistent-churn" + suffix.replace("_", "-")))
    per_host(md, cells, table)


REPLAY_COLUMNS = [
    ("process_malloc", None), ("trace", None), ("policy", None), ("ns_per_event", "float"),
    ("net_ns_per_alloc", "float"), ("net_ns_per_free", "float"), ("slots_demanded", "int"),
    ("fallback_pct", "float"), ("peak_live_bytes", "int"), ("peak_rss_kb", "int")]


def replay_section(sets, matrix, md, figs, tex, fig_dir):
    import pandas as pd

    from analysis import derive, figures, tables as T

    # replay_row has no host column: its run's class (run_metadata.host) measured every row.
    rows = pd.concat([rs.sections["rows"].assign(host=rs.metadata.get("host")) for rs in sets],
                     ignore_index=True)
    md.append("## Replayed allocation traces\n")
    md.append("Each trace's traffic fed to every policy in a fresh process; costs are net of the "
              "null walk (the replay's own cost). Peak live bytes is the same for every policy "
              "(checked by the replay): the lower bound on memory for the trace.\n")
    for (trace, malloc), _ in rows.groupby(["trace", "process_malloc"]):
        figs(figures.replay_costs(rows, trace, malloc, fig_dir))
        _img(md, figures.replay_figure_name(trace, malloc),
             "(k) replay of %s, process malloc %s: ns per allocation and per free, net of the "
             "null walk, by policy" % (trace, malloc))
    md.append("### Replay against the live allocator matrix\n")
    live_rows = matrix.sections["rows"] if matrix is not None else None
    # A ranking of times from two host classes is not a result: named, never shown.
    apart = derive.replay_live_apart(rows, live_rows)
    for (malloc, trace, workload, n), replay_host, live_hosts in apart:
        md.append("Not compared: the replay of %s (process malloc %s, %s, N = %s) ran on host "
                  "class %s, the live matrix's %s cells on %s.\n"
                  % (trace, malloc, workload, T.fmt_int(n), replay_host, workload,
                     ", ".join(live_hosts)))

    def against(live, host, suffix):
        replayed = derive.replay_on_host(rows, live)
        tau = derive.replay_vs_live(replayed, live)
        if tau.empty:
            if not apart:  # else the lines above said why
                md.append("No replayed workload is also in the live matrix results (same "
                          "workload, N and process malloc, one thread, at least 3 policies in "
                          "both): no ranking to compare.\n")
            return
        md.append("Kendall's tau between the policies' ranking by live ns/op and by replayed "
                  "ns/event (1: the same order), policies without a pool (the matrix sizes its "
                  "pools to fit, the replay uses its --pool_slots):\n")
        md.append(T.markdown(tau, {"n": T.fmt_int, "tau": T.fmt_ratio, "p_value": T.fmt_ratio}))
        for (key, pairs), t in zip(derive.replay_live_pairs(replayed, live), tau["tau"]):
            name = figures.replay_vs_live_figure_name(key) + suffix
            figs(figures.replay_vs_live(pairs, key, t, fig_dir, name))
            _img(md, name, "(l) replay of %s beside the live matrix, process malloc %s%s: each "
                 "policy's live ns per operation against its replayed ns per event"
                 % (key[1], key[0], "" if host is None else ", matrix host class %s" % host))
    per_host(md, live_rows, against)
    cols = [c for c, _ in REPLAY_COLUMNS]
    fm = column_formats(REPLAY_COLUMNS)
    md.append("### Every replayed row\n")
    md.append(T.markdown(rows[cols], fm))
    tex("replay.tex", T.latex(rows[cols], fm, caption="Replayed allocation traces: cost per call "
                              "by policy", label="tab:replay"))


def build_report(inp, out_dir):
    from analysis import output

    fig_dir = os.path.join(out_dir, "figures")
    tab_dir = os.path.join(out_dir, "tables")
    os.makedirs(fig_dir, exist_ok=True)
    os.makedirs(tab_dir, exist_ok=True)
    written = []

    def tex(name, text):
        output.write_text(os.path.join(tab_dir, name), text)
        written.append("tables/" + name)

    def figs(names):
        written.extend("figures/" + n for n in names)

    md = ["# hamt-alloc: allocator report\n"]
    provenance(inp, md)
    for rs in (inp.pool, inp.sweep):
        if rs is not None:
            pool_section(rs, inp.ref, md, figs, tex, fig_dir)
    if inp.matrix is not None:
        matrix_section(inp.matrix, md, figs, tex, fig_dir)
    if inp.timelines:
        timeline_section(inp.timelines, inp.matrix, md, figs, tex, fig_dir)
    if inp.churns:
        churn_section(inp.churns, md, figs, tex, fig_dir)
    if inp.replays:
        replay_section(inp.replays, inp.matrix, md, figs, tex, fig_dir)
    md.append("## Output files\n")
    md.append("\n".join("- [`%s`](%s)" % (f, f) for f in written) + "\n")
    output.write_text(os.path.join(out_dir, "report.md"), "\n".join(md))
    written.insert(0, "report.md")
    return written


# ----------------------------------------------------------------------------- main

def run_compare(args):
    from analysis import compare

    old, new = resolve(args.compare[0]), resolve(args.compare[1])
    comp = compare.compare(old, new, allow_incomplete=args.allow_incomplete)
    text, regressed = compare.format_table(comp, args.threshold, args.alpha)
    sys.stdout.write(text)
    return 1 if regressed else 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _setup_matplotlib()
    from analysis.schema import InputError

    try:
        if args.compare:
            return run_compare(args)
        out_dir = resolve(args.out)
        try:
            os.makedirs(out_dir, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=out_dir, prefix=".probe")
            probe.close()
        except OSError as e:
            note("cannot write to --out %s: %s" % (out_dir, e.strerror or e))
            return 2
        inp = load_inputs(args)
        try:
            written = build_report(inp, out_dir)
        except OSError as e:
            note("cannot write to --out %s: %s" % (out_dir, e.strerror or e))
            return 2
        print("analysis: wrote %d files to %s" % (len(written), out_dir))
        for f in written:
            print("  " + f)
        return 0
    except InputError as e:
        note(str(e))
        return 2


if __name__ == "__main__":
    sys.exit(main())
