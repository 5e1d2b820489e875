"""Reading and validation of result files."""

import math
import os
import tempfile
import unittest

from analysis import load
from analysis.testutil import run, testdata


class PoolCsvTest(unittest.TestCase):
    def test_reads_fixture(self):
        df = load.read_pool_csv(testdata("pool_exhaustion", "pool_exhaustion.csv"))
        self.assertEqual(len(df), 20)
        self.assertEqual(sorted(df["policy"].unique()), ["bump_pool", "malloc", "slot_recycler"])
        row = df[(df["policy"] == "bump_pool") & (df["n"] == 10000)
                 & (df["pool_slots"] == 65536)].iloc[0]
        self.assertEqual(len(row["insert_ns_reps"]), 5)
        self.assertEqual(row["process_malloc"], "glibc 2.36")
        self.assertGreater(row["fallback_pct"], 50)

    def test_truncated_names_file_and_line(self):
        path = testdata("malformed", "pool_exhaustion.csv")
        with self.assertRaises(load.InputError) as cm:
            load.read_pool_csv(path)
        self.assertEqual(cm.exception.line, 7)
        msg = str(cm.exception)
        self.assertIn(path + " line 7: expected 23 fields, got ", msg)

    def test_bad_value(self):
        path = testdata("malformed", "pool_exhaustion_bad_value.csv")
        with self.assertRaises(load.InputError) as cm:
            load.read_pool_csv(path)
        self.assertEqual(cm.exception.line, 4)
        self.assertIn("column n: expected an integer, got '10k'", str(cm.exception))

    def test_bad_header(self):
        path = testdata("malformed", "allocator_matrix_bad_header.csv")
        with self.assertRaises(load.InputError) as cm:
            load.read_matrix_csv(path)
        self.assertEqual(cm.exception.line, 1)
        self.assertIn("missing columns policy", str(cm.exception))

    def test_wrong_schema_version(self):
        src = testdata("pool_exhaustion", "pool_exhaustion.csv")
        with open(src) as f:
            lines = f.read().splitlines(True)
        lines[2] = "2" + lines[2][1:]
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "pool_exhaustion.csv")
            with open(p, "w") as f:
                f.write("".join(lines))
            with self.assertRaises(load.InputError) as cm:
                load.read_pool_csv(p)
            self.assertEqual(cm.exception.line, 3)
            self.assertIn("schema_version 2", str(cm.exception))


class ReferenceTest(unittest.TestCase):
    def test_empty_cells_are_nan(self):
        ref = load.read_reference_csv(testdata("reference", "pool_exhaustion_reference.csv"))
        self.assertEqual(len(ref), 8)
        first = ref.iloc[0]
        self.assertEqual(first["n"], 1000)
        self.assertTrue(math.isnan(first["insert_ns_per_op"]))
        self.assertEqual(ref.iloc[3]["fallback_pct"], 98)


class GbenchTest(unittest.TestCase):
    def test_reads_repetitions(self):
        ctx, df = load.read_gbench_json(testdata("allocator_matrix", "matrix_glibc.json"))
        self.assertEqual(ctx["process_malloc"], "glibc")
        row = df[df["run_name"] == "insert_seq/bump_pool/keys:100000"].iloc[0]
        self.assertEqual((row["workload"], row["policy"], row["n"], row["threads"]),
                         ("insert_seq", "bump_pool", 100000, 1))
        self.assertEqual(len(row["real_time_reps"]), 5)  # aggregates are not repetitions
        # ns_per_op from items_per_second; real_time converted from us to ns
        self.assertAlmostEqual(row["real_time_reps"][0] / 100000, row["ns_per_op_reps"][0],
                               places=3)

    def test_split_names(self):
        self.assertEqual(load.split_benchmark_name("mixed/pmr_pool/keys:1000/threads:4"),
                         ("mixed", "pmr_pool", 1000, 4))
        self.assertEqual(load.split_benchmark_name(
            "churn/malloc/keys:10/repeats:5/real_time"), ("churn", "malloc", 10, 1))
        self.assertIsNone(load.split_benchmark_name("BM_something/8"))

    def test_invalid_json_exit_2(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "matrix_glibc.json"), "w") as f:
                f.write('{"context": {},\n "benchmarks": [\n {"name": ')
            rc, out, err = run(["--pool-results", os.path.join(d, "none"),
                                "--matrix-results", d, "--out", os.path.join(d, "out")])
            self.assertEqual(rc, 2)
            self.assertNotIn("Traceback", err)
            self.assertRegex(err, r"matrix_glibc\.json line 3: invalid JSON")


if __name__ == "__main__":
    unittest.main()
