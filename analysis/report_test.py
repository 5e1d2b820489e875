"""The report on the experiments' real output: the binaries run on tiny configurations into the
test's temporary directory, then the report reads what they wrote. Every number the report shows
must equal the file's; every finding's verdict must be the same in the console, the JSON and
report.md; the matrix must read the same with or without its merged CSV."""

import os
import re
import shutil
import unittest

import pandas as pd

from analysis import load, report, schema, testing
from analysis.testing import markdown_table


class RealOutputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pool_dir = testing.tmpdir("pool")
        cls.console = testing.check_run(testing.POOL_BINARY, testing.POOL_ARGS + [
            "--quiet", "--out=" + cls.pool_dir])
        testing.check_run(testing.POOL_BINARY, testing.SWEEP_ARGS + ["--quiet", "--out=" + cls.pool_dir])
        cls.matrix_dir = testing.tmpdir("matrix")
        testing.check_run(testing.MATRIX_DRIVER, testing.MATRIX_ARGS + ["--out=" + cls.matrix_dir])
        cls.out = testing.tmpdir("report")
        rc, _, err = testing.run(["--pool-results", cls.pool_dir, "--matrix-results", cls.matrix_dir,
                                  "--reference", testing.runfile(*testing.REFERENCE),
                                  "--out", cls.out])
        assert rc == 0, err
        with open(os.path.join(cls.out, "report.md"), encoding="utf-8") as f:
            cls.md = f.read()

    def test_every_pool_number_equals_the_file(self):
        for stem, heading in (("pool_exhaustion", "## Pool exhaustion (default run)"),
                              ("pool_exhaustion_sweep", "## Pool exhaustion (sweep run)")):
            rows = schema.read_csv(os.path.join(self.pool_dir, stem + ".csv"), "pool_cell")
            # The table shows hash seed 0; the other seeds feed the figures' spread.
            self.assertGreater(rows["seed"].max(), 0, "the test runs should cover several seeds")
            # Finding 4's map cells are in its own table (test_every_finding4_number_...).
            rows = rows[(rows["seed"] == 0) & (rows["role"] != "finding4_map")]
            section = self.md[self.md.index(heading):]
            header, table = markdown_table(section, "### Every measured cell")
            self.assertEqual(header, ["role"] + [c for c, _ in report.POOL_COLUMNS])
            self.assertEqual(len(table), len(rows))
            formats = report.pool_formats()
            shown = {(r[0], r[1], r[2], r[3]): r for r in table}
            for _, row in rows.iterrows():
                key = (row["role"], row["policy"], formats["n"](row["n"]),
                       formats["pool_slots"](row["pool_slots"]))
                self.assertIn(key, shown, stem)
                for i, (col, _) in enumerate(report.POOL_COLUMNS):
                    expected = formats[col](row[col]) if col in formats else str(row[col])
                    self.assertEqual(shown[key][i + 1], expected, "%s %s %s" % (stem, key, col))
                    # Nothing is silently empty: '-' only where the file's value is null.
                    if shown[key][i + 1] == "-":
                        self.assertTrue(pd.isna(row[col]), "%s %s %s" % (stem, key, col))

    def test_every_finding4_number_equals_the_file(self):
        for stem, heading in (("pool_exhaustion", "## Pool exhaustion (default run)"),
                              ("pool_exhaustion_sweep", "## Pool exhaustion (sweep run)")):
            records = load.load_pool(self.pool_dir, stem).sections["finding4_map"]
            self.assertGreater(len(records), 1, stem)
            self.assertEqual(int(records["grid"].sum()), records["n"].nunique(), stem)
            section = self.md[self.md.index(heading):]
            header, table = markdown_table(section, "### Finding 4 by fallback and page policy")
            self.assertEqual(header, [c for c, _ in report.FINDING4_COLUMNS])
            self.assertEqual(len(table), len(records), stem)
            formats = report.finding4_formats()
            names = [c for c, _ in report.FINDING4_COLUMNS]
            for shown, (_, row) in zip(table, records.iterrows()):
                for i, col in enumerate(names):
                    expected = formats[col](row[col]) if col in formats else str(row[col])
                    self.assertEqual(shown[i], expected, "%s %s" % (stem, col))
                # A few cells spelled out, not through the report's own formats.
                self.assertEqual(shown[names.index("n")], "{:,}".format(int(row["n"])))
                self.assertEqual(shown[names.index("insert_ratio")], "%.2f" % row["insert_ratio"])
                self.assertEqual(shown[names.index("grid")], "yes" if row["grid"] else "no")
                self.assertEqual(shown[names.index("holds")], "yes" if row["holds"] else "no")
            self.assertIn("fig_m_finding4_map.png" if stem == "pool_exhaustion"
                          else "sweep_fig_m_finding4_map.png", section)

    def test_the_model_table_is_the_mean_over_seeds(self):
        rows = schema.read_csv(os.path.join(self.pool_dir, "pool_exhaustion.csv"), "pool_cell")
        header, table = markdown_table(self.md, "### The demand model against the measurements")
        idx = {h: i for i, h in enumerate(header)}
        grid = rows[(rows["role"] == "grid") & (rows["pool_slots"] > 0)]
        # Every seed of a (policy, fallback, pool, n) cell, and only those, in one mean.
        cells = grid.groupby(["policy", "fallback", "pool_slots", "n"])
        self.assertEqual(len(table), cells.ngroups)
        self.assertEqual(sorted(set(grid["seed"])), list(range(5)))
        from analysis import tables as T
        for (policy, fallback, pool, n), c in cells:
            self.assertEqual(len(c), 5, (policy, pool, n))
            shown = [r for r in table if r[idx["policy"]] == policy and
                     r[idx["fallback"]] == fallback and
                     r[idx["pool_slots"]] == T.fmt_int(pool) and r[idx["n"]] == T.fmt_int(n)]
            self.assertEqual(len(shown), 1, (policy, pool, n))
            r = shown[0]
            self.assertEqual(r[idx["seeds"]], T.fmt_int(len(c)))
            mean = c["slots_demanded"].astype(float).mean()
            self.assertEqual(r[idx["demand"]], T.fmt_int(mean))
            model = float(c["model_slots_demanded"].iloc[0])
            self.assertEqual(r[idx["demand_error_pct"]], T.fmt_num(100 * (model / mean - 1), 2))
            gap = float(c["model_fallback_pct"].iloc[0]) - c["fallback_pct"].mean()
            self.assertEqual(r[idx["fallback_gap_pp"]], T.fmt_num(gap, 2))

    def test_the_pool_table_has_no_empty_column(self):
        header, table = markdown_table(self.md, "### Every measured cell")
        for i, name in enumerate(header):
            self.assertTrue(any(r[i] not in ("", "-") for r in table), name)

    def test_verdicts_agree_in_console_json_and_report(self):
        doc = schema.read_json_file(os.path.join(self.pool_dir, "pool_exhaustion.json"),
                                    "pool_exhaustion.json")
        json_verdicts = {int(f["id"]): f["verdict"] for _, f in doc["findings"].iterrows()}
        self.assertEqual(sorted(json_verdicts), [1, 2, 3, 4, 5, 6])
        labels = {"reproduced": "reproduced", "NOT reproduced": "not_reproduced",
                  "not judged": "not_judged"}
        console = {int(m.group(1)): labels[m.group(2)]
                   for m in re.finditer(r"^  (\d)\. \[([^\]]+)\]", self.console, re.M)}
        self.assertEqual(console, json_verdicts)
        _, table = markdown_table(self.md, "### Findings of the reference study")
        words = {v: k for k, v in report.VERDICTS.items()}
        shown = {int(r[0]): words[r[2]] for r in table}
        self.assertEqual(shown, json_verdicts)
        # This configuration has every cell a finding needs.
        self.assertNotIn("not_judged", json_verdicts.values())

    def test_matrix_reads_the_same_without_its_csv(self):
        with_csv = load.load_matrix(self.matrix_dir).sections["rows"]
        without = load.load_matrix(self.matrix_dir, prefer_csv=False).sections["rows"]
        self.assertEqual(len(with_csv), len(without))
        key = ["process_malloc", "workload", "policy", "n", "threads"]
        merged = with_csv.merge(without, on=key, suffixes=("_csv", "_json"))
        self.assertEqual(len(merged), len(with_csv))
        for col in ("ns_per_op", "real_ns_per_op", "allocs_per_op", "bytes_per_entry",
                    "peak_rss_kb", "ns_per_op_ci_low", "ns_per_op_ci_high"):
            for a, b in zip(merged[col + "_csv"], merged[col + "_json"]):
                if pd.isna(a) or pd.isna(b):
                    self.assertEqual(pd.isna(a), pd.isna(b), col)
                    continue
                self.assertLessEqual(abs(a - b), 0.005 * abs(a) + 1e-12, "%s: %s vs %s" % (col, a, b))

    def test_every_matrix_number_equals_the_file(self):
        rows = schema.read_csv(os.path.join(self.matrix_dir, "allocator_matrix.csv"), "matrix_row")
        header, table = markdown_table(self.md, "### Every benchmark")
        self.assertEqual(len(table), len(rows))
        idx = {h: i for i, h in enumerate(header)}
        shown = {(r[idx["process_malloc"]], r[idx["workload"]], r[idx["policy"]]): r for r in table}
        from analysis import tables as T
        for _, row in rows.iterrows():
            r = shown[(row["process_malloc"], row["workload"], row["policy"])]
            self.assertEqual(r[idx["ns_per_op"]], T.fmt_num(row["ns_per_op"]))

    def test_provenance_names_every_file(self):
        for rs_dir, stem in ((self.pool_dir, "pool_exhaustion"), (self.matrix_dir, "allocator_matrix")):
            run = testing.published(rs_dir, stem)
            self.assertIn(os.path.basename(run), self.md)
        self.assertIn("| complete |", self.md)
        self.assertRegex(self.md, r"\| yes \| \d+ (s|min) \|")

    def test_compare_works_on_every_kind(self):
        second = testing.tmpdir("matrix2")
        testing.check_run(testing.MATRIX_DRIVER, testing.MATRIX_ARGS + ["--out=" + second])
        rc, out, err = testing.run(["--compare", self.matrix_dir, second, "--threshold", "1000"])
        self.assertEqual(rc, 0, err)
        self.assertIn("allocator_matrix: geometric mean of new/old", out)
        self.assertIn("glibc/find_hit/bump_pool/keys:1000", out)
        rc, out, err = testing.run(["--compare", self.pool_dir, self.pool_dir])
        self.assertEqual(rc, 0, err)
        self.assertIn("pool_exhaustion_sweep:grid/bump_pool", out)
        # Pool cells are keyed on the process malloc and the host class that timed them.
        self.assertRegex(out, r"pool_exhaustion:grid/bump_pool/[^ ]*/malloc:glibc[^/]*"
                              r"/host:[0-9a-f]{12} ")
        self.assertNotIn("seed", out)  # seeds 1.. are measured once, for counts: not compared
        rc, out, err = testing.run(["--compare", self.pool_dir, self.matrix_dir])
        self.assertEqual(rc, 2)
        self.assertIn("holds allocator_matrix results but", err)

    def test_one_host_class_reads_as_before(self):
        # Every result here comes from this machine: no banner, heading or file per host class.
        self.assertNotIn("host classes", self.md)
        self.assertNotIn("Host class", self.md)
        self.assertEqual([f for f in os.listdir(os.path.join(self.out, "figures")) if "_host_" in f],
                         [])

    def test_pool_times_of_two_host_classes_are_never_in_one_table_or_figure(self):
        split = testing.copy_published(self.pool_dir, "pool_exhaustion_sweep",
                                       testing.tmpdir("two_hosts_pool"))
        host_of = lambda r: HOST_A if int(r["n"]) == 10000 else HOST_B  # noqa: E731
        testing.set_hosts(os.path.join(split, "pool_exhaustion_sweep.json"), host_of, "rows")
        testing.set_hosts(os.path.join(split, "pool_exhaustion_sweep.csv"), host_of)
        out = testing.tmpdir("two_hosts_pool_report")
        rc, _, err = testing.run(["--pool-results", split, "--reference",
                                  testing.runfile(*testing.REFERENCE), "--out", out])
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertIn("were measured on 2 host classes", md)
        rows = schema.read_csv(os.path.join(split, "pool_exhaustion_sweep.csv"), "pool_cell")
        from analysis import tables as T
        n_of = {h: {T.fmt_int(n) for n in rows[rows["host"] == h]["n"]} for h in (HOST_A, HOST_B)}
        cells = rows[(rows["seed"] == 0) & (rows["role"] != "finding4_map")]
        # Every table with times: one per host class, each showing only that class's cells.
        for heading in ("### Every measured cell", "### bump_pool: this run vs the reference",
                        "### Finding 4 by fallback and page policy"):
            sections = testing.host_sections(md, heading)
            self.assertTrue(sections, heading)
            for host, text in sections.items():
                if "|" not in text:  # "No reference cell measured on this host class."
                    continue
                header, table = markdown_table(text, "`")
                n = header.index("n") if "n" in header else header.index("N")
                self.assertLessEqual({r[n] for r in table}, n_of[host], (heading, host))
            if heading == "### Every measured cell":
                self.assertEqual(sorted(sections), [HOST_A, HOST_B])
                for host, text in sections.items():
                    self.assertEqual(len(markdown_table(text, "`")[1]),
                                     int((cells["host"] == host).sum()), host)
        # Figures of times: one per class; figures of counts: one.
        for host in (HOST_A, HOST_B):
            name = "sweep_fig_c_ns_per_op_host_%s" % host
            self.assertIn(name + ".png", md)
            self.assertTrue(os.path.exists(os.path.join(out, "figures", name + ".svg")), name)
        self.assertNotIn("sweep_fig_c_ns_per_op.png", md)
        self.assertIn("sweep_fig_b_pool_demand.png", md)
        # Counts stay merged: the model table has every grid cell, whichever class measured it.
        _, model = markdown_table(md, "### The demand model against the measurements")
        grid = rows[(rows["role"] == "grid") & (rows["pool_slots"] > 0)]
        self.assertEqual(len(model), grid.groupby(["policy", "fallback", "pool_slots", "n"]).ngroups)

    def test_a_finding4_pair_across_host_classes_is_named_not_shown(self):
        split = testing.copy_published(self.pool_dir, "pool_exhaustion",
                                       testing.tmpdir("two_hosts_finding4"))
        records = load.load_pool(split, "pool_exhaustion").sections["finding4_map"]
        top = int(records["n"].max())
        sized = int(records["sized_pool"].iloc[0])
        self.assertEqual(set(records["fallback"]), {"malloc", "jemalloc"})
        # N = top on host B, the rest on A; but at N = top the jemalloc pairs' sized cells on A:
        # those pairs straddle the two classes, malloc's at N = top stay on B.
        def host_of(r):
            straddles = (r["role"] == "finding4_map" and r["fallback"] == "jemalloc"
                         and int(r["pool_slots"]) == sized)
            return HOST_B if int(r["n"]) == top and not straddles else HOST_A
        testing.set_hosts(os.path.join(split, "pool_exhaustion.json"), host_of, "rows")
        testing.set_hosts(os.path.join(split, "pool_exhaustion.csv"), host_of)
        out = testing.tmpdir("two_hosts_finding4_report")
        rc, _, err = testing.run(["--pool-results", split, "--reference",
                                  testing.runfile(*testing.REFERENCE), "--out", out])
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            md = f.read()
        from analysis import tables as T
        heading = "### Finding 4 by fallback and page policy"
        sections = testing.host_sections(md, heading)
        self.assertEqual(sorted(sections), [HOST_A, HOST_B])
        straddling = records[(records["n"] == top) & (records["fallback"] == "jemalloc")]
        self.assertEqual(len(straddling), records["pages"].nunique())
        shown = 0
        for host, text in sections.items():
            header, table = markdown_table(text, "`")
            for r in table:
                at = (r[header.index("n")], r[header.index("fallback")])
                self.assertNotEqual(at, (T.fmt_int(top), "jemalloc"), host)
                self.assertEqual(r[header.index("n")] == T.fmt_int(top), host == HOST_B, host)
            shown += len(table)
            name = "fig_m_finding4_map_host_%s" % host
            self.assertIn(name + ".png", text)
            self.assertTrue(os.path.exists(os.path.join(out, "figures", name + ".svg")), name)
        self.assertEqual(shown, len(records) - len(straddling))
        # Named once each, in no table, figure or file of its own.
        section = md[md.index(heading):md.index("\n### ", md.index(heading) + 1)]
        for _, r in straddling.iterrows():
            line = ("Not compared: finding 4's pair at N = %s (fallback jemalloc, pages %s) has "
                    "its two cells on different host classes (%s, %s)."
                    % (T.fmt_int(top), r["pages"], HOST_A, HOST_B))
            self.assertEqual(section.count(line), 1, line)
        self.assertNotIn("mixed", md)
        self.assertNotIn("fig_m_finding4_map.png", md)
        for d in ("figures", "tables"):
            self.assertEqual([f for f in os.listdir(os.path.join(out, d)) if "mixed" in f], [])
        self.assertEqual(sorted(f for f in os.listdir(os.path.join(out, "tables"))
                                if "finding4" in f),
                         sorted("pool_exhaustion_finding4_host_%s.tex" % h
                                for h in (HOST_A, HOST_B)))

    def test_matrix_rankings_stay_within_a_host_class(self):
        split = testing.copy_published(self.matrix_dir, "allocator_matrix",
                                       testing.tmpdir("two_hosts_matrix"))
        csv_path = os.path.join(split, "allocator_matrix.csv")
        rows = schema.read_csv(csv_path, "matrix_row")
        here = rows["host"].iloc[0]
        self.assertRegex(here, "^[0-9a-f]{12}$")
        first = {"malloc", "bump_pool", "slot_recycler"}
        self.assertLess(first, set(rows["policy"]))
        testing.set_hosts(csv_path, lambda r: here if r["policy"] in first else HOST_B)
        with self.assertRaises(ValueError):  # a ranking across classes is refused
            from analysis import derive
            derive.winners(schema.read_csv(csv_path, "matrix_row"))
        out = testing.tmpdir("two_hosts_matrix_report")
        rc, _, err = testing.run(["--matrix-results", split, "--reference", "/nonexistent",
                                  "--out", out])
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertIn("The benchmarks were measured on 2 host classes", md)
        winners = testing.host_sections(md, "### Winners per workload")
        self.assertEqual(sorted(winners), sorted([here, HOST_B]))
        for host, text in winners.items():
            header, table = markdown_table(text, "`")
            self.assertTrue(table, host)
            mine = first if host == here else set(rows["policy"]) - first
            for r in table:
                self.assertIn(r[header.index("winner")], mine, host)
                self.assertIn(r[header.index("runner_up")], mine | {"-"}, host)
                if host == HOST_B:  # malloc was measured on the other class: no ratio to it
                    self.assertEqual(r[header.index("malloc_ns_per_op")], "-")
        relative = testing.host_sections(md, "### Relative to malloc")
        self.assertIn("fig_e_matrix_heatmap_host_%s.png" % here, relative[here])
        self.assertIn("No glibc `malloc` policy rows", relative[HOST_B])
        self.assertNotIn("fig_e_matrix_heatmap.png", md)
        every = testing.host_sections(md, "### Every benchmark")
        for host, text in every.items():
            self.assertEqual(len(markdown_table(text, "`")[1]), int((rows["policy"].isin(first) ==
                                                                   (host == here)).sum()), host)
        # --compare: times only within a class; classes on one side only are named.
        rc, text, err = testing.run(["--compare", self.matrix_dir, split, "--threshold", "1000"])
        self.assertEqual(rc, 0, err)
        table = text[:text.index("\n\n")]
        self.assertNotIn(HOST_B, table)
        self.assertIn("host:" + here, table)
        self.assertIn("note: host class(es) %s only in %s: their times are not compared"
                      % (HOST_B, split), text)
        # No class in common: one line, nothing compared.
        testing.set_hosts(csv_path, lambda r: HOST_B)
        rc, text, err = testing.run(["--compare", self.matrix_dir, split])
        self.assertEqual(rc, 2, text)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("no host class in common", err)
        self.assertIn(here, err)
        self.assertIn(HOST_B, err)

    def test_compare_flags_a_regression(self):
        slow = testing.tmpdir("slow")
        src = testing.published(self.matrix_dir, "allocator_matrix")
        for name in os.listdir(src):
            shutil.copy(os.path.join(src, name), slow)
        rows = schema.read_csv(os.path.join(slow, "allocator_matrix.csv"), "matrix_row")
        with open(os.path.join(slow, "allocator_matrix.csv"), encoding="utf-8") as f:
            text = f.read()
        # Every repetition of one cell twice as slow.
        r = rows[(rows["process_malloc"] == "glibc") & (rows["workload"] == "churn")
                 & (rows["policy"] == "malloc")].iloc[0]
        old_reps = ";".join(schema_repr(v) for v in r["ns_per_op_reps"])
        new_reps = ";".join(schema_repr(2 * v) for v in r["ns_per_op_reps"])
        self.assertIn(old_reps, text)
        with open(os.path.join(slow, "allocator_matrix.csv"), "w", encoding="utf-8") as f:
            f.write(text.replace(old_reps, new_reps))
        rc, out, _ = testing.run(["--compare", self.matrix_dir, slow, "--alpha", "0.2"])
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSION", out)
        # With 3 repetitions a side no p-value can go below 0.05: the slowdown is not let pass.
        rc, out, _ = testing.run(["--compare", self.matrix_dir, slow])
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSION (untested: too few repetitions)", out)
        # An incomplete run is not compared unless asked.
        testing.edit_json(os.path.join(slow, "context.json"),
                          lambda d: d["metadata"].update(complete=False))
        rc, _, err = testing.run(["--compare", self.matrix_dir, slow])
        self.assertEqual(rc, 2, err)
        self.assertIn("is incomplete", err)


# Host classes of an imagined second and third machine (run_metadata.host: 12 hex digits).
HOST_A, HOST_B = "aaaaaaaaaaaa", "bbbbbbbbbbbb"


class MedianConfidenceIntervalTest(unittest.TestCase):
    """load.median_confidence_interval gives the ranks experiments/common/statistics_test.cc
    expects of the C++ one (the writer of the same columns)."""

    def test_ranks(self):
        for n, low_rank in ((6, 1), (7, 1), (9, 2), (10, 2), (20, 6), (31, 10), (100, 40)):
            values = list(range(n, 0, -1))
            self.assertEqual(load.median_confidence_interval(values), (low_rank, n + 1 - low_rank))

    def test_none_below_six_values(self):
        self.assertEqual(load.median_confidence_interval([1, 2, 3, 4, 5]), (None, None))
        self.assertEqual(load.median_confidence_interval([]), (None, None))


def schema_repr(v):
    """Python's shortest repr is what the C++ writer's to_chars writes."""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


class InputsTest(unittest.TestCase):
    """What the report refuses or flags, on real output altered the way things go wrong."""

    @classmethod
    def setUpClass(cls):
        cls.pool_dir = testing.tmpdir("inputs_pool")
        testing.check_run(testing.POOL_BINARY, ["--n=1000", "--pools=4096", "--repetitions=1",
                                                "--capacity_search_limit=10K", "--quiet",
                                                "--out=" + cls.pool_dir])

    def report(self, *extra, pool=None):
        out = testing.tmpdir("inputs_out")
        return testing.run(["--pool-results", pool or self.pool_dir, "--matrix-results",
                            pool or self.pool_dir, "--reference",
                            testing.runfile(*testing.REFERENCE), "--out", out] + list(extra))

    def test_a_misspelt_directory_is_an_error(self):
        rc, _, err = testing.run(["--pool-results", self.pool_dir + "x", "--out",
                                  testing.tmpdir("x")])
        self.assertEqual(rc, 2)
        self.assertIn("no such directory", err)
        self.assertEqual(len(err.strip().splitlines()), 1)

    def test_a_directory_flag_given_twice_is_an_error(self):
        rc, _, err = testing.run(["--timeline-results", self.pool_dir, "--timeline-results",
                                  self.pool_dir, "--out", testing.tmpdir("twice")])
        self.assertEqual(rc, 2)
        self.assertIn("--timeline-results given twice", err)

    def test_an_incomplete_run_is_refused_or_flagged(self):
        copy = testing.tmpdir("incomplete")
        src = testing.published(self.pool_dir, "pool_exhaustion")
        for name in ("pool_exhaustion.csv", "pool_exhaustion.json"):
            shutil.copy(os.path.join(src, name), copy)
        testing.edit_json(os.path.join(copy, "pool_exhaustion.json"),
                          lambda d: d["metadata"].update(complete=False))
        rc, _, err = self.report(pool=copy)
        self.assertEqual(rc, 2)
        self.assertIn("is incomplete", err)
        rc, _, err = self.report("--allow-incomplete", pool=copy)
        self.assertEqual(rc, 0, err)

    def test_a_leftover_benchmark_file_is_named_and_ignored(self):
        matrix = testing.tmpdir("leftover")
        testing.check_run(testing.MATRIX_DRIVER, ["--quick", "--repetitions=1", "--threads=1",
                                                  "--mallocs=glibc", "--filter=^find_hit/malloc/",
                                                  "--out=" + matrix])
        legacy = testing.tmpdir("legacy")
        src = testing.published(matrix, "allocator_matrix")
        for name in os.listdir(src):
            shutil.copy(os.path.join(src, name), legacy)
        shutil.copy(os.path.join(legacy, "matrix_glibc.json"), os.path.join(legacy,
                                                                           "matrix_tcmalloc.json"))
        rs = load.load_matrix(legacy)
        self.assertTrue(any("matrix_tcmalloc.json is not part of this run" in n for n in rs.notes))
        self.assertEqual(set(rs.sections["rows"]["process_malloc"]), {"glibc"})


if __name__ == "__main__":
    unittest.main()
