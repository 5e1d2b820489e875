"""Malformed inputs: real result files altered in every way a file can go wrong. Each must stop
the report with one line naming the file (and line), exit status 2, never a traceback."""

import json
import os
import shutil
import unittest

from analysis import schema, testing


class MalformedInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.src = testing.tmpdir("malformed_src")
        testing.check_run(testing.POOL_BINARY, ["--n=1000,3000", "--pools=4096", "--repetitions=2",
                                                "--capacity_search_limit=10K", "--quiet",
                                                "--out=" + cls.src])
        run = testing.published(cls.src, "pool_exhaustion")
        with open(os.path.join(run, "pool_exhaustion.json"), encoding="utf-8") as f:
            cls.json_text = f.read()
        with open(os.path.join(run, "pool_exhaustion.csv"), encoding="utf-8") as f:
            cls.csv_text = f.read()

    def check(self, csv_text, json_text, expect):
        d = testing.tmpdir("malformed")
        with open(os.path.join(d, "pool_exhaustion.csv"), "w", encoding="utf-8") as f:
            f.write(csv_text)
        with open(os.path.join(d, "pool_exhaustion.json"), "w", encoding="utf-8") as f:
            f.write(json_text)
        rc, _, err = testing.run(["--pool-results", d, "--matrix-results", d, "--out",
                                  testing.tmpdir("malformed_out")])
        self.assertEqual(rc, 2, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertNotIn("Traceback", err)
        self.assertIn(expect, err)
        return err

    def json_variant(self, edit, expect):
        doc = json.loads(self.json_text)
        edit(doc)
        text = json.dumps(doc, indent=2) + "\n"
        # The CSV must agree with the JSON's rows, or that is what gets reported.
        return self.check(self.csv_text, text, expect)

    def test_json_variants(self):
        def setrow(field, value):
            return lambda d: d["rows"][0].__setitem__(field, value)
        variants = [
            (lambda d: d.pop("findings"), "missing section 'findings'"),
            (lambda d: d.__setitem__("sizing", {}), "sizing: unknown section"),
            (lambda d: d["rows"][0].pop("n"), "missing field 'n'"),
            (setrow("surprise", 1), "rows[0].surprise: unknown field"),
            (setrow("n", 1000.5), "rows[0].n: expected a whole number"),
            (setrow("n", "1000"), "rows[0].n: expected a whole number"),
            (setrow("n", True), "rows[0].n: expected a whole number"),
            (setrow("n", None), "rows[0].n: may not be null"),
            (setrow("policy", "arena"), "is not one of bump_pool, slot_recycler, malloc"),
            (setrow("insert_ns_reps", [1, "x"]), "expected a list of finite numbers"),
            (setrow("prefault", "no"), "expected true or false"),
            (lambda d: d["rows"].append(d["rows"][0]), "duplicate of rows[0]"),
            (lambda d: d.__setitem__("rows", {}), "rows: expected a list"),
            (lambda d: d["metadata"].__setitem__("argv", "x"), "expected a list of strings"),
            (lambda d: d["findings"][0].__setitem__("verdict", "maybe"), "is not one of"),
        ]
        for edit, expect in variants:
            with self.subTest(expect=expect):
                err = self.json_variant(edit, expect)
                self.assertRegex(err, r"pool_exhaustion\.json line \d+: ")
        # Not JSON at all, cut off, or with a non-finite number.
        with self.subTest("truncated"):
            self.check(self.csv_text, self.json_text[:len(self.json_text) // 2], "invalid JSON")
        with self.subTest("NaN"):
            text = self.json_text.replace('"fallback_pct": 0', '"fallback_pct": NaN', 1)
            self.assertNotEqual(text, self.json_text)
            self.check(self.csv_text, text, "NaN is not valid JSON")
        with self.subTest("Infinity"):
            text = self.json_text.replace('"fallback_pct": 0', '"fallback_pct": -Infinity', 1)
            self.check(self.csv_text, text, "Infinity is not valid JSON")
        with self.subTest("not an object"):
            self.check(self.csv_text, "[1, 2]\n", "expected a JSON object")

    def test_csv_variants(self):
        lines = self.csv_text.split("\n")
        header = lines[0].split(",")
        col = header.index("slots_per_entry")

        def with_field(value):
            fields = lines[1].split(",")
            fields[col] = value
            return "\n".join([lines[0], ",".join(fields)] + lines[2:])
        variants = [
            (self.csv_text[:-3], "no newline at the end"),
            (with_field("nan"), "line 2: column slots_per_entry: 'nan' is not a finite number"),
            (with_field("inf"), "is not a finite number"),
            (with_field(""), "line 2: column slots_per_entry: empty value"),
            (with_field("x"), "'x' is not a number"),
            (self.csv_text.replace("schema_version,", "version,", 1), "header lacks column"),
            (self.csv_text.replace(lines[0] + "\n", lines[0] + ",extra\n", 1),
             "unknown column 'extra'"),
            (self.csv_text + lines[1] + "\n", "duplicate of line 2"),
            (self.csv_text + "2,grid\n",
             "expected %d fields, got 2" % len(schema.names("pool_cell"))),
        ]
        for text, expect in variants:
            with self.subTest(expect=expect):
                err = self.check(text, self.json_text, expect)
                self.assertIn("pool_exhaustion.csv line ", err)

    def test_csv_and_json_from_different_runs(self):
        fields = self.csv_text.split("\n")[1].split(",")
        i = self.csv_text.split("\n")[0].split(",").index("insert_ns_per_op")
        fields[i] = "1234.5"
        text = self.csv_text.replace(self.csv_text.split("\n")[1], ",".join(fields), 1)
        self.check(text, self.json_text, "differ from pool_exhaustion.json's")

    def test_every_record_reads_its_own_schema(self):
        # The reference CSV, an input, reads through the same schema.
        ref = schema.read_csv(testing.runfile(*testing.REFERENCE), "reference_row", comments=True)
        self.assertEqual(len(ref), 8)
        self.assertEqual(int(ref[(ref["n"] == 100000) & (ref["pool_slots"] == 65536)]
                             ["fallback_allocations"].iloc[0]), 683500)


if __name__ == "__main__":
    unittest.main()
