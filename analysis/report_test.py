"""End-to-end: the report, figures and tables from the fixtures; missing and bad inputs."""

import csv
import math
import os
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET

from analysis.testutil import report_args, run, testdata

FIGURES = ["fig_a_fallback_share", "fig_b_pool_demand", "fig_c_ns_per_op",
           "fig_d_bytes_per_entry", "fig_e_matrix_heatmap", "fig_f_break_even"]
TABLES = ["pool_exhaustion.tex", "sizing.tex", "matrix.tex", "matrix_winners.tex"]


def fixture_rows(*parts):
    with open(testdata(*parts), newline="") as f:
        return list(csv.DictReader(f))


class FullReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.out = os.path.join(cls.tmp, "report")
        cls.rc, cls.stdout, cls.stderr = run(report_args(cls.out))
        with open(os.path.join(cls.out, "report.md")) as f:
            cls.md = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def tex(self, name):
        with open(os.path.join(self.out, "tables", name)) as f:
            return f.read()

    def test_exit_status_and_quiet(self):
        self.assertEqual(self.rc, 0, self.stderr)
        self.assertEqual(self.stderr, "")

    def test_png_figures(self):
        for name in FIGURES:
            with open(os.path.join(self.out, "figures", name + ".png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
            self.assertIn("](figures/%s.png)" % name, self.md)

    def test_svg_figures(self):
        for name in FIGURES:
            root = ET.parse(os.path.join(self.out, "figures", name + ".svg")).getroot()
            self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg", name)

    def test_no_temporary_files_left(self):
        for d, _, files in os.walk(self.out):
            for f in files:
                self.assertFalse(f.startswith(".") or f.endswith(".tmp"), os.path.join(d, f))

    def test_tables_are_booktabs(self):
        for name in TABLES:
            t = self.tex(name)
            for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
                self.assertIn(rule, t, name)
            self.assertNotIn("_", t.replace("\\_", ""), name)  # underscores escaped

    def test_pool_exhaustion_cell(self):
        # bump_pool, N=10,000, 65,536 slots: our fallback share next to the reference's 79%.
        row = [r for r in fixture_rows("pool_exhaustion", "pool_exhaustion.csv")
               if (r["policy"], r["n"], r["pool_slots"]) == ("bump_pool", "10000", "65536")][0]
        ours = "%.1f" % float(row["fallback_pct"])
        self.assertRegex(self.tex("pool_exhaustion.tex"),
                         r"\n10,000 & 65,536 & [\d.]+ & 465.0 & %s & 79.0 &" % ours)
        self.assertRegex(self.md, r"\| 10,000 \| 65,536 \| [\d.]+ \| 465.0 \| %s \| 79.0 \|"
                         % ours)

    def test_findings(self):
        self.assertIn("Fallbacks make inserts slower", self.md)  # from the JSON
        self.assertIn("| 4 | Fallback share follows 1 - capacity/demand", self.md)
        self.assertIn("98.0% (model 97.8%)", self.md)  # reference side, recomputed

    def test_sizing(self):
        self.assertIn("2,400,000", self.tex("sizing.tex"))
        self.assertIn("| 100,000 | 2,400,000 | 330,000 |", self.md)

    def test_matrix_numbers(self):
        rows = [r for r in fixture_rows("allocator_matrix", "allocator_matrix.csv")
                if r["process_malloc"] == "glibc"]
        med = {(r["workload"], r["policy"], r["n"]): float(r["ns_per_op"]) for r in rows}
        ratios = [med[("insert_seq", "bump_pool", n)] / med[("insert_seq", "malloc", n)]
                  for n in ("1000", "100000")]
        gm = math.exp(sum(map(math.log, ratios)) / len(ratios))
        line = [l for l in self.tex("matrix.tex").splitlines() if l.startswith("bump\\_pool &")]
        self.assertEqual(len(line), 1)
        self.assertIn("%.2f" % gm, line[0].split(" & "))
        # winner of churn at N=100,000
        churn = {p: v for (w, p, n), v in med.items() if w == "churn" and n == "100000"}
        best = min(churn, key=churn.get)
        self.assertIn("churn & 100,000 & %s & %.1f" % (best.replace("_", "\\_"), churn[best]),
                      self.tex("matrix_winners.tex"))
        self.assertIn("| churn | 100,000 | %s | %.1f |" % (best, churn[best]), self.md)

    def test_metadata(self):
        for s in ("500701f", "g++ 12.2.0", "Xeon", "glibc 2.36", "mimalloc 2.0.9"):
            self.assertIn(s, self.md)


class PartialInputTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_missing_matrix_is_skipped(self):
        out = os.path.join(self.tmp, "out")
        rc, _, err = run(report_args(out, matrix=os.path.join(self.tmp, "nope")))
        self.assertEqual(rc, 0)
        self.assertIn("allocator_matrix results: no directory", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        with open(os.path.join(out, "report.md")) as f:
            self.assertIn("No allocator_matrix results.", f.read())
        self.assertFalse(os.path.exists(os.path.join(out, "figures",
                                                     "fig_e_matrix_heatmap.png")))
        self.assertTrue(os.path.exists(os.path.join(out, "figures", "fig_a_fallback_share.png")))

    def test_csv_only_recomputes_findings_and_sizing(self):
        pool = os.path.join(self.tmp, "pool")
        os.makedirs(pool)
        shutil.copy(testdata("pool_exhaustion", "pool_exhaustion.csv"), pool)
        out = os.path.join(self.tmp, "out")
        rc, _, err = run(report_args(out, pool=pool))
        self.assertEqual(rc, 0, err)
        self.assertIn("pool_exhaustion_sweep.csv", err)  # the sweep is missing
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        self.assertIn("Recomputed from `pool_exhaustion.csv`", md)
        self.assertIn("| 67.2% fallback | 79.0% fallback | yes |", md)
        self.assertIn("recomputed from pool_exhaustion.csv", md)
        self.assertFalse(os.path.exists(os.path.join(out, "figures", "fig_f_break_even.svg")))

    def test_truncated_csv_exit_2(self):
        bad = testdata("malformed")
        rc, out, err = run(report_args(os.path.join(self.tmp, "out"), pool=bad))
        self.assertEqual(rc, 2)
        self.assertNotIn("Traceback", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        self.assertRegex(err, r"^analysis: .*malformed/pool_exhaustion\.csv line 7: expected 23 "
                              r"fields, got \d+")

    def test_unwritable_out_exit_2(self):
        blocker = os.path.join(self.tmp, "file")
        open(blocker, "w").close()
        rc, _, err = run(report_args(os.path.join(blocker, "out")))
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1)
        self.assertIn("cannot write to --out", err)

    def test_bad_flag_exit_2(self):
        rc, _, err = run(["--no-such-flag"])
        self.assertEqual(rc, 2)
        rc, _, err = run(["--compare", "a"])
        self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main()
