"""The memory-timeline section on the experiment's real output: every number in its tables equals
the file's, a figure per (workload, process malloc), --compare on timeline directories, and a
timeline directory without results is an input error."""

import os
import shutil
import unittest

import pandas as pd

from analysis import derive, load, output, report, schema, testing
from analysis.testing import markdown_table


class TimelineReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = testing.tmpdir("timeline")
        cls.set_dir = os.path.join(cls.dir, "glibc")
        testing.check_run(testing.TIMELINE_BINARY, [
            "--n=3K,5K", "--samples=10", "--policies=malloc,bump_pool,growing_pool", "--quiet",
            "--out=" + cls.set_dir])
        cls.out = testing.tmpdir("timeline_report")
        rc, _, err = testing.run(["--timeline-results", cls.dir,
                                  "--reference", "/nonexistent", "--out", cls.out])
        assert rc == 0, err
        with open(os.path.join(cls.out, "report.md"), encoding="utf-8") as f:
            cls.md = f.read()

    def test_every_cell_number_equals_the_file(self):
        cells = schema.read_csv(os.path.join(self.set_dir, "memory_timeline_cells.csv"),
                                "timeline_cell")
        testing.assert_table_shows_rows(self, self.md, "### Every cell", report.TIMELINE_COLUMNS, cells,
                                        ("workload", "policy", "n"))

    def test_compare_flags_a_memory_regression(self):
        rc, out, err = testing.run(["--compare", self.dir, self.dir])
        self.assertEqual(rc, 0, err)
        self.assertIn("memory_timeline:glibc/churn/bump_pool/n:3000", out)
        self.assertIn("no significant regression", out)
        # One cell keeps twice the RSS after teardown: flagged (measured once: untested); one
        # that kept none before and keeps some now is flagged too (no ratio from 0).
        src = os.path.join(testing.published(self.set_dir, "memory_timeline"),
                           "memory_timeline.json")
        base, more = testing.tmpdir("timeline_base"), testing.tmpdir("timeline_more")

        def retained(values):
            def edit(doc):
                for cell in doc["cells"]:
                    key = (cell["workload"], cell["policy"], cell["n"])
                    if key in values:
                        cell["retained_kb"] = values[key]
            return edit
        for directory, values in ((base, {("churn", "malloc", 3000): 1000,
                                          ("build", "malloc", 3000): 0}),
                                  (more, {("churn", "malloc", 3000): 2100,
                                          ("build", "malloc", 3000): 64})):
            shutil.copy(src, directory)
            testing.edit_json(os.path.join(directory, "memory_timeline.json"), retained(values))
        rc, out, _ = testing.run(["--compare", base, more])
        self.assertEqual(rc, 1, out)
        flagged = sorted(line for line in out.splitlines()
                         if "REGRESSION (untested: measured once)" in line)
        self.assertEqual(len(flagged), 2, out)
        self.assertIn("glibc/build/malloc/n:3000", flagged[0])
        self.assertIn("glibc/churn/malloc/n:3000", flagged[1])
        for line in flagged:
            self.assertIn("retained_kb", line)

    def test_retained_table_and_figures(self):
        header, table = markdown_table(self.md, "### KiB kept after teardown")
        self.assertEqual(header, ["policy", "n", "glibc"])
        self.assertEqual(sorted((r[0], r[1]) for r in table), [
            (p, n) for p in ("bump_pool", "growing_pool", "malloc") for n in ("3,000", "5,000")])
        for workload in ("build", "churn", "persistent"):
            for n in (3000, 5000):
                for ext in ("png", "svg"):
                    path = os.path.join(self.out, "figures",
                                        "fig_i_timeline_%s_%d_glibc.%s" % (workload, n, ext))
                    self.assertGreater(os.path.getsize(path), 1000, path)

    def test_the_growing_pool_table(self):
        cells = schema.read_csv(os.path.join(self.set_dir, "memory_timeline_cells.csv"),
                                "timeline_cell")
        build = cells[cells["workload"] == "build"]
        testing.assert_table_shows_rows(
            self, self.md, "### The growing pool against", report.GROWING_COLUMNS,
            build.assign(insert_ns_per_op=float("nan")), ("process_malloc", "policy", "n"))
        growing = build[build["policy"] == "growing_pool"]
        self.assertTrue((growing["fallback_allocations"] == 0).all())
        self.assertTrue((growing["pool_chunks"] >= 1).all())
        # ns per insert joined from the matrix on (process malloc, policy, N), insert_seq, 1 thread.
        matrix = pd.DataFrame([
            {"process_malloc": "glibc", "workload": "insert_seq", "policy": "growing_pool",
             "n": 3000, "threads": 1, "ns_per_op": 42.0},
            {"process_malloc": "glibc", "workload": "insert_seq", "policy": "malloc", "n": 3000,
             "threads": 2, "ns_per_op": 99.0},
            {"process_malloc": "jemalloc", "workload": "insert_seq", "policy": "bump_pool",
             "n": 3000, "threads": 1, "ns_per_op": 99.0}])
        joined = derive.growing_vs_others(cells, matrix)
        self.assertEqual(list(joined["policy"][joined["n"] == 3000]),
                         ["growing_pool", "bump_pool", "malloc"])
        at = joined[joined["n"] == 3000]
        ns = dict(zip(at["policy"], at["insert_ns_per_op"]))
        self.assertEqual(ns["growing_pool"], 42.0)
        self.assertTrue(pd.isna(ns["malloc"]) and pd.isna(ns["bump_pool"]))

    def test_one_host_class_reads_as_before(self):
        self.assertNotIn("host classes", self.md)
        self.assertNotIn("Host class", self.md)

    def test_the_growing_table_takes_times_from_one_host_class_at_a_time(self):
        # The timeline shows no times of its own; the growing table's ns per insert come from the
        # matrix, whose rows (a merged sharded run) may come from two classes.
        host_a, host_b = "aaaaaaaaaaaa", "bbbbbbbbbbbb"
        rows = pd.DataFrame([
            {"process_malloc": "glibc", "workload": "insert_seq", "policy": "growing_pool",
             "n": 3000, "threads": 1, "ns_per_op": 42.0, "host": host_a},
            {"process_malloc": "glibc", "workload": "insert_seq", "policy": "malloc", "n": 3000,
             "threads": 1, "ns_per_op": 99.0, "host": host_b}])
        sets = load.load_timeline(self.dir)
        cells = pd.concat([rs.sections["cells"] for rs in sets], ignore_index=True)
        with self.assertRaises(ValueError):  # one table of both classes' times is refused
            derive.growing_vs_others(cells, rows)
        matrix = load.ResultSet(load.MATRIX_STEM, self.dir)
        matrix.sections["rows"] = rows
        md, out = [], testing.tmpdir("timeline_two_hosts")
        os.makedirs(os.path.join(out, "tables"))
        report.timeline_section(sets, matrix, md, lambda names: None, lambda name, text:
                                output.write_text(os.path.join(out, "tables", name), text), out)
        md = "\n".join(md)
        sections = testing.host_sections(md, "### The growing pool against")
        self.assertEqual(sorted(sections), [host_a, host_b])
        for host, text in sections.items():
            header, table = markdown_table(text, "`")
            ns = {r[header.index("policy")]: r[header.index("insert_ns_per_op")] for r in table
                  if r[header.index("n")] == "3,000"}
            self.assertEqual(ns, {"growing_pool": "42.0" if host == host_a else "-",
                                  "bump_pool": "-",
                                  "malloc": "99.0" if host == host_b else "-"}, host)
            self.assertTrue(os.path.exists(os.path.join(out, "tables",
                                                        "timeline_growing_host_%s.tex" % host)))

    def test_a_directory_without_timeline_results_is_an_input_error(self):
        empty = testing.tmpdir("no_timeline")
        rc, _, err = testing.run(["--timeline-results", empty, "--out",
                                  testing.tmpdir("timeline_report_2")])
        self.assertEqual(rc, 2)
        self.assertIn("holds no memory_timeline results", err)


if __name__ == "__main__":
    unittest.main()
