"""The persistent-churn section on the experiment's real output: every number in its table equals
the file's, a figure per (N, process malloc), --compare on churn directories, and a churn
directory without results is an input error."""

import os
import unittest

from analysis import report, schema, testing
from analysis.testing import markdown_table

HOST_B = "bbbbbbbbbbbb"  # the host class of an imagined second machine


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

    def test_one_host_class_reads_as_before(self):
        self.assertNotIn("host classes", self.md)
        self.assertNotIn("Host class", self.md)
        self.assertFalse(os.path.exists(os.path.join(self.out, "tables",
                                                     "persistent_churn_host_%s.tex" % HOST_B)))

    def test_times_of_two_host_classes_are_in_tables_of_their_own(self):
        split = os.path.join(testing.tmpdir("churn_two_hosts"), "glibc")
        testing.copy_published(self.set_dir, "persistent_churn", split)
        here = schema.read_csv(os.path.join(split, "persistent_churn.csv"), "churn_cell")[
            "host"].iloc[0]
        host_of = lambda r: HOST_B if int(r["n"]) == 3000 else None  # noqa: E731
        testing.set_hosts(os.path.join(split, "persistent_churn.json"), host_of, "cells")
        testing.set_hosts(os.path.join(split, "persistent_churn.csv"), host_of)
        out = testing.tmpdir("churn_two_hosts_report")
        rc, _, err = testing.run(["--churn-results", os.path.dirname(split), "--reference",
                                  "/nonexistent", "--out", out])
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertIn("The cells were measured on 2 host classes", md)
        sections = testing.host_sections(md, "### Every cell")
        self.assertEqual(sorted(sections), sorted([here, HOST_B]))
        for host, text in sections.items():
            header, table = markdown_table(text, "`")
            self.assertIn("ns_per_update", header)
            self.assertEqual({r[header.index("n")] for r in table},
                             {"3,000"} if host == HOST_B else {"2,000"}, host)
            self.assertTrue(os.path.exists(os.path.join(out, "tables",
                                                        "persistent_churn_host_%s.tex" % host)))
        self.assertFalse(os.path.exists(os.path.join(out, "tables", "persistent_churn.tex")))
        # The figures show counts: one per (N, process malloc), as before.
        self.assertIn("fig_j_churn_3000_glibc.png", md)

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
