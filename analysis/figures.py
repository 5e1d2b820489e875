"""The report's figures, each written as PNG and SVG. matplotlib with the Agg backend."""

import io
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from analysis import output, schema  # noqa: E402

matplotlib.rcParams.update({
    "svg.hashsalt": "hamt-alloc",  # stable ids: identical inputs give identical SVGs
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 9,
    "legend.fontsize": 8,
})

POLICY_COLORS = {"bump_pool": "tab:blue", "slot_recycler": "tab:green", "malloc": "tab:gray"}
POOL_STYLES = ["-", "--", ":", "-."]


def _thousands(x, _pos=None):
    if x >= 1e6 and x % 1e6 == 0:
        return "%dM" % (x // 1e6)
    if x >= 1e3 and x % 1e3 == 0:
        return "%dk" % (x // 1e3)
    return "%g" % x


def _save(fig, out_dir, name):
    """Writes name.png and name.svg atomically; returns the two file names."""
    names = []
    for ext, kw in (("png", {"metadata": {"Software": None}}),
                    ("svg", {"metadata": {"Date": None, "Creator": None}})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, bbox_inches="tight", **kw)
        output.write_bytes(os.path.join(out_dir, name + "." + ext), buf.getvalue())
        names.append(name + "." + ext)
    plt.close(fig)
    return names


def _pool_label(pool_slots):
    return "no pool" if pool_slots == 0 else "{:,} slots".format(int(pool_slots))


def fallback_share(pool, ref, out_dir, name="fig_a_fallback_share"):
    """(a) bump_pool fallback share vs N per pool size, with the study's formula 1 - C/D applied to
    each cell's own demand, and the reference study's figures."""
    bump = pool[pool["policy"] == "bump_pool"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    pools = sorted(bump["pool_slots"].unique())
    colors = plt.cm.tab10(np.arange(len(pools)))
    for color, p in zip(colors, pools):
        g = bump[bump["pool_slots"] == p].sort_values("n")
        ax.plot(g["n"], g["fallback_pct"], "o-", color=color,
                label="measured, %s" % _pool_label(p))
        ax.plot(g["n"], g["study_predicted_fallback_pct"].astype(float), "x:", color=color,
                label="1 - capacity/demand, %s" % _pool_label(p))
        if ref is not None:
            r = ref[(ref["pool_slots"] == p) & ref["fallback_pct"].notna()]
            if len(r):
                ax.plot(r["n"], r["fallback_pct"], "s", mfc="none", ms=8, mew=1.5, color=color,
                        label="reference study, %s" % _pool_label(p))
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_ylim(-3, 103)
    ax.set_xlabel("N (entries inserted)")
    ax.set_ylabel("fallback share (% of allocations sent to malloc)")
    ax.set_title("bump_pool: fallback share vs N")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out_dir, name)


def pool_demand(pool, out_dir, name="fig_b_pool_demand"):
    """(b) slots demanded and utilization vs N, capacity lines."""
    pooled = pool[pool["pool_slots"] > 0]
    pools = sorted(pooled["pool_slots"].unique())
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    for policy, g in pooled.groupby("policy"):
        # demand does not depend on the pool size (it includes fallbacks): one line per policy
        d = g.groupby("n")["slots_demanded"].median()
        ax1.plot(d.index, d.values, "o-", color=POLICY_COLORS.get(policy), label=policy)
        for style, p in zip(POOL_STYLES, pools):
            u = g[g["pool_slots"] == p].sort_values("n")
            ax2.plot(u["n"], u["utilization_pct"], "o" + style, color=POLICY_COLORS.get(policy),
                     label="%s, %s" % (policy, _pool_label(p)))
    for style, p in zip(POOL_STYLES, pools):
        ax1.axhline(p, color="tab:red", ls=style, lw=1,
                    label="capacity %s" % _pool_label(p))
    ax2.axhline(100, color="tab:red", lw=1, label="100% = pool full")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.set_xlabel("N (entries inserted)")
    ax1.set_ylabel("pool demand (8-byte slots, incl. fallbacks)")
    ax1.set_title("Pool demand vs N")
    ax2.set_ylabel("utilization (demand / capacity, %)")
    ax2.set_title("Pool utilization vs N")
    ax1.legend(loc="upper left")
    ax2.legend(loc="upper left")
    fig.tight_layout()
    return _save(fig, out_dir, name)


def _policy_lines(ax, pool, col):
    pools = sorted(p for p in pool["pool_slots"].unique() if p > 0)
    for (policy, p), g in pool.groupby(["policy", "pool_slots"]):
        g = g.sort_values("n")
        style = "-" if p == 0 else POOL_STYLES[pools.index(p) % len(POOL_STYLES)]
        label = policy if p == 0 else "%s, %s" % (policy, _pool_label(p))
        ax.plot(g["n"], g[col], "o" + style, color=POLICY_COLORS.get(policy), label=label)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel("N (entries inserted)")


def ns_per_op(pool, out_dir, name="fig_c_ns_per_op"):
    """(c) insert and find (query) ns/op vs N per policy."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    _policy_lines(ax1, pool, "insert_ns_per_op")
    _policy_lines(ax2, pool, "query_ns_per_op")
    ax1.set_ylabel("insert time (ns per key, median)")
    ax1.set_title("Insert")
    ax2.set_ylabel("find time (ns per key, median)")
    ax2.set_title("Find (query)")
    for ax in (ax1, ax2):
        ax.set_ylim(bottom=0)
    ax1.legend(loc="upper left")
    fig.tight_layout()
    return _save(fig, out_dir, name)


def bytes_per_entry(pool, out_dir, name="fig_d_bytes_per_entry"):
    """(d) allocator bytes live per entry vs N per policy."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _policy_lines(ax, pool, "bytes_per_entry")
    ax.set_yscale("log")
    ax.set_ylabel("live allocator bytes per entry (B)")
    ax.set_title("Memory per entry after the build")
    ax.legend(loc="best")
    return _save(fig, out_dir, name)


def matrix_heatmap(wide, out_dir, name="fig_e_matrix_heatmap"):
    """(e) policy x workload ratio of median ns/op to malloc (glibc), geometric mean column."""
    data = wide.values.astype(float)
    rows, cols = list(wide.index), list(wide.columns)
    fig, ax = plt.subplots(figsize=(1.0 + 0.85 * len(cols), 1.0 + 0.42 * len(rows)))
    finite = data[np.isfinite(data)]
    lo = min(finite.min(), 0.99) if finite.size else 0.5
    hi = max(finite.max(), 1.01) if finite.size else 2.0
    norm = TwoSlopeNorm(vmin=lo, vcenter=1.0, vmax=hi)
    im = ax.imshow(np.ma.masked_invalid(data), cmap="RdYlGn_r", norm=norm, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = data[i, j]
            if np.isfinite(v):
                ax.text(j, i, "%.2f" % v, ha="center", va="center", fontsize=8,
                        fontweight="bold" if cols[j] == "geomean" else "normal")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=35, ha="right")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows)
    ax.grid(False)
    if "geomean" in cols:
        ax.axvline(cols.index("geomean") - 0.5, color="black", lw=1.5)
    ax.set_xlabel("workload")
    ax.set_ylabel("policy")
    ax.set_title("Median ns/op relative to malloc (glibc, same N; < 1 is faster)")
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("ratio of median ns/op to malloc")
    return _save(fig, out_dir, name)


def break_even(be, out_dir, name="fig_f_break_even"):
    """(f) largest N without fallback vs pool size, log-log: measured exactly (keys inserted before
    the first fallback), and the sweep's grid bracket around it."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for policy, g in be.groupby("policy"):
        g = g.sort_values("pool_slots")
        color = POLICY_COLORS.get(policy)
        exact = g[g["measured_max_n"].notna()]
        if len(exact):
            ax.plot(exact["pool_slots"], exact["measured_max_n"], "o-", color=color, ms=7,
                    label="%s: largest N without fallback (measured exactly)" % policy)
        hi = g["min_n_with_fallback"]
        ok = hi.notna() & g["max_n_without_fallback"].notna()
        if ok.any():
            ax.vlines(g["pool_slots"][ok], g["max_n_without_fallback"][ok], hi[ok], color=color,
                      alpha=0.35, lw=4,
                      label="%s: sweep grid, last N without to first N with fallback" % policy)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel("pool capacity (8-byte slots)")
    ax.set_ylabel("break-even N (entries)")
    ax.set_title("Break-even: largest N a pool serves without fallback")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out_dir, name)


def slots_per_entry_vs_model(rows, curve, out_dir, name="fig_g_slots_per_entry"):
    """(g) slots per entry against N (log axis): the demand model's curve with its log-periodic
    oscillation, and the measured points, mean and standard deviation over the hash seeds."""
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    ax.plot(curve["n"], curve["bump_slots_per_entry"], "-", color=POLICY_COLORS.get("bump_pool"),
            label="bump_pool: model")
    ax.plot(curve["n"], curve["recycler_slots_per_entry"], "-",
            color=POLICY_COLORS.get("slot_recycler"), label="slot_recycler: model")
    for policy in ("bump_pool", "slot_recycler"):
        g = rows[(rows["policy"] == policy) & (rows["pool_slots"] > 0)]
        if policy == "slot_recycler":
            g = g[g["fallback_allocations"] == 0]  # an exhausted recycler's demand is not its own
        if g.empty:
            continue
        # Demand does not depend on the pool for these rows: one point per (N, seed).
        per_seed = g.groupby(["n", "seed"])["slots_per_entry"].first().reset_index()
        stats = per_seed.groupby("n")["slots_per_entry"].agg(["mean", "std", "count"]).reset_index()
        ax.errorbar(stats["n"], stats["mean"], yerr=stats["std"].fillna(0), fmt="o", capsize=3,
                    color=POLICY_COLORS.get(policy),
                    label="%s: measured (mean, sd over %d seeds)" % (policy,
                                                                     int(stats["count"].max())))
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel("N (entries inserted)")
    ax.set_ylabel("pool slots demanded per entry")
    ax.set_ylim(bottom=0)
    ax.set_title("Slots per entry: the demand model and the measurements")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out_dir, name)


def fallback_predicted_vs_measured(rows, out_dir, name="fig_h_fallback_predicted"):
    """(h) predicted against measured fallback share over every pooled cell: the demand model and
    the study's 1 - capacity/demand; the diagonal is a perfect prediction."""
    g = rows[rows["pool_slots"] > 0]
    means = g.groupby(["policy", "n", "pool_slots"]).agg(
        measured=("fallback_pct", "mean"), model=("model_fallback_pct", "first"),
        formula=("study_predicted_fallback_pct", "mean")).reset_index()
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    ax.plot([0, 100], [0, 100], "-", color="0.6", lw=1)
    for policy, p in means.groupby("policy"):
        ax.plot(p["measured"], p["model"], "o", color=POLICY_COLORS.get(policy), ms=5,
                label="%s: demand model" % policy)
        if policy == "bump_pool":
            ax.plot(p["measured"], p["formula"], "x", color="0.3", ms=5,
                    label="bump_pool: the study's 1 - capacity/demand")
    ax.set_xlim(-3, 103)
    ax.set_ylim(-3, 103)
    ax.set_xlabel("measured fallback share (%, mean over seeds)")
    ax.set_ylabel("predicted fallback share (%)")
    ax.set_title("Fallback share: predicted against measured")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, out_dir, name)


PAGES_COLORS = dict(zip(
    next(f["values"] for f in schema.RECORDS["finding4_ratio"]["fields"] if f["name"] == "pages"),
    ["tab:orange", "tab:blue", "tab:green", "tab:olive"]))


def finding4_map(f4, out_dir, name="fig_m_finding4_map"):
    """(m) finding 4's insert ratio (exhausted over sized pool) per fallback (x) and page policy
    (bars), one panel per N; whiskers: smallest and largest repetition; the study's ratio and the
    criterion's threshold as lines."""
    ns = sorted(f4["n"].unique())
    fallbacks = list(dict.fromkeys(f4["fallback"]))
    pages = [p for p in PAGES_COLORS if p in set(f4["pages"])]
    fig, axes = plt.subplots(1, len(ns), figsize=(3.4 * len(ns) + 1, 3.6), squeeze=False,
                             sharey=True)
    width = 0.8 / max(1, len(pages))
    for ax, n in zip(axes[0], ns):
        at_n = f4[f4["n"] == n]
        labelled = set()
        for j, p in enumerate(pages):
            for i, fb in enumerate(fallbacks):
                r = at_n[(at_n["fallback"] == fb) & (at_n["pages"] == p)]
                if r.empty:
                    continue
                r = r.iloc[0]
                x = i - 0.4 + width * (j + 0.5)
                ax.bar(x, r["insert_ratio"], width, color=PAGES_COLORS[p],
                       edgecolor="black" if r["grid"] else "none",
                       label=None if p in labelled else p + " pages")
                labelled.add(p)
                ax.errorbar(x, r["insert_ratio"], yerr=[[r["insert_ratio"] - r["insert_ratio_min"]],
                                                       [r["insert_ratio_max"] - r["insert_ratio"]]],
                            fmt="none", ecolor="black", capsize=2, linewidth=0.8)
        refs = at_n["reference_insert_ratio"].dropna()
        if len(refs):
            ax.axhline(float(refs.iloc[0]), color="tab:red", linestyle="--", linewidth=1,
                       label="study x%.2f" % float(refs.iloc[0]))
        criterion = schema.CONSTANTS["finding4_min_insert_ratio"]
        ax.axhline(criterion, color="black", linestyle=":", linewidth=1, label="x%.2f" % criterion)
        ax.axhline(1.0, color="gray", linewidth=0.6)
        ax.set_xticks(range(len(fallbacks)))
        ax.set_xticklabels(fallbacks, rotation=20)
        ax.set_title("N = {:,} ({:.0f}% fallback)".format(int(n),
                                                           float(at_n["fallback_pct"].iloc[0])))
        ax.set_yscale("log")  # ratios: x2 and x0.5 are as far from 1
        ax.set_yticks([0.25, 0.5, 1, 2, 4, 8])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: "x%g" % v))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
        if len(refs):
            ax.legend(loc="upper left")
    if not any(len(ax.get_legend_handles_labels()[1]) and ax.get_legend() for ax in axes[0]):
        axes[0][0].legend(loc="upper left")
    axes[0][0].set_ylabel("insert ns, exhausted / sized pool")
    fig.suptitle("Finding 4 by fallback (x) and page policy (colour); outlined: the run's own")
    return _save(fig, out_dir, name)


def memory_timeline(samples, cells, workload, n, malloc, out_dir, name=None):
    """(i) Memory against map operations for one workload and process malloc. Top: the bytes the
    map holds (the same for every policy) and, per pool policy, the fresh slots it has demanded
    (as bytes) against its capacity (dashed; a growing pool's steps up), a dot where fallback
    began. Bottom: the process's anonymous RSS above its start, every policy."""
    name = name or timeline_figure_name(workload, n, malloc)
    s = samples[(samples["workload"] == workload) & (samples["n"] == n)
                & (samples["process_malloc"] == malloc)]
    c = cells[(cells["workload"] == workload) & (cells["n"] == n)
              & (cells["process_malloc"] == malloc)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.2, 7.6), sharex=True)
    colors = plt.get_cmap("tab20").colors
    mib = 1024.0 * 1024.0
    first_policy = s[s["policy"] == c["policy"].iloc[0]].sort_values("op_index")
    top.plot(first_policy["op_index"], first_policy["live_bytes"] / mib, color="black", lw=1.6,
             label="live bytes (every policy)")
    for i, policy in enumerate(c["policy"]):
        color = colors[i % len(colors)]
        p = s[s["policy"] == policy].sort_values("op_index")
        bottom.plot(p["op_index"], p["anon_rss_growth_kb"] / 1024.0, color=color, lw=1.2,
                    label=policy)
        cell = c[c["policy"] == policy].iloc[0]
        if cell["pool_slots"] is None or np.isnan(cell["pool_slots"]):
            continue  # no pool
        demand = p["slots_demanded"] * 8 / mib
        top.plot(p["op_index"], demand, color=color, lw=1.2, label=policy + " demand")
        top.plot(p["op_index"], p["capacity_slots"] * 8 / mib, color=color, ls="--", lw=0.8)
        first = cell["first_fallback_op"]
        if first is not None and not np.isnan(first):
            # Demand at the first fallback, interpolated between the samples around it.
            y = np.interp(first, p["op_index"], p["slots_demanded"] * 8 / mib)
            top.plot([first], [y], "o", color=color, ms=5)
    top.set_yscale("log")
    top.set_ylabel("MiB (log): demand as 8-byte slots; dashed: capacity")
    bottom.set_ylabel("anonymous RSS above start (MiB)")
    bottom.set_xlabel("map operations")
    bottom.xaxis.set_major_formatter(FuncFormatter(_thousands))
    top.set_title("%s, N = {:,}, process malloc %s".format(int(n)) % (workload, malloc))
    top.legend(loc="lower right")
    bottom.legend(ncol=2, loc="upper left")
    return _save(fig, out_dir, name)


CHURN_RETENTIONS = ("in_place", "newest", "last_h", "random")


def persistent_churn(samples, cells, n, malloc, out_dir, name=None):
    """(j) Slots demanded against updates, one panel per retention pattern, for one N and process
    malloc: black, the slots the updates allocated (bytes / 8; the same for every policy); one
    line per pool policy, the fresh slots its pool demanded (below black where it reuses freed
    blocks); dotted, the pools' capacity (the run's --pool_slots)."""
    name = name or churn_figure_name(n, malloc)
    s = samples[(samples["n"] == n) & (samples["process_malloc"] == malloc)]
    c = cells[(cells["n"] == n) & (cells["process_malloc"] == malloc)]
    retentions = [r for r in CHURN_RETENTIONS if r in set(c["retention"])]
    cols = 2 if len(retentions) > 1 else 1
    rows = (len(retentions) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(7.2, 3.2 * rows + 0.6), sharex=True,
                             sharey=True, squeeze=False)
    colors = plt.get_cmap("tab10").colors
    pools = sorted(set(c.loc[c["pool_slots"].notna(), "policy"]))
    capacity = c["pool_slots"].dropna().max() if pools else None
    for ax, retention in zip(axes.flat, retentions):
        r = s[s["retention"] == retention]
        any_policy = r[r["policy"] == r["policy"].iloc[0]].sort_values("update_index")
        ax.plot(any_policy["update_index"], any_policy["allocated_slots"].clip(lower=1),
                color="black", lw=1.6, label="allocated (every policy)")
        for i, policy in enumerate(pools):
            p = r[r["policy"] == policy].sort_values("update_index")
            if p.empty:
                continue
            ax.plot(p["update_index"], p["pool_slots_demanded"].clip(lower=1),
                    color=colors[i % len(colors)], lw=1.1, label=policy + " pool demand")
        if capacity:
            ax.axhline(capacity, color="grey", ls=":", lw=1)
        ax.set_yscale("log")
        ax.set_title(retention, fontsize=9)
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    for ax in axes.flat[len(retentions):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("8-byte slots (log)")
    for ax in axes[-1, :]:
        ax.set_xlabel("updates")
    axes.flat[0].legend(loc="lower right", fontsize=7)
    fig.suptitle("Persistent churn, N = {:,}, process malloc {}: slots demanded against "
                 "updates{}".format(int(n), malloc, " (dotted: the pool, {:,} slots)".format(
                     int(capacity)) if capacity else ""), fontsize=10)
    return _save(fig, out_dir, name)


def replay_costs(rows, trace, malloc, out_dir, name=None):
    """(k) One replayed trace under one process malloc: every policy's cost per allocation and
    per free, net of the null walk (the replay's own cost), as bars."""
    name = name or replay_figure_name(trace, malloc)
    r = rows[(rows["trace"] == trace) & (rows["process_malloc"] == malloc)
             & (rows["policy"] != "null")].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    x = np.arange(len(r))
    ax.bar(x - 0.2, r["net_ns_per_alloc"].astype(float), 0.4, label="allocation", color="#4477aa")
    ax.bar(x + 0.2, r["net_ns_per_free"].astype(float), 0.4, label="free", color="#ee6677")
    ax.set_xticks(x)
    ax.set_xticklabels(r["policy"], rotation=45, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ns per call, net of the null walk (log)")
    ax.set_title("Replay of %s, process malloc %s" % (trace, malloc), fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, out_dir, name)


def replay_vs_live(pairs, key, tau, out_dir, name=None):
    """(l) The live run beside the replay: each policy's live ns per operation (the allocator
    matrix) against its replayed ns per event, log-log; a shared ranking puts the points in
    ascending order along both axes (`tau`: Kendall's tau of the two rankings)."""
    malloc, trace, workload, n = key
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.scatter(pairs["live_ns_per_op"], pairs["replay_ns_per_event"], color="#4477aa", zorder=3)
    for _, p in pairs.iterrows():
        ax.annotate(p["policy"], (p["live_ns_per_op"], p["replay_ns_per_event"]), fontsize=7,
                    xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("live: ns per operation (allocator matrix, %s, N = %s)" % (workload, f"{n:,}"))
    ax.set_ylabel("replayed: ns per event (%s)" % trace)
    ax.set_title("Replay beside the live run, process malloc %s: Kendall's tau %s"
                 % (malloc, "%.2f" % tau if math.isfinite(tau) else "undefined (ties)"),
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, out_dir, name or replay_vs_live_figure_name(key))


def replay_vs_live_figure_name(key):
    malloc, trace, _, _ = key
    return "fig_l_replay_vs_live_%s_%s" % (_trace_stem(trace), malloc.split()[0])


def _trace_stem(trace):
    return "".join(c if c.isalnum() else "_" for c in trace.rsplit(".", 1)[0])


def replay_figure_name(trace, malloc):
    return "fig_k_replay_%s_%s" % (_trace_stem(trace), malloc.split()[0])


def churn_figure_name(n, malloc):
    return "fig_j_churn_%d_%s" % (int(n), malloc)


def timeline_figure_name(workload, n, malloc):
    return "fig_i_timeline_%s_%d_%s" % (workload, int(n), malloc)
