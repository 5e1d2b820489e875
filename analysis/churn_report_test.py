"""The persistent-churn section on the experiment's real output: every number in its table equals
the file's, a figure per (N, process malloc), --compare on churn directories, and a churn
directory without results is an input error."""

import os
import unittest

from analysis import report, schema, testing


class ChurnReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = testing.tmpdir("churn")
        cls.set_dir = os.path.join(cls.dir, "glibc")
        testing.check_run(testing.CHURN_BINARY, [
            "--n=2K,3K", "--samples=10", "--policies=malloc,bump_pool,slot_recycler", "--quiet",
            "--out=" + cls.set_dir])
        cls.out = testing.tmpdir("churn_report")
        rc, _, err = testing.run(["--churn-results", cls.dir,
                                  "--reference", "/nonexistent", "--out", cls.out])
        assert rc == 0, err
        with open(os.path.join(cls.out, "report.md"), encoding="utf-8") as f:
            cls.md = f.read()

    def test_every_cell_number_equals_the_file(self):
        cells = schema.read_csv(os.path.join(self.set_dir, "persistent_churn.csv"), "churn_cell")
        testing.assert_table_shows_rows(self, self.md, "### Every cell", report.CHURN_COLUMNS, cells,
                                        ("retention", "policy", "n"))

    def test_a_figure_per_n_and_the_latex_table(self):
        for n in (2000, 3000):
            for ext in ("png", "svg"):
                path = os.path.join(self.out, "figures", "fig_j_churn_%d_glibc.%s" % (n, ext))
                self.assertGreater(os.path.getsize(path), 1000, path)
        self.assertIn("fig_j_churn_2000_glibc", self.md)
        with open(os.path.join(self.out, "tables", "persistent_churn.tex"), encoding="utf-8") as f:
            self.assertIn("tab:persistent-churn", f.read())

    def test_compare_reads_churn_directories(self):
        rc, out, err = testing.run(["--compare", self.dir, self.dir])
        self.assertEqual(rc, 0, err)
        self.assertIn("persistent_churn:glibc/newest/bump_pool/n:2000", out)
        self.assertIn("slots_per_update", out)
        self.assertIn("no significant regression", out)

    def test_a_directory_without_churn_results_is_an_input_error(self):
        empty = testing.tmpdir("no_churn")
        rc, _, err = testing.run(["--churn-results", empty, "--out",
                                  testing.tmpdir("churn_report_2")])
        self.assertEqual(rc, 2)
        self.assertIn("holds no persistent_churn results", err)


if __name__ == "__main__":
    unittest.main()
