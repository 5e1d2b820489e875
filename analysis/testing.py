"""What the analysis tests share: the real experiment binaries (runfiles), producing real result
files into the test's temporary directory, and report.main run in-process."""

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile

from analysis import report


def runfile(*parts):
    """A file of the workspace in the test's runfiles (or the source tree outside Bazel)."""
    roots = []
    if os.environ.get("TEST_SRCDIR"):
        roots.append(os.path.join(os.environ["TEST_SRCDIR"], "hamt_alloc"))
    roots.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    for root in roots:
        path = os.path.join(root, *parts)
        if os.path.exists(path):
            return path
    raise RuntimeError("%s not found in %s" % (os.path.join(*parts), roots))


POOL_BINARY = ("experiments", "pool_exhaustion", "pool_exhaustion_glibc")
MATRIX_DRIVER = ("experiments", "allocator_matrix", "allocator_matrix")
TIMELINE_BINARY = ("experiments", "memory_timeline", "memory_timeline_glibc")
CHURN_BINARY = ("experiments", "persistent_churn", "persistent_churn_glibc")
RECORD_BINARY = ("experiments", "replay", "record")
REPLAY_BINARY = ("experiments", "replay", "replay_glibc")
REFERENCE = ("experiments", "reference", "pool_exhaustion_reference.csv")


def tmpdir(name):
    base = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
    path = os.path.join(base, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def run_binary(parts, args):
    """Runs a workbench binary; returns (exit status, stdout, stderr)."""
    p = subprocess.run([runfile(*parts)] + args, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def check_run(parts, args):
    rc, out, err = run_binary(parts, args)
    if rc != 0:
        raise AssertionError("%s %s exited %d:\n%s" % (parts[-1], " ".join(args), rc, err[-2000:]))
    return out


# Small but complete configurations: every finding judged, every file written.
POOL_ARGS = ["--n=1000,3000,20000", "--pools=4096,1000000", "--repetitions=3",
             "--capacity_search_limit=300K", "--finding4_fallbacks=malloc,jemalloc",
             "--finding4_pages=lazy,prefault"]
SWEEP_ARGS = ["--sweep", "--n=1K,3K,10K", "--pools=16384,65536,262144", "--capacity_search_limit=300K",
              "--jobs=1"]
MATRIX_ARGS = ["--quick", "--repetitions=3", "--threads=1",
               "--filter=^(insert_seq|find_hit|churn)/[^/]+/keys:1000/"]


def run(argv):
    """Runs report.main(argv) in-process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = report.main(argv)
        except SystemExit as e:  # argparse
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def published(directory, stem):
    return os.path.realpath(os.path.join(directory, stem + ".current"))


def edit_json(path, edit):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    edit(doc)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def markdown_table(md, heading):
    """The first Markdown table after `heading`: (header, rows of cells)."""
    start = md.index(heading)
    lines = md[start:].split("\n")
    table = []
    for line in lines[1:]:
        if line.startswith("|"):
            table.append([c.strip().replace("\\|", "|") for c in line.strip("|").split(" | ")])
        elif table:
            break
    return table[0], table[2:]


def assert_table_shows_rows(test, md, heading, columns, rows, keys):
    """The Markdown table after `heading` has the section's `columns` ((name, kind) pairs, as in
    report.py) for header and shows each of `rows` (read from the result file) exactly as the
    report formats it (report.column_formats). Rows are matched on the shown values of `keys`."""
    header, table = markdown_table(md, heading)
    names = [c for c, _ in columns]
    test.assertEqual(header, names)
    test.assertEqual(len(table), len(rows))
    formats = report.column_formats(columns)
    shown = lambda col, value: formats[col](value) if col in formats else str(value)
    by_key = {tuple(r[names.index(k)] for k in keys): r for r in table}
    for _, row in rows.iterrows():
        r = by_key[tuple(shown(k, row[k]) for k in keys)]
        for i, col in enumerate(names):
            test.assertEqual(r[i], shown(col, row[col]), "%s: %s" % (
                "/".join(str(row[k]) for k in keys), col))


def copy_published(directory, stem, dest):
    """Copies the files of `stem`'s published run in `directory` into `dest` (made if missing): a
    set of its own, without run links, ready to be altered."""
    os.makedirs(dest, exist_ok=True)
    src = published(directory, stem)
    for name in os.listdir(src):
        if os.path.isfile(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), dest)
    return dest


def set_hosts(path, host_of, section=None):
    """Gives records of a result file another host class, as a merged sharded run's would carry:
    host_of(record as a dict of strings or JSON values) returns the new class, or None to keep
    the record's. A JSON file's `section`; a CSV's rows."""
    if path.endswith(".json"):
        def edit(doc):
            for record in doc[section]:
                host = host_of(record)
                if host is not None:
                    record["host"] = host
        edit_json(path, edit)
        return
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    for row in rows[1:]:
        host = host_of(dict(zip(header, row)))
        if host is not None:
            row[header.index("host")] = host
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def host_sections(md, heading):
    """The per-host-class subsections (#### Host class `h`) of the section that starts at
    `heading`, up to the next ### or ## heading: {host: text}."""
    start = md.index(heading) + len(heading)
    ends = [i for i in (md.find("\n### ", start), md.find("\n## ", start)) if i >= 0]
    section = md[start:min(ends) if ends else len(md)]
    parts = section.split("#### Host class `")[1:]
    return {p[:p.index("`")]: p for p in parts}
