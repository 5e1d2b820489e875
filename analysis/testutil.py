"""Shared helpers for the analysis tests: fixture paths and running main() quietly."""

import contextlib
import io
import os

from analysis import report


def testdata(*parts):
    """A path under analysis/testdata, in the runfiles tree under bazel test."""
    candidates = []
    if os.environ.get("TEST_SRCDIR"):
        candidates.append(os.path.join(os.environ["TEST_SRCDIR"], "hamt_alloc", "analysis",
                                       "testdata"))
    candidates.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata"))
    for c in candidates:
        if os.path.isdir(c):
            return os.path.join(c, *parts)
    raise RuntimeError("analysis/testdata not found (tried %s)" % candidates)


def run(argv):
    """Runs report.main(argv) in-process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = report.main(argv)
        except SystemExit as e:  # argparse
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def report_args(out_dir, pool=None, matrix=None, reference=None):
    return ["--pool-results", pool or testdata("pool_exhaustion"),
            "--matrix-results", matrix or testdata("allocator_matrix"),
            "--reference", reference or testdata("reference", "pool_exhaustion_reference.csv"),
            "--out", out_dir]
