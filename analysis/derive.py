"""Derived quantities: the six pool-exhaustion findings, the sizing model, matrix winners and
ratios to glibc malloc. Pure functions of the loaded DataFrames."""

import math

import numpy as np
import pandas as pd
from scipy import stats


def _fmt_int(x):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else "{:,}".format(
        int(round(x)))


def _fmt_pct(x):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else "%.1f%%" % x


def _cell(df, n, pool, policy="bump_pool"):
    if df is None:
        return None
    sel = df[(df["n"] == n) & (df["pool_slots"] == pool)]
    if "policy" in sel.columns:
        sel = sel[sel["policy"] == policy]
    return None if sel.empty else sel.iloc[0]


def _val(row, col):
    if row is None or col not in row.index:
        return float("nan")
    v = row[col]
    return float("nan") if v is None else float(v)


def slots_per_entry(pool, sizing=None):
    """{policy: slots per entry}: from the JSON sizing when given, else the mean of the CSV's
    slots_per_entry over the policy's rows."""
    if sizing and sizing.get("slots_per_entry"):
        return {k: float(v) for k, v in sizing["slots_per_entry"].items()}
    out = {}
    if pool is not None:
        for policy in ("bump_pool", "slot_recycler"):
            v = pool.loc[pool["policy"] == policy, "slots_per_entry"]
            if len(v):
                out[policy] = float(v.mean())
    return out


def predicted_fallback_pct(capacity, spe, n):
    """The simple model: demand = spe * n; everything past capacity falls back."""
    demand = np.asarray(spe * np.asarray(n, dtype=float))
    return np.clip(1.0 - capacity / demand, 0.0, None) * 100.0


def compute_sizing(pool, sizing=None, headroom_pct=20, ns=(1000, 10000, 100000, 1000000,
                                                             10000000)):
    """Returns the sizing dict with the schema's keys, taking the JSON's values when present."""
    if sizing and sizing.get("recommended_pool_slots"):
        out = dict(sizing)
        out.setdefault("source", "pool_exhaustion.json")
        return out
    spe = slots_per_entry(pool)
    if not spe:
        return {}
    sd = {}
    for policy in spe:
        v = pool.loc[pool["policy"] == policy, "slots_per_entry"]
        sd[policy] = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    head = (sizing or {}).get("headroom_pct", headroom_pct)
    pools = sorted(p for p in pool["pool_slots"].unique() if p > 0)
    return {
        "source": "recomputed from pool_exhaustion.csv",
        "slots_per_entry": spe,
        "slots_per_entry_stddev": sd,
        "headroom_pct": head,
        "recommended_pool_slots": [
            dict(n=n, **{p: int(math.ceil(s * n * (1 + head / 100.0))) for p, s in spe.items()})
            for n in ns],
        "max_n_without_fallback": [
            dict(pool_slots=int(c), **{p: int(c // s) for p, s in spe.items()}) for c in pools],
    }


def compute_findings(pool, ref):
    """The six findings of the reference study, each with our value and the reference's.

    Returns a list of dicts: id, title, ours, reference, reproduced (True/False/None)."""
    pools = sorted(int(p) for p in pool["pool_slots"].unique() if p > 0) if pool is not None \
        else []
    ns = sorted(int(n) for n in pool["n"].unique()) if pool is not None else []
    small = 65536 if 65536 in pools else (pools[0] if pools else 65536)
    large = 4194304 if 4194304 in pools else (pools[-1] if pools else 4194304)
    n_lo = 1000 if 1000 in ns else (ns[0] if ns else 1000)
    n_mid = 10000 if 10000 in ns else (ns[len(ns) // 2] if ns else 10000)
    n_hi = 100000 if 100000 in ns else (ns[-1] if ns else 100000)
    bump = pool[pool["policy"] == "bump_pool"] if pool is not None else None
    out = []

    # 1. Demand is linear in N.
    spe = bump["slots_per_entry"] if bump is not None else pd.Series(dtype=float)
    ref_spe = (ref["slots_demanded"] / ref["n"]).dropna() if ref is not None else pd.Series(
        dtype=float)
    rep = None
    if len(spe):
        rep = bool(spe.max() / spe.min() <= 1.25)
    out.append({
        "id": 1, "title": "Pool demand grows linearly with N (constant slots per entry)",
        "ours": "%.1f-%.1f slots/entry" % (spe.min(), spe.max()) if len(spe) else "n/a",
        "reference": "%.1f-%.1f slots/entry" % (ref_spe.min(), ref_spe.max())
        if len(ref_spe) else "n/a",
        "reproduced": rep})

    # 2. Small pool, small N: no fallback.
    o, r = _cell(bump, n_lo, small), _cell(ref, n_lo, small, None)
    fb = _val(o, "fallback_pct")
    out.append({
        "id": 2, "title": "A %s-slot pool holds N=%s without fallback" % (_fmt_int(small),
                                                                         _fmt_int(n_lo)),
        "ours": "%s fallback, %s utilization" % (_fmt_pct(fb), _fmt_pct(_val(o, "utilization_pct"))),
        "reference": "%s fallback, %s utilization" % (_fmt_pct(_val(r, "fallback_pct")),
                                                     _fmt_pct(_val(r, "utilization_pct"))),
        "reproduced": None if math.isnan(fb) else bool(fb == 0)})

    # 3. Past n* most allocations fall back.
    o, r = _cell(bump, n_mid, small), _cell(ref, n_mid, small, None)
    fb = _val(o, "fallback_pct")
    out.append({
        "id": 3, "title": "Past n* = capacity / slots_per_entry, most allocations go to malloc "
                          "(N=%s, %s slots)" % (_fmt_int(n_mid), _fmt_int(small)),
        "ours": "%s fallback" % _fmt_pct(fb),
        "reference": "%s fallback" % _fmt_pct(_val(r, "fallback_pct")),
        "reproduced": None if math.isnan(fb) else bool(fb > 50)})

    # 4. Fallback share follows 1 - capacity/demand.
    o, r = _cell(bump, n_hi, small), _cell(ref, n_hi, small, None)
    fb = _val(o, "fallback_pct")
    pred = float(predicted_fallback_pct(small, _val(o, "slots_per_entry"), n_hi)) if o is not None \
        else float("nan")
    ref_pred = float(predicted_fallback_pct(small, _val(r, "slots_demanded") / n_hi, n_hi)) \
        if r is not None else float("nan")
    out.append({
        "id": 4, "title": "Fallback share follows 1 - capacity/demand (N=%s, %s slots)"
                          % (_fmt_int(n_hi), _fmt_int(small)),
        "ours": "%s (model %s)" % (_fmt_pct(fb), _fmt_pct(pred)),
        "reference": "%s (model %s)" % (_fmt_pct(_val(r, "fallback_pct")), _fmt_pct(ref_pred)),
        "reproduced": None if math.isnan(fb) or math.isnan(pred) else bool(abs(fb - pred) <= 5)})

    # 5. Fallbacks cost insert time.
    os_, ol = _cell(bump, n_hi, small), _cell(bump, n_hi, large)
    rs, rl = _cell(ref, n_hi, small, None), _cell(ref, n_hi, large, None)
    ratio = _val(os_, "insert_ns_per_op") / _val(ol, "insert_ns_per_op")
    ref_ratio = _val(rs, "insert_ns_per_op") / _val(rl, "insert_ns_per_op")
    p = float("nan")
    if os_ is not None and ol is not None and len(os_["insert_ns_reps"]) > 1 \
            and len(ol["insert_ns_reps"]) > 1:
        p = float(stats.mannwhitneyu(os_["insert_ns_reps"], ol["insert_ns_reps"],
                                     alternative="two-sided").pvalue)
    out.append({
        "id": 5, "title": "Fallbacks make inserts slower (N=%s: %s vs %s slots)"
                          % (_fmt_int(n_hi), _fmt_int(small), _fmt_int(large)),
        "ours": ("%.2fx (%.0f vs %.0f ns/op%s)" % (
            ratio, _val(os_, "insert_ns_per_op"), _val(ol, "insert_ns_per_op"),
            "" if math.isnan(p) else ", p=%.3g" % p)) if not math.isnan(ratio) else "n/a",
        "reference": ("%.2fx (%.0f vs %.0f ns/op)" % (
            ref_ratio, _val(rs, "insert_ns_per_op"), _val(rl, "insert_ns_per_op")))
        if not math.isnan(ref_ratio) else "n/a",
        "reproduced": None if math.isnan(ratio) else bool(ratio > 1.1 and (
            math.isnan(p) or p < 0.05))})

    # 6. A large pool avoids fallbacks up to the largest N.
    big = bump[bump["pool_slots"] == large] if bump is not None else None
    o, r = _cell(bump, n_hi, large), _cell(ref, n_hi, large, None)
    out.append({
        "id": 6, "title": "A %s-slot pool serves N=%s without fallback" % (_fmt_int(large),
                                                                          _fmt_int(n_hi)),
        "ours": "%s fallback, %s utilization" % (_fmt_pct(_val(o, "fallback_pct")),
                                                 _fmt_pct(_val(o, "utilization_pct"))),
        "reference": "%s fallback, %s utilization" % (_fmt_pct(_val(r, "fallback_pct")),
                                                     _fmt_pct(_val(r, "utilization_pct"))),
        "reproduced": None if big is None or big.empty else bool(
            (big["fallback_allocations"] == 0).all())})
    return out


def ours_vs_reference(pool, ref):
    """One row per reference (n, pool_slots) cell: bump_pool's numbers next to the reference's."""
    if ref is None:
        return pd.DataFrame()
    rows = []
    for _, r in ref.iterrows():
        o = _cell(pool[pool["policy"] == "bump_pool"], r["n"], r["pool_slots"]) \
            if pool is not None else None
        rows.append({
            "n": int(r["n"]), "pool_slots": int(r["pool_slots"]),
            "utilization_pct": _val(o, "utilization_pct"), "ref_utilization_pct":
                r["utilization_pct"],
            "fallback_pct": _val(o, "fallback_pct"), "ref_fallback_pct": r["fallback_pct"],
            "insert_ns_per_op": _val(o, "insert_ns_per_op"),
            "ref_insert_ns_per_op": r["insert_ns_per_op"],
            "query_ns_per_op": _val(o, "query_ns_per_op"),
            "ref_query_ns_per_op": r["query_ns_per_op"],
        })
    return pd.DataFrame(rows).sort_values(["pool_slots", "n"]).reset_index(drop=True)


def break_even(sweep, sizing=None):
    """Largest N without fallback per (policy, pool_slots), from the sweep rows. The bound is only
    known to lie between that N and the next N measured. When the experiment's JSON `sizing`
    carries `max_n_without_fallback` (keys inserted before the first fallback, measured exactly),
    it is added as `measured_max_n`."""
    exact = {}
    for entry in (sizing or {}).get("max_n_without_fallback", []):
        for policy, value in entry.items():
            if policy != "pool_slots" and not policy.endswith("_is_lower_bound"):
                exact[(policy, int(entry["pool_slots"]))] = value
    rows = []
    for (policy, pool), g in sweep[sweep["pool_slots"] > 0].groupby(["policy", "pool_slots"]):
        ok = g[g["fallback_allocations"] == 0]["n"]
        bad = g[g["fallback_allocations"] > 0]["n"]
        rows.append({"policy": policy, "pool_slots": int(pool),
                     "max_n_without_fallback": int(ok.max()) if len(ok) else np.nan,
                     "min_n_with_fallback": int(bad.min()) if len(bad) else np.nan,
                     "measured_max_n": exact.get((policy, int(pool)), np.nan),
                     "slots_per_entry": float(g["slots_per_entry"].mean())})
    return pd.DataFrame(rows)


# ----- allocator matrix -----

KEY = ["workload", "n", "threads"]


def glibc_rows(matrix):
    pm = matrix["process_malloc"].astype(str)
    return matrix[pm.str.split().str[0] == "glibc"]


def winners(matrix):
    """Lowest median ns_per_op per (workload, n, threads) under glibc."""
    g = glibc_rows(matrix)
    rows = []
    for key, grp in g.groupby(KEY):
        grp = grp.sort_values("ns_per_op")
        best = grp.iloc[0]
        second = grp.iloc[1] if len(grp) > 1 else None
        mal = grp[grp["policy"] == "malloc"]
        rows.append({
            "workload": key[0], "n": int(key[1]), "threads": int(key[2]),
            "winner": best["policy"], "ns_per_op": float(best["ns_per_op"]),
            "runner_up": second["policy"] if second is not None else "",
            "runner_up_ns_per_op": float(second["ns_per_op"]) if second is not None else np.nan,
            "malloc_ns_per_op": float(mal["ns_per_op"].iloc[0]) if len(mal) else np.nan,
        })
    return pd.DataFrame(rows)


def ratios_to_malloc(matrix):
    """Per policy x workload: geometric mean over (n, threads) of ns_per_op / malloc's ns_per_op at
    the same n and threads (glibc only). Returns (wide DataFrame policies x workloads with a
    'geomean' column, long DataFrame of every ratio)."""
    g = glibc_rows(matrix)
    base = g[g["policy"] == "malloc"][KEY + ["ns_per_op"]].rename(columns={"ns_per_op": "base"})
    m = g.merge(base, on=KEY, how="inner")
    if m.empty:
        return pd.DataFrame(), m
    m = m.assign(ratio=m["ns_per_op"] / m["base"])
    wide = m.groupby(["policy", "workload"])["ratio"].apply(
        lambda s: float(stats.gmean(s))).unstack("workload")
    wide["geomean"] = m.groupby("policy")["ratio"].apply(lambda s: float(stats.gmean(s)))
    wide = wide.sort_values("geomean")
    return wide, m
