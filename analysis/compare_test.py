"""--compare: planted regressions are flagged, identical runs are not, bad input exits 2."""

import csv
import json
import os
import shutil
import tempfile
import unittest

from analysis.testutil import run, testdata


def _scale_reps(text, factor):
    return ";".join("%g" % round(float(x) * factor, 3) for x in text.split(";"))


def write_matrix_copy(path, factor, match=("glibc", "insert_seq", "bump_pool", "100000")):
    """A copy of the matrix fixture with every repetition of one cell scaled by factor."""
    with open(testdata("allocator_matrix", "allocator_matrix.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
        fields = list(rows[0].keys())
    hit = 0
    for r in rows:
        if (r["process_malloc"], r["workload"], r["policy"], r["n"]) == match:
            r["ns_per_op_reps"] = _scale_reps(r["ns_per_op_reps"], factor)
            r["ns_per_op"] = "%g" % round(float(r["ns_per_op"]) * factor, 3)
            hit += 1
    assert hit == 1 and len(rows[0]["ns_per_op_reps"].split(";")) == 5
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


class MatrixCsvCompareTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.old = testdata("allocator_matrix", "allocator_matrix.csv")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_identical_runs_not_flagged(self):
        rc, out, err = run(["--compare", self.old, self.old])
        self.assertEqual(rc, 0, err)
        self.assertNotIn("REGRESSION", out)
        self.assertIn("geometric mean of new/old over 82 cells: 1.000", out)

    def test_identical_directories_not_flagged(self):
        d = testdata("allocator_matrix")
        rc, out, err = run(["--compare", d, d])
        self.assertEqual(rc, 0, err)
        self.assertIn("no significant regression", out)

    def test_planted_regression_flagged(self):
        new = os.path.join(self.tmp, "allocator_matrix.csv")
        write_matrix_copy(new, 1.20)
        rc, out, err = run(["--compare", self.old, new])
        self.assertEqual(rc, 1, out + err)
        flagged = [l for l in out.splitlines() if l.rstrip().endswith("REGRESSION")]
        self.assertEqual(len(flagged), 1, out)
        self.assertIn("glibc/insert_seq/bump_pool/keys:100000", flagged[0])
        self.assertIn("+20.0%", flagged[0])
        self.assertIn("0.0079", flagged[0])  # exact two-sided MWU p for 5 vs 5, no overlap

    def test_small_slowdown_below_threshold(self):
        new = os.path.join(self.tmp, "allocator_matrix.csv")
        write_matrix_copy(new, 1.03)
        rc, out, _ = run(["--compare", self.old, new])
        self.assertEqual(rc, 0, out)
        rc, out, _ = run(["--compare", self.old, new, "--threshold", "2%"])
        self.assertEqual(rc, 1, out)

    def test_speedup_not_a_regression(self):
        new = os.path.join(self.tmp, "allocator_matrix.csv")
        write_matrix_copy(new, 0.8)
        rc, out, _ = run(["--compare", self.old, new])
        self.assertEqual(rc, 0)
        self.assertIn("faster", out)


class GbenchCompareTest(unittest.TestCase):
    def test_planted_regression_in_benchmark_json(self):
        src = testdata("allocator_matrix", "matrix_glibc.json")
        with open(src) as f:
            doc = json.load(f)
        for b in doc["benchmarks"]:
            if b["run_name"] == "find_hit/malloc/keys:100000" and b["run_type"] == "iteration":
                b["real_time"] *= 1.2
        with tempfile.TemporaryDirectory() as d:
            new = os.path.join(d, "matrix_glibc.json")
            with open(new, "w") as f:
                json.dump(doc, f)
            rc, out, _ = run(["--compare", src, new])
            self.assertEqual(rc, 1, out)
            flagged = [l for l in out.splitlines() if l.rstrip().endswith("REGRESSION")]
            self.assertEqual(len(flagged), 1, out)
            self.assertIn("find_hit/malloc/keys:100000", flagged[0])
            rc, out, _ = run(["--compare", src, src])
            self.assertEqual(rc, 0, out)


class PoolCompareTest(unittest.TestCase):
    def test_planted_regression_in_pool_csv(self):
        src = testdata("pool_exhaustion", "pool_exhaustion.csv")
        with open(src, newline="") as f:
            rows = list(csv.DictReader(f))
            fields = list(rows[0].keys())
        for r in rows:
            if (r["policy"], r["n"], r["pool_slots"]) == ("slot_recycler", "50000", "4194304"):
                r["query_ns_reps"] = _scale_reps(r["query_ns_reps"], 1.2)
        with tempfile.TemporaryDirectory() as d:
            new = os.path.join(d, "pool_exhaustion.csv")
            with open(new, "w", newline="") as f:
                w = csv.DictWriter(f, fields, lineterminator="\n")
                w.writeheader()
                w.writerows(rows)
            rc, out, _ = run(["--compare", src, new])
            self.assertEqual(rc, 1, out)
            flagged = [l for l in out.splitlines() if l.rstrip().endswith("REGRESSION")]
            self.assertEqual(len(flagged), 1, out)
            self.assertIn("slot_recycler/n:50000/pool:4194304", flagged[0])
            self.assertIn("query_ns", flagged[0])


class BadInputTest(unittest.TestCase):
    def test_missing_file(self):
        rc, out, err = run(["--compare", "/nonexistent/a.csv",
                            testdata("allocator_matrix", "allocator_matrix.csv")])
        self.assertEqual(rc, 2)
        self.assertIn("/nonexistent/a.csv: no such file or directory", err)

    def test_different_experiments(self):
        rc, _, err = run(["--compare", testdata("pool_exhaustion", "pool_exhaustion.csv"),
                          testdata("allocator_matrix", "allocator_matrix.csv")])
        self.assertEqual(rc, 2)
        self.assertIn("is allocator_matrix results but", err)

    def test_truncated(self):
        rc, _, err = run(["--compare", testdata("pool_exhaustion", "pool_exhaustion.csv"),
                          testdata("malformed", "pool_exhaustion.csv")])
        self.assertEqual(rc, 2)
        self.assertIn("line 7: expected 23 fields", err)
        self.assertNotIn("Traceback", err)


if __name__ == "__main__":
    unittest.main()
