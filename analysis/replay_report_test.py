"""The replay section on the experiments' real output: a trace of the matrix's insert_seq recorded,
replayed, and ranked against a live matrix run of the same workload (Kendall's tau); every number
in its table equals the file's; the live run beside the replay as a figure; --compare on replay
directories; a replay directory without results is an input error."""

import os
import re
import shutil
import unittest

from analysis import load, report, schema, testing
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

    def test_the_live_run_is_drawn_beside_the_replay(self):
        for ext in ("png", "svg"):
            path = os.path.join(self.out, "figures",
                                "fig_l_replay_vs_live_insert_seq_1000_glibc." + ext)
            self.assertGreater(os.path.getsize(path), 1000, path)
        self.assertIn("fig_l_replay_vs_live_insert_seq_1000_glibc.png", self.md)

    def test_a_live_matrix_of_another_host_class_is_not_ranked_against(self):
        here = load.load_replay(self.dir)[0].metadata["host"]
        self.assertRegex(here, "^[0-9a-f]{12}$")
        other = "bbbbbbbbbbbb"
        live = testing.copy_published(self.matrix_dir, "allocator_matrix",
                                      testing.tmpdir("replay_matrix_other_host"))
        testing.set_hosts(os.path.join(live, "allocator_matrix.csv"), lambda r: other)
        out = testing.tmpdir("replay_report_other_host")
        rc, _, err = testing.run(["--replay-results", self.dir, "--matrix-results", live,
                                  "--reference", "/nonexistent", "--out", out])
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            md = f.read()
        section = md[md.index("### Replay against the live allocator matrix"):
                     md.index("### Every replayed row")]
        self.assertIn("Not compared: the replay of insert_seq_1000.trace (process malloc glibc, "
                      "insert_seq, N = 1,000) ran on host class %s, the live matrix's insert_seq "
                      "cells on %s." % (here, other), section)
        # The line above says why there is no ranking; the generic sentence would contradict it.
        self.assertNotIn("No replayed workload is also in the live matrix", section)
        self.assertNotIn("| tau |", section)
        self.assertNotIn("fig_l_", md)

    def test_compare_reads_replay_directories(self):
        rc, out, err = testing.run(["--compare", self.dir, self.dir])
        self.assertEqual(rc, 0, err)
        # Timed cells are keyed on the host class that measured them.
        self.assertRegex(out, r"replay:glibc/insert_seq_1000\.trace/malloc/host:[0-9a-f]{12} "
                              r"+ns_per_event ")
        self.assertIn("no significant regression", out)
        # Every replay of malloc three times as slow: a regression (untested with 2 repetitions).
        slow = testing.tmpdir("replay_slow")
        src = testing.published(self.set_dir, "replay")
        shutil.copy(os.path.join(src, "replay.json"), slow)

        def slower(doc):
            for row in doc["rows"]:
                if row["policy"] == "malloc":
                    row["ns_per_event_reps"] = [3 * v for v in row["ns_per_event_reps"]]
        testing.edit_json(os.path.join(slow, "replay.json"), slower)
        rc, out, _ = testing.run(["--compare", self.set_dir, slow])
        self.assertEqual(rc, 1, out)
        flagged = [line for line in out.splitlines() if "REGRESSION" in line
                   and re.search(r"/malloc/host:[0-9a-f]{12} +ns_per_event ", line)]
        self.assertEqual(len(flagged), 1, out)

    def test_a_directory_without_replay_results_is_an_input_error(self):
        empty = testing.tmpdir("no_replay")
        rc, _, err = testing.run(["--replay-results", empty, "--out",
                                  testing.tmpdir("replay_report_2")])
        self.assertEqual(rc, 2)
        self.assertIn("holds no replay results", err)


if __name__ == "__main__":
    unittest.main()
