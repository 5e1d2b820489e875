"""The replay section on the experiments' real output: a trace of the matrix's insert_seq recorded,
replayed, and ranked against a live matrix run of the same workload (Kendall's tau); every number
in its table equals the file's; a replay directory without results is an input error."""

import os
import unittest

from analysis import report, schema, testing
from analysis.testing import markdown_table


class ReplayReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = testing.tmpdir("replay")
        trace = os.path.join(cls.dir, "insert_seq_1000.trace")
        testing.check_run(testing.RECORD_BINARY,
                          ["--workload=insert_seq", "--n=1000", "--trace=" + trace])
        cls.set_dir = os.path.join(cls.dir, "glibc")
        testing.check_run(testing.REPLAY_BINARY, [trace, "--repetitions=2", "--out=" + cls.set_dir])
        cls.matrix_dir = testing.tmpdir("replay_matrix")
        testing.check_run(testing.MATRIX_DRIVER, [
            "--quick", "--repetitions=3", "--threads=1", "--filter=^insert_seq/[^/]+/keys:1000/",
            "--out=" + cls.matrix_dir])
        cls.out = testing.tmpdir("replay_report")
        rc, _, err = testing.run(["--replay-results", cls.dir, "--matrix-results", cls.matrix_dir,
                                  "--reference", "/nonexistent", "--out", cls.out])
        assert rc == 0, err
        with open(os.path.join(cls.out, "report.md"), encoding="utf-8") as f:
            cls.md = f.read()

    def test_the_ranking_is_compared_with_the_live_matrix(self):
        header, table = markdown_table(self.md, "### Replay against the live allocator matrix")
        self.assertEqual(header, ["process_malloc", "trace", "workload", "n", "policies", "tau",
                                  "p_value"])
        self.assertEqual(len(table), 1)
        malloc, trace, workload, n, policies, tau, _ = table[0]
        self.assertEqual((malloc, trace, workload, n),
                         ("glibc", "insert_seq_1000.trace", "insert_seq", "1,000"))
        self.assertGreaterEqual(int(policies), 8)  # every registry policy without a pool
        self.assertTrue(-1.0 <= float(tau) <= 1.0)

    def test_every_row_number_equals_the_file(self):
        rows = schema.read_csv(os.path.join(self.set_dir, "replay.csv"), "replay_row")
        testing.assert_table_shows_rows(self, self.md, "### Every replayed row", report.REPLAY_COLUMNS, rows,
                                        ("policy",))
        for ext in ("png", "svg"):
            path = os.path.join(self.out, "figures", "fig_k_replay_insert_seq_1000_glibc." + ext)
            self.assertGreater(os.path.getsize(path), 1000, path)

    def test_a_directory_without_replay_results_is_an_input_error(self):
        empty = testing.tmpdir("no_replay")
        rc, _, err = testing.run(["--replay-results", empty, "--out",
                                  testing.tmpdir("replay_report_2")])
        self.assertEqual(rc, 2)
        self.assertIn("holds no replay results", err)


if __name__ == "__main__":
    unittest.main()
