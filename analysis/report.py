"""bazel run //analysis:report -- [--pool-results DIR] [--matrix-results DIR] [--out DIR]
bazel run //analysis:report -- --compare OLD NEW [--threshold PCT] [--alpha A]

Turns the result files of experiments/ (contract: experiments/RESULTS_SCHEMA.md) into
report.md, figures/*.png|svg and tables/*.tex under --out. Exit status: 0 ok; 1 --compare found a
significant regression; 2 bad input, bad flags or an unwritable --out."""

import argparse
import glob
import math
import os
import sys
import tempfile

DEFAULT_POOL = "results/pool_exhaustion"
DEFAULT_MATRIX = "results/allocator_matrix"
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


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="analysis",
        description="Result files -> Markdown report, PNG+SVG figures, LaTeX tables; or compare "
                    "two runs. Relative paths are resolved against the workspace root.")
    p.add_argument("--pool-results", default=DEFAULT_POOL, metavar="DIR",
                   help="pool_exhaustion results directory (default %(default)s)")
    p.add_argument("--matrix-results", default=DEFAULT_MATRIX, metavar="DIR",
                   help="allocator_matrix results directory (default %(default)s)")
    p.add_argument("--reference", default=DEFAULT_REFERENCE, metavar="CSV",
                   help="the reference study's figures (default %(default)s)")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help="output directory (default %(default)s)")
    p.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"),
                   help="compare two result files or directories of the same experiment")
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
        self.pool = None  # DataFrame, default run
        self.pool_json = None  # dict: metadata, findings, sizing
        self.sweep = None
        self.sweep_json = None
        self.matrix = None
        self.matrix_contexts = {}  # binary -> GB context
        self.ref = None
        self.files = []  # inputs actually read


def load_inputs(args):
    from analysis import load

    inp = Inputs()
    pool_dir = resolve(args.pool_results)
    if not os.path.isdir(pool_dir):
        note("pool_exhaustion results: no directory %s; skipped" % pool_dir)
    else:
        for csvname, jsonname, attr in (
                (load.POOL_DEFAULT_CSV, load.POOL_DEFAULT_JSON, "pool"),
                (load.POOL_SWEEP_CSV, load.POOL_SWEEP_JSON, "sweep")):
            c, j = os.path.join(pool_dir, csvname), os.path.join(pool_dir, jsonname)
            df, doc = None, None
            if os.path.isfile(j):
                doc = load.read_pool_json(j)
                inp.files.append(j)
            if os.path.isfile(c):
                df = load.read_pool_csv(c)
                inp.files.append(c)
            elif doc is not None and doc["rows"] is not None:
                df = doc["rows"]
            if df is None:
                note("pool_exhaustion results: no %s in %s; skipped" % (
                    csvname if attr == "pool" else csvname + " (--sweep run)", pool_dir))
            setattr(inp, attr, df)
            setattr(inp, attr + "_json", doc)
    matrix_dir = resolve(args.matrix_results)
    if not os.path.isdir(matrix_dir):
        note("allocator_matrix results: no directory %s; skipped" % matrix_dir)
    else:
        import pandas as pd
        frames = []
        for j in sorted(glob.glob(os.path.join(matrix_dir, "*.json"))):
            if not load.is_gbench_json(j):
                continue
            ctx, df = load.read_gbench_json(j)
            inp.matrix_contexts[os.path.splitext(os.path.basename(j))[0]] = ctx
            frames.append(df)
            inp.files.append(j)
        c = os.path.join(matrix_dir, load.MATRIX_CSV)
        if os.path.isfile(c):
            inp.matrix = load.read_matrix_csv(c)
            inp.files.append(c)
        elif frames:
            note("allocator_matrix results: no %s; using the Google Benchmark JSON" %
                 load.MATRIX_CSV)
            inp.matrix = pd.concat(frames, ignore_index=True)
        else:
            note("allocator_matrix results: no %s or benchmark JSON in %s; skipped"
                 % (load.MATRIX_CSV, matrix_dir))
    ref = resolve(args.reference)
    if os.path.isfile(ref):
        inp.ref = load.read_reference_csv(ref)
        inp.files.append(ref)
    else:
        note("reference study: no file %s; skipped" % ref)
    return inp


# ----------------------------------------------------------------------------- report

def _img(md, name, caption):
    md.append("![%s](figures/%s.png)\n\n*%s* ([SVG](figures/%s.svg))\n" % (caption, name, caption,
                                                                          name))


def _yesno(v):
    return "n/a" if v is None else ("yes" if v else "**no**")


def build_report(inp, out_dir):
    from analysis import derive, figures, output, tables as T

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
    md.append("Generated by `bazel run //analysis:report` from:\n")
    for f in inp.files:
        md.append("- `%s`" % f)
    if not inp.files:
        md.append("- (no result files found)")
    md.append("")
    meta = (inp.pool_json or {}).get("metadata") or {}
    if meta and meta.get("complete") is False:
        md.append("> **Warning:** the pool_exhaustion run was interrupted (`complete: false`); "
                  "the numbers below are partial.\n")

    # --- metadata
    md.append("## Run metadata\n")
    rows = []
    for k in ("date", "git_commit", "compiler", "build_flags", "cpu_model", "process_malloc",
              "argv", "complete", "schema_version"):
        if k in meta:
            v = meta[k]
            rows.append(("pool_exhaustion", k, " ".join(map(str, v)) if isinstance(v, list)
                         else str(v)))
    for k, v in meta.items():
        if k not in {r[1] for r in rows}:
            rows.append(("pool_exhaustion", k, str(v)))
    if inp.pool is not None:
        rows.append(("pool_exhaustion.csv", "process_malloc (fallback allocator)",
                     ", ".join(sorted(set(map(str, inp.pool["process_malloc"]))))))
    for binary, ctx in sorted(inp.matrix_contexts.items()):
        for k in ("process_malloc", "date", "host_name", "num_cpus", "mhz_per_cpu",
                  "cpu_scaling_enabled", "library_build_type"):
            if k in ctx:
                rows.append((binary, k, str(ctx[k])))
        for k, v in ctx.items():
            if ("version" in k or "malloc" in k or "allocator" in k or "commit" in k
                    or "compiler" in k) and k != "process_malloc":
                rows.append((binary, k, str(v)))
    if inp.matrix is not None:
        rows.append(("allocator_matrix.csv", "process_malloc identities",
                     ", ".join(sorted(set(map(str, inp.matrix["process_malloc"]))))))
    if rows:
        import pandas as pd
        md.append(T.markdown(pd.DataFrame(rows, columns=["source", "key", "value"])))
    else:
        md.append("No metadata available.\n")

    # --- pool exhaustion
    md.append("## Pool exhaustion\n")
    if inp.pool is None:
        md.append("No pool_exhaustion results.\n")
    else:
        pool = inp.pool
        sizing_json = (inp.pool_json or {}).get("sizing") or {}
        spe = derive.slots_per_entry(pool, sizing_json)
        md.append("### Findings of the reference study\n")
        recomputed = derive.compute_findings(pool, inp.ref)
        jf = (inp.pool_json or {}).get("findings") or []
        import pandas as pd
        if jf:
            md.append("As stated by the experiment (`pool_exhaustion.json` `findings`):\n")
            md.append(T.markdown(pd.DataFrame([{
                "#": f.get("id", ""), "finding": f.get("title", ""),
                "reproduced": _yesno(f.get("reproduced")), "detail": f.get("text", "")}
                for f in jf]), align=["r", "l", "l", "l"]))
            md.append("Cross-check recomputed from the CSV, our numbers next to the reference "
                      "study's:\n")
        else:
            md.append("Recomputed from `pool_exhaustion.csv` (the JSON has no `findings`), our "
                      "numbers next to the reference study's:\n")
        md.append(T.markdown(pd.DataFrame([{
            "#": f["id"], "finding": f["title"], "this run": f["ours"],
            "reference study": f["reference"], "reproduced": _yesno(f["reproduced"])}
            for f in recomputed]), align=["r", "l", "l", "l", "l"]))

        if inp.ref is not None:
            md.append("### bump_pool: this run vs the reference study\n")
            md.append("The reference is a Mojo HAMT on an Apple M4 Pro: compare shapes, not "
                      "absolute times. `-` = not reported.\n")
            ovr = derive.ours_vs_reference(pool, inp.ref)
            fm = {"n": T.fmt_int, "pool_slots": T.fmt_int}
            for c in ovr.columns:
                if c not in fm:
                    fm[c] = T.fmt_pct if c.endswith("_pct") else (lambda v: T.fmt_num(v, 0))
            ovr_named = ovr.rename(columns={
                "n": "N", "pool_slots": "pool slots",
                "utilization_pct": "util. % (ours)", "ref_utilization_pct": "util. % (ref)",
                "fallback_pct": "fallback % (ours)", "ref_fallback_pct": "fallback % (ref)",
                "insert_ns_per_op": "insert ns (ours)", "ref_insert_ns_per_op": "insert ns (ref)",
                "query_ns_per_op": "find ns (ours)", "ref_query_ns_per_op": "find ns (ref)"})
            fm_named = {ovr_named.columns[i]: fm[c] for i, c in enumerate(ovr.columns)}
            md.append(T.markdown(ovr_named, fm_named))
            tex("pool_exhaustion.tex", T.latex(
                ovr_named, fm_named, caption="Pool exhaustion (bump\\_pool): this run vs the "
                "reference study", label="tab:pool-exhaustion"))

        md.append("### All cells\n")
        cols = ["policy", "n", "pool_slots", "allocations", "fallback_pct", "slots_per_entry",
                "utilization_pct", "bytes_per_entry", "insert_ns_per_op", "query_ns_per_op",
                "peak_rss_kb"]
        md.append(T.markdown(pool[cols].sort_values(["policy", "pool_slots", "n"]), {
            "n": T.fmt_int, "pool_slots": T.fmt_int, "allocations": T.fmt_int,
            "fallback_pct": T.fmt_pct, "utilization_pct": T.fmt_pct,
            "slots_per_entry": lambda v: T.fmt_num(v, 2), "bytes_per_entry": T.fmt_num,
            "insert_ns_per_op": T.fmt_num, "query_ns_per_op": T.fmt_num,
            "peak_rss_kb": T.fmt_int}))

        md.append("### Figures\n")
        if (pool["policy"] == "bump_pool").any():
            figs(figures.fallback_share(pool, inp.ref, spe, fig_dir))
            _img(md, "fig_a_fallback_share", "(a) bump_pool fallback share vs N per pool size, "
                 "with the reference study and the 1 - capacity/demand model")
        if (pool["pool_slots"] > 0).any():
            figs(figures.pool_demand(pool, fig_dir))
            _img(md, "fig_b_pool_demand", "(b) pool demand and utilization vs N; red lines: "
                 "capacity")
        figs(figures.ns_per_op(pool, fig_dir))
        _img(md, "fig_c_ns_per_op", "(c) insert and find ns/op vs N per policy")
        figs(figures.bytes_per_entry(pool, fig_dir))
        _img(md, "fig_d_bytes_per_entry", "(d) live allocator bytes per entry per policy")

        md.append("### Sizing model and recommendation\n")
        sizing = derive.compute_sizing(pool, sizing_json)
        if sizing:
            src = sizing.get("source", "pool_exhaustion.json `sizing`")
            sp = sizing.get("slots_per_entry", {})
            sd = sizing.get("slots_per_entry_stddev", {})
            md.append("Source: %s. Model: demand = slots_per_entry x N; pool slots = "
                      "ceil(slots_per_entry x N x (1 + %s%% headroom)); a pool of C slots serves "
                      "N <= n* = C / slots_per_entry without fallback.\n"
                      % (src, sizing.get("headroom_pct", "?")))
            md.append("\n".join("- %s: %.2f slots/entry%s" % (
                p, v, "" if p not in sd or sd[p] is None or (isinstance(sd[p], float) and
                                                             math.isnan(sd[p]))
                else " (stddev %.2f)" % sd[p]) for p, v in sp.items()) + "\n")
            rec = pd.DataFrame(sizing.get("recommended_pool_slots", []))
            if len(rec):
                rec = rec.rename(columns={"n": "N"})
                fm = {c: T.fmt_int for c in rec.columns}
                md.append("**Recommended pool size (slots)** for a target N:\n")
                md.append(T.markdown(rec, fm))
                md.append("Recommendation: size the pool from the expected N with the table "
                          "above; prefer slot_recycler when entries are erased or rebuilt (it "
                          "reuses freed slots and needs far fewer), and treat any nonzero "
                          "fallback_pct as a sign the pool is undersized.\n")
                tex("sizing.tex", T.latex(rec, fm, caption="Recommended pool size (8-byte "
                                          "slots) per target N, %s%% headroom"
                                          % sizing.get("headroom_pct", "?"), label="tab:sizing"))
            mx = pd.DataFrame(sizing.get("max_n_without_fallback", []))
            if len(mx):
                md.append("**Largest N without fallback** per pool size (measured: keys inserted "
                          "before the first fallback):\n")
                md.append(T.markdown(mx, {c: T.fmt_int for c in mx.columns}))
        else:
            md.append("No sizing data.\n")

        md.append("### Break-even sweep\n")
        if inp.sweep is None:
            md.append("No sweep results (`pool_exhaustion_sweep.csv`); figure (f) skipped.\n")
        else:
            be = derive.break_even(inp.sweep, (inp.sweep_json or {}).get("sizing"))
            if be.empty:
                md.append("The sweep has no pooled cells.\n")
            else:
                sweep_spe = derive.slots_per_entry(inp.sweep, ((inp.sweep_json or {})
                                                               .get("sizing")))
                figs(figures.break_even(be, sweep_spe or spe, fig_dir))
                _img(md, "fig_f_break_even", "(f) break-even N vs pool size (log-log) with "
                     "n* = capacity / slots_per_entry")
                md.append(T.markdown(be, {"pool_slots": T.fmt_int,
                                          "max_n_without_fallback": T.fmt_int,
                                          "min_n_with_fallback": T.fmt_int,
                                          "measured_max_n": T.fmt_int,
                                          "slots_per_entry": lambda v: T.fmt_num(v, 2)}))

    # --- matrix
    md.append("## Allocator matrix\n")
    if inp.matrix is None:
        md.append("No allocator_matrix results.\n")
    else:
        import pandas as pd
        mat = inp.matrix
        w = derive.winners(mat)
        md.append("### Winners per workload (glibc process malloc)\n")
        if w.empty:
            md.append("No glibc rows.\n")
        else:
            multi_t = w["threads"].nunique() > 1
            wcols = ["workload", "n"] + (["threads"] if multi_t else []) + [
                "winner", "ns_per_op", "runner_up", "runner_up_ns_per_op", "malloc_ns_per_op"]
            fm = {"n": T.fmt_int, "ns_per_op": T.fmt_num, "runner_up_ns_per_op": T.fmt_num,
                  "malloc_ns_per_op": T.fmt_num}
            md.append("Lowest median ns/op per workload at each N:\n")
            md.append(T.markdown(w[wcols], fm))
            tex("matrix_winners.tex", T.latex(w[wcols], fm, caption="Fastest policy per "
                                              "workload (median ns/op, glibc)",
                                              label="tab:matrix-winners"))
        wide, _ = derive.ratios_to_malloc(mat)
        md.append("### Relative to malloc (glibc)\n")
        if wide.empty:
            md.append("No glibc `malloc` policy rows to normalise by.\n")
        else:
            figs(figures.matrix_heatmap(wide, fig_dir))
            _img(md, "fig_e_matrix_heatmap", "(e) median ns/op of every policy x workload "
                 "relative to the malloc policy (glibc, same N), geometric mean over N; last "
                 "column: geometric mean per policy")
            tab = wide.reset_index()
            fm = {c: T.fmt_ratio for c in tab.columns if c != "policy"}
            md.append("Ratio of median ns/op to `malloc` (< 1 is faster); geometric mean over "
                      "N:\n")
            md.append(T.markdown(tab, fm))
            tex("matrix.tex", T.latex(tab, fm, caption="Median ns/op relative to the malloc "
                                      "policy (glibc), geometric mean over N",
                                      label="tab:matrix"))
        others = sorted(set(map(str, mat["process_malloc"])) - {"glibc"})
        if others:
            md.append("Other process allocators present: %s (winners above are for glibc "
                      "only).\n" % ", ".join(others))

    md.append("## Output files\n")
    md.append("\n".join("- [`%s`](%s)" % (f, f) for f in written) + "\n")
    output.write_text(os.path.join(out_dir, "report.md"), "\n".join(md))
    written.insert(0, "report.md")
    return written


# ----------------------------------------------------------------------------- main

def run_compare(args):
    from analysis import compare

    old, new = resolve(args.compare[0]), resolve(args.compare[1])
    comp = compare.compare(old, new)
    text, regressed = compare.format_table(comp, args.threshold, args.alpha)
    sys.stdout.write(text)
    return 1 if regressed else 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _setup_matplotlib()
    from analysis import load

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
    except load.InputError as e:
        note(str(e))
        return 2


if __name__ == "__main__":
    sys.exit(main())
