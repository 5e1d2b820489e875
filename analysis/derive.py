"""Presentation-side views of the records: which cells to put side by side, winners and ratios.

Nothing here judges a finding or recommends a pool: those are records the experiment wrote once
(experiments/pool_exhaustion/findings.cc, sizing.cc). These functions only select and arrange
numbers that are in the files.
"""

import numpy as np
import pandas as pd
from scipy import stats

from analysis import schema


# ----- host classes

def hosts(rows):
    """The host classes (schema: `host`, run_metadata.host) of `rows`, sorted; [] without the
    column."""
    if rows is None or "host" not in rows:
        return []
    return sorted(set(rows["host"].dropna()))


def host_groups(rows):
    """Times compare only within one host class; counts merge across any. The rows of each class
    as (host, rows), sorted by host; [(None, rows)] when they come from one class (or carry no
    host), so that a single-class result reads as it always has. Every table, figure and ranking
    of times is drawn once per group."""
    classes = hosts(rows)
    if len(classes) <= 1:
        return [(None, rows)]
    return [(h, rows[rows["host"] == h]) for h in classes]


def host_suffix(host):
    """The file-name suffix of one host class's figure or table ('' for the only class)."""
    return "" if host is None else "_host_" + "".join(c if c.isalnum() else "_" for c in host)


def _one_host(rows, what):
    """A ranking or ratio of times over rows of several host classes is a comparison across
    classes: refused (split with host_groups first)."""
    if len(hosts(rows)) > 1:
        raise ValueError("%s: rows of several host classes (%s); split them with host_groups"
                         % (what, ", ".join(hosts(rows))))


def grid(rows):
    """The grid cells (role 'grid') of pool_exhaustion rows."""
    return rows[rows["role"] == "grid"]


def ours_vs_reference(rows, ref):
    """One row per reference (n, pool_slots) cell: our bump_pool numbers next to the reference's
    (seed 0; our cell missing: NaN)."""
    if ref is None or rows is None:
        return pd.DataFrame()
    bump = grid(rows)
    bump = bump[(bump["policy"] == "bump_pool") & (bump["seed"] == 0)]
    out = []
    for _, r in ref.iterrows():
        o = bump[(bump["n"] == r["n"]) & (bump["pool_slots"] == r["pool_slots"])]
        o = o.iloc[0] if len(o) else None

        def ours(col):
            return np.nan if o is None or o[col] is None else float(o[col])
        out.append({
            "n": int(r["n"]), "pool_slots": int(r["pool_slots"]),
            "utilization_pct": ours("utilization_pct"), "ref_utilization_pct": r["utilization_pct"],
            "fallback_pct": ours("fallback_pct"), "ref_fallback_pct": r["fallback_pct"],
            "insert_ns_per_op": ours("insert_ns_per_op"),
            "ref_insert_ns_per_op": r["insert_ns_per_op"],
            "query_ns_per_op": ours("query_ns_per_op"), "ref_query_ns_per_op": r["query_ns_per_op"],
        })
    return pd.DataFrame(out).sort_values(["pool_slots", "n"]).reset_index(drop=True)


# finding4_ratio.pages as the pool cells' (prefault, huge_pages).
PAGES = {"lazy": (False, False), "prefault": (True, False), "huge": (False, True),
         "huge_prefault": (True, True)}


def finding4_hosts(f4, rows):
    """finding4_ratio records split by the host class of the two pool cells each record's times
    come from (its finding4_map pair, or the grid's, hash seed 0). Returns (comparable, apart):
    the records whose two cells come from one class, with a `host` column (that class, "unknown"
    when no cell matches; when every cell of `rows` comes from one class, that class, None without
    one), and the records whose exhausted and sized cells come from two classes, with a `hosts`
    column (the classes, sorted): a ratio of times across classes, which is not a result."""
    if len(hosts(rows)) <= 1:
        return (f4.assign(host=(hosts(rows) or [None])[0]),
                f4.iloc[0:0].assign(hosts=pd.Series(dtype=object)))
    cells = rows[(rows["policy"] == "bump_pool") & (rows["seed"] == 0)
                 & rows["role"].isin(["finding4_map", "grid"])]
    labels = []
    for _, r in f4.iterrows():
        prefault, huge = PAGES[r["pages"]]
        c = cells[(cells["n"] == r["n"]) & (cells["fallback"] == r["fallback"])
                  & cells["pool_slots"].isin([r["exhausted_pool"], r["sized_pool"]])
                  & (cells["prefault"] == prefault) & (cells["huge_pages"] == huge)]
        # The map's re-measured pair if there is one, else the grid's cells.
        c = c[c["role"] == "finding4_map"] if (c["role"] == "finding4_map").any() else c
        labels.append(tuple(hosts(c)) or ("unknown",))
    labels = pd.Series(labels, index=f4.index, dtype=object)
    one = labels.map(len) == 1
    return (f4.loc[one].assign(host=labels[one].map(lambda h: h[0])),
            f4.loc[~one].assign(hosts=labels[~one]))


def break_even(rows, capacities):
    """Per (policy, pool_slots) of the sweep, hash seed 0: the largest measured N without
    fallback, the smallest with, and the exactly measured largest N (pool_capacity records)."""
    g_rows = grid(rows)
    g_rows = g_rows[(g_rows["pool_slots"] > 0) & (g_rows["seed"] == 0)]  # as the capacity search
    exact = {}
    if capacities is not None:
        for _, c in capacities.iterrows():
            exact[(c["policy"], int(c["pool_slots"]))] = (int(c["largest_n"]), bool(c["lower_bound"]))
    out = []
    for (policy, pool), g in g_rows.groupby(["policy", "pool_slots"]):
        ok = g[g["fallback_allocations"] == 0]["n"]
        bad = g[g["fallback_allocations"] > 0]["n"]
        measured = exact.get((policy, int(pool)))
        out.append({"policy": policy, "pool_slots": int(pool),
                    "max_n_without_fallback": int(ok.max()) if len(ok) else np.nan,
                    "min_n_with_fallback": int(bad.min()) if len(bad) else np.nan,
                    "measured_max_n": measured[0] if measured else np.nan,
                    "lower_bound": measured[1] if measured else False})
    return pd.DataFrame(out)


def model_accuracy(rows, capacities):
    """The demand model against the measurements, per (policy, pool_slots, n) grid cell: the mean
    over hash seeds of the measured demand, live bytes per entry and fallback share beside the
    model's expectation, and the errors (demand and bytes in %, fallback in percentage points).
    And per pool: the measured largest N without fallback (seed 0) beside the model's."""
    g = grid(rows)
    g = g[g["pool_slots"] > 0]
    # One cell = the record's key (schema.json) but the hash seed; the model predicts the mean.
    key = [k for k in schema.RECORDS["pool_cell"]["key"] if k != "seed"]
    cells = []
    for values, c in g.groupby(key):
        cell = dict(zip(key, values))
        policy, pool, n = cell["policy"], cell["pool_slots"], cell["n"]
        demand = c["slots_demanded"].astype(float)
        model_demand = float(c["model_slots_demanded"].iloc[0])
        cells.append({
            "policy": policy, "fallback": cell["fallback"], "pool_slots": int(pool), "n": int(n),
            "seeds": len(c),
            "demand": demand.mean(), "demand_sd": demand.std(ddof=1) if len(c) > 1 else np.nan,
            "model_demand": model_demand,
            "demand_error_pct": 100 * (model_demand / demand.mean() - 1),
            "bytes_per_entry": c["bytes_per_entry"].mean(),
            "model_bytes_per_entry": float(c["model_bytes_per_entry"].iloc[0]),
            "bytes_error_pct": 100 * (float(c["model_bytes_per_entry"].iloc[0])
                                      / c["bytes_per_entry"].mean() - 1),
            "fallback_pct": c["fallback_pct"].mean(),
            "model_fallback_pct": float(c["model_fallback_pct"].iloc[0]),
            "fallback_gap_pp": float(c["model_fallback_pct"].iloc[0]) - c["fallback_pct"].mean(),
        })
    exhaustion = []
    if capacities is not None and len(capacities):
        for _, cap in capacities.iterrows():
            m = g[(g["policy"] == cap["policy"]) & (g["pool_slots"] == cap["pool_slots"])
                  & (g["fallback"] == cap["fallback"])]
            model_n = m["model_exhaustion_n"].dropna()
            if cap["lower_bound"] or model_n.empty or int(cap["largest_n"]) == 0:
                continue  # a search cut off, no prediction, or a pool too small for any key
            exhaustion.append({
                "policy": cap["policy"], "pool_slots": int(cap["pool_slots"]),
                "largest_n": int(cap["largest_n"]), "model_largest_n": float(model_n.iloc[0]),
                "error_pct": 100 * (float(model_n.iloc[0]) / int(cap["largest_n"]) - 1)})
    return pd.DataFrame(cells), pd.DataFrame(exhaustion)


# ----- allocator matrix

KEY = ["workload", "n", "threads"]


def glibc_rows(matrix):
    timed = matrix[matrix["ns_per_op"].notna()]
    return timed[timed["process_malloc"] == "glibc"]


def winners(matrix):
    """Lowest median ns_per_op per (workload, n, threads) under glibc; rows of one host class."""
    _one_host(matrix, "winners")
    g = glibc_rows(matrix)
    out = []
    for key, grp in g.groupby(KEY):
        grp = grp.sort_values("ns_per_op")
        best = grp.iloc[0]
        second = grp.iloc[1] if len(grp) > 1 else None
        mal = grp[grp["policy"] == "malloc"]
        out.append({
            "workload": key[0], "n": int(key[1]), "threads": int(key[2]),
            "winner": best["policy"], "ns_per_op": float(best["ns_per_op"]),
            "runner_up": second["policy"] if second is not None else "",
            "runner_up_ns_per_op": float(second["ns_per_op"]) if second is not None else np.nan,
            "malloc_ns_per_op": float(mal["ns_per_op"].iloc[0]) if len(mal) else np.nan,
        })
    return pd.DataFrame(out)


def ratios_to_malloc(matrix):
    """Per policy x workload: geometric mean over (n, threads) of ns_per_op / malloc's ns_per_op at
    the same n and threads (glibc only), rows of one host class. Returns (wide DataFrame policies
    x workloads with a 'geomean' column, long DataFrame of every ratio)."""
    _one_host(matrix, "ratios_to_malloc")
    g = glibc_rows(matrix)
    base = g[g["policy"] == "malloc"][KEY + ["ns_per_op"]].rename(columns={"ns_per_op": "base"})
    m = g.merge(base, on=KEY, how="inner")
    if m.empty:
        return pd.DataFrame(), m
    m = m.assign(ratio=m["ns_per_op"].astype(float) / m["base"].astype(float))
    wide = m.groupby(["policy", "workload"])["ratio"].apply(
        lambda s: float(stats.gmean(s))).unstack("workload")
    wide["geomean"] = m.groupby("policy")["ratio"].apply(lambda s: float(stats.gmean(s)))
    wide = wide.sort_values("geomean")
    return wide, m


def replay_live_pairs(replay_rows, matrix_rows):
    """Where a replayed trace and the live allocator matrix (one thread) measured the same
    workload, N and process malloc: the policies both measured, with the live median ns_per_op
    and the replayed ns_per_event. Policies with a pool are left out: the matrix sizes its pools
    to fit the build, the replay uses its --pool_slots, so their traffic differs. A list of
    ((process_malloc, trace, workload, n), DataFrame of policy, live_ns_per_op,
    replay_ns_per_event) with at least 3 policies each."""
    if replay_rows is None or matrix_rows is None or replay_rows.empty or matrix_rows.empty:
        return []
    _one_host(matrix_rows, "replay_live_pairs")
    live = matrix_rows[matrix_rows["threads"] == 1]
    live = live[live["error"].isna() | (live["error"] == "")]  # a failed benchmark has no time
    out = []
    replay = replay_rows[(replay_rows["policy"] != "null") & (replay_rows["pool_slots"] == 0)].copy()
    # The replay records "glibc 2.36"; the matrix "glibc".
    replay["malloc"] = replay["process_malloc"].str.split().str[0]
    for (malloc, trace, workload, n), r in replay.groupby(["malloc", "trace", "workload", "n"]):
        m = live[(live["process_malloc"] == malloc) & (live["workload"] == workload)
                 & (live["n"] == n)]
        both = sorted(set(r["policy"]) & set(m["policy"]))
        if len(both) < 3:
            continue
        pairs = pd.DataFrame({
            "policy": both,
            "live_ns_per_op": [float(m[m["policy"] == p]["ns_per_op"].iloc[0]) for p in both],
            "replay_ns_per_event": [float(r[r["policy"] == p]["ns_per_event"].iloc[0])
                                    for p in both]})
        out.append(((malloc, trace, workload, int(n)), pairs))
    return out


def replay_on_host(replay_rows, matrix_rows):
    """The replayed rows that may be ranked against `matrix_rows` (rows of one host class): those
    whose run (a `host` column: its run_metadata.host) ran on that class, or on an unknown one.
    All of them when either side names no class."""
    classes = hosts(matrix_rows)
    if replay_rows is None or "host" not in replay_rows or not classes:
        return replay_rows
    return replay_rows[replay_rows["host"].isna() | replay_rows["host"].isin(classes)]


def replay_live_apart(replay_rows, matrix_rows):
    """Where a replayed trace and the live matrix measured the same workload, N and process malloc
    (replay_live_pairs) but on different host classes: a ranking of times across classes, not
    compared. ((process_malloc, trace, workload, n), the replay's class, the matrix's classes
    sorted) each, sorted."""
    if replay_rows is None or matrix_rows is None or "host" not in replay_rows:
        return []
    found = {}
    for _, live in host_groups(matrix_rows):
        classes = hosts(live)
        for replay_host, r in replay_rows[replay_rows["host"].notna()].groupby("host"):
            if not classes or replay_host in classes:
                continue
            for key, _ in replay_live_pairs(r, live):
                found.setdefault((key, replay_host), set()).update(classes)
    return [(key, h, sorted(m)) for (key, h), m in sorted(found.items())]


def replay_vs_live(replay_rows, matrix_rows):
    """Kendall's tau between the live and the replayed ranking of the policies
    (replay_live_pairs; 1: the same order). One row per (process_malloc, trace, workload, n):
    policies, tau, p_value. Empty when nothing matches."""
    cols = ["process_malloc", "trace", "workload", "n", "policies", "tau", "p_value"]
    out = []
    for (malloc, trace, workload, n), pairs in replay_live_pairs(replay_rows, matrix_rows):
        tau, p_value = stats.kendalltau(pairs["live_ns_per_op"], pairs["replay_ns_per_event"])
        out.append({"process_malloc": malloc, "trace": trace, "workload": workload, "n": n,
                    "policies": len(pairs), "tau": float(tau), "p_value": float(p_value)})
    return pd.DataFrame(out, columns=cols)


# ----- memory timeline

GROWING_ORDER = ["growing_pool", "growing_recycler", "bump_pool", "slot_recycler", "malloc"]


def growing_vs_others(cells, matrix_rows=None):
    """The growing pools beside the bump pool, the recycler and malloc, per (process malloc, N)
    where the timeline's build workload measured a growing pool: demand, fallbacks, chunks, peak
    and retained RSS from the timeline cells, and the matrix's insert_seq median ns per insert
    (one thread, same process malloc, policy and N; NaN where the matrix did not measure it; the
    matrix sizes its fixed pools to fit the build; matrix rows of one host class)."""
    cols = ["process_malloc", "n", "policy", "pool_slots", "slots_demanded", "fallback_allocations",
            "pool_chunks", "anon_rss_peak_kb", "retained_kb", "insert_ns_per_op"]
    build = cells[cells["workload"] == "build"]
    live = None
    if matrix_rows is not None and not matrix_rows.empty:
        _one_host(matrix_rows, "growing_vs_others")
        live = matrix_rows[(matrix_rows["workload"] == "insert_seq") & (matrix_rows["threads"] == 1)]
    out = []
    for (malloc, n), grp in build.groupby(["process_malloc", "n"], sort=True):
        if not grp["policy"].str.startswith("growing").any():
            continue
        for policy in GROWING_ORDER:
            r = grp[grp["policy"] == policy]
            if r.empty:
                continue
            r = r.iloc[0]
            ns = np.nan
            if live is not None:
                m = live[(live["process_malloc"] == malloc) & (live["policy"] == policy)
                         & (live["n"] == n)]
                if len(m) and not pd.isna(m["ns_per_op"].iloc[0]):
                    ns = float(m["ns_per_op"].iloc[0])
            out.append({"process_malloc": malloc, "n": int(n), "policy": policy,
                        "pool_slots": r["pool_slots"], "slots_demanded": r["slots_demanded"],
                        "fallback_allocations": r["fallback_allocations"],
                        "pool_chunks": r["pool_chunks"], "anon_rss_peak_kb": r["anon_rss_peak_kb"],
                        "retained_kb": r["retained_kb"], "insert_ns_per_op": ns})
    return pd.DataFrame(out, columns=cols)
