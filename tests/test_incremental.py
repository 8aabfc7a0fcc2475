"""Incremental builds and parallel executors, on small books in a temporary copy of the project
(the real ``book/`` is untouched)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nhsbook.config.book import copy_project
from nhsbook.build.book import BuildFailed, build

SMALL = """name: small
title: Small test book
loader: embedded
data: data/default
synthetic: true
pages:
  - part: Health profiles
    area_types: [ccg]
    notebooks: [jsna_profile]
  - part: Finance
    areas: {5N7: NHS Derby City PCT, 5N6: NHS Derbyshire County PCT}
    notebooks: [finance]
"""


def _copy_project(root: Path, dest: Path) -> Path:
    return copy_project(root, dest)


@pytest.fixture(scope="module")
def project(root, tmp_path_factory):
    """A copy of the project with the small book, built once (site included)."""
    copy = _copy_project(root, tmp_path_factory.mktemp("inc") / "proj")
    (copy / "books" / "small.yml").write_text(SMALL, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("NHSBOOK_ROOT", str(copy))
    first = build("small", jobs=2, log=lambda *_: None)
    yield copy, first
    mp.undo()


def _ran(result) -> set[str]:
    return {f"{p.area_code}/{p.notebook}" for p in result.ran}


def test_cold_build_runs_every_page_and_publishes(project):
    copy, first = project
    assert _ran(first) == {"E38000115/jsna_profile", "5N7/finance", "5N6/finance"}
    assert first.site_built
    assert (copy / "book" / "_build" / "html" / "areas" / "5N7" / "finance.html").is_file()


def test_pages_record_what_they_read(project):
    copy, _ = project
    state = json.loads((copy / "build" / "state" / "pages.json").read_text())
    finance = state["5N7/finance"]
    assert finance["recorded"]
    reads = set(finance["reads"])
    assert any(p.endswith("finance/financial_position.csv") for p in reads)
    profile = set(state["E38000115/jsna_profile"]["reads"])
    assert any(p.endswith("small/values.parquet") for p in profile)
    assert not any("/finance/" in p for p in profile)
    wrote = state["E38000115/jsna_profile"]["wrote"]
    assert wrote and all("/_extra/charts/E38000115/jsna_profile-" in p for p in wrote)


def test_a_rebuild_with_nothing_changed_runs_no_notebook_and_keeps_the_site(project):
    copy, _ = project
    site = copy / "book" / "_build" / "html"
    link = os.readlink(site)
    again = build("small", jobs=2, log=lambda *_: None)
    assert again.ran == []
    assert not again.site_built
    assert os.readlink(site) == link


def test_changing_one_finance_input_reruns_only_the_finance_pages(project):
    copy, _ = project
    path = copy / "data" / "default" / "finance" / "baseline_uplift.csv"
    text = path.read_text(encoding="utf-8")
    assert "Re-ablement monies" in text
    path.write_text(text.replace("Re-ablement monies", "Reablement monies"), encoding="utf-8")
    result = build("small", jobs=2, log=lambda *_: None)
    assert _ran(result) == {"5N7/finance", "5N6/finance"}
    assert result.site_built
    page = (copy / "book" / "_build" / "html" / "areas" / "5N7" / "finance.html").read_text(
        encoding="utf-8"
    )
    assert "Reablement monies" in page


def test_editing_a_notebook_reruns_only_its_pages(project):
    copy, _ = project
    path = copy / "notebooks" / "jsna_profile.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "Edited page."})
    path.write_text(json.dumps(nb), encoding="utf-8")
    result = build("small", jobs=2, site=False, log=lambda *_: None)
    assert _ran(result) == {"E38000115/jsna_profile"}


def test_a_changed_input_failing_the_gate_still_stops(project):
    copy, _ = project
    path = copy / "data" / "default" / "synthetic" / "practice_values.csv"
    good = path.read_text(encoding="utf-8")
    header, first, *rest = good.splitlines()
    cols = header.split(",")
    cells = first.split(",")
    cells[cols.index("count")] = "-12"
    path.write_text("\n".join([header, ",".join(cells), *rest]) + "\n", encoding="utf-8")
    try:
        with pytest.raises(BuildFailed, match="input validation failed"):
            build("small", jobs=2, log=lambda *_: None)
    finally:
        path.write_text(good, encoding="utf-8")


def test_switching_books_rebuilds_and_removes_the_other_books_pages(project):
    copy, _ = project
    (copy / "books" / "other.yml").write_text(
        SMALL.replace("name: small", "name: other").split("  - part: Finance")[0], encoding="utf-8"
    )
    other = build("other", jobs=2, site=False, log=lambda *_: None)
    assert _ran(other) == {"E38000115/jsna_profile"}  # its book parameter differs
    assert not (copy / "book" / "areas" / "5N7").exists()
    nb = (copy / "book" / "areas" / "E38000115" / "jsna_profile.ipynb").read_text()
    assert 'book = \\"other\\"' in nb or "book = \\\"other\\\"" in nb or '"other"' in nb
    back = build("small", jobs=2, site=False, log=lambda *_: None)
    assert _ran(back) == {"E38000115/jsna_profile", "5N7/finance", "5N6/finance"}


DEPS_SCRIPT = """
import os, sys
from pathlib import Path
from nhsbook.core import page_inputs
d = Path(sys.argv[1]); data = d / "data"
os.environ[page_inputs.ROOTS_ENV] = str(data)
page_inputs.install()
os.environ[page_inputs.DEPS_ENV] = str(d / "page1.jsonl")
open(data / "a.csv").read(); open(data / "a.csv").read()
open(d / "outside.txt", "w").write("not an input")
(data / "out.csv").write_text("written")
with page_inputs.untracked():
    open(data / "b.csv").read()
os.environ[page_inputs.DEPS_ENV] = str(d / "page2.jsonl")   # a reused kernel, the next page
open(data / "b.csv").read()
os.environ.pop(page_inputs.DEPS_ENV)
open(data / "a.csv").read()
"""


def test_the_audit_hook_records_reads_and_writes_under_the_roots_per_page(tmp_path):
    import subprocess
    import sys

    from nhsbook.core import page_inputs

    (tmp_path / "data").mkdir()
    for name in ("a.csv", "b.csv"):
        (tmp_path / "data" / name).write_text("x")
    subprocess.run([sys.executable, "-c", DEPS_SCRIPT, str(tmp_path)], check=True)
    data = tmp_path / "data"
    assert page_inputs.read(tmp_path / "page1.jsonl") == (
        {str(data / "a.csv")},
        {str(data / "out.csv")},
    )
    assert page_inputs.read(tmp_path / "page2.jsonl") == ({str(data / "b.csv")}, set())
    lines = (tmp_path / "page1.jsonl").read_text().splitlines()
    assert len(lines) == 2  # each file once


REMEMBER_SCRIPT = """
import os, sys
from pathlib import Path
from nhsbook.core import page_inputs
d = Path(sys.argv[1]); data = d / "data"
os.environ[page_inputs.ROOTS_ENV] = str(data)
page_inputs.install()
calls = []

@page_inputs.remember()
def table():
    calls.append(1)
    return open(data / "a.csv").read()

for page in ("page1", "page2"):     # a warm kernel: the second page gets the cached table
    os.environ[page_inputs.DEPS_ENV] = str(d / f"{page}.jsonl")
    assert table() == "x"
assert len(calls) == 1
"""


def test_a_cached_loader_records_its_files_for_every_page_that_uses_it(tmp_path):
    import subprocess
    import sys

    from nhsbook.core import page_inputs

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x")
    subprocess.run([sys.executable, "-c", REMEMBER_SCRIPT, str(tmp_path)], check=True)
    for page in ("page1", "page2"):
        assert page_inputs.read(tmp_path / f"{page}.jsonl") == (
            {str(tmp_path / "data" / "a.csv")},
            set(),
        )


def test_the_stored_tables_are_recomputed_when_the_code_changes(
    monkeypatch, default_book, computed
):
    """The stored tables record the code that computed them (a sha256 of nhsbook's source):
    with the same inputs but other code they are no longer current, so a build after an
    update of nhsbook computes them again instead of drawing pages from stale tables."""
    import json

    from nhsbook.config import sources
    from nhsbook.pipeline import store

    manifest = json.loads((default_book.cache_dir / "manifest.json").read_text())
    assert manifest["code"] == sources.package_digest()
    assert store.is_current(default_book)
    monkeypatch.setattr(sources, "package_digest", lambda: "another version of nhsbook")
    assert not store.is_current(default_book)


def test_the_stored_tables_are_read_once_and_every_caller_gets_its_own_copy(
    monkeypatch, default_book, computed, tmp_path
):
    """Issue 26: a process drawing many pages reads the stored tables once while their
    files stay the same; a caller that changes its tables in place changes nothing for the
    next caller, and rewritten files are read again."""
    import shutil

    import pandas as pd

    from nhsbook.pipeline import store

    reads: list[str] = []
    real = pd.read_parquet
    monkeypatch.setattr(
        pd, "read_parquet", lambda p, *a, **k: (reads.append(str(p)), real(p, *a, **k))[1]
    )
    monkeypatch.setattr(store, "_read", None)
    first = store.load_computed(default_book)
    assert len(reads) == len(store.TABLES)
    first["values"].iloc[0, 0] = "changed in place"
    first["areas"].drop(first["areas"].index, inplace=True)
    second = store.load_computed(default_book)
    assert len(reads) == len(store.TABLES)  # not read again
    for t in store.TABLES:
        pd.testing.assert_frame_equal(second[t], computed[t])
    # a table file written anew (same content, new inode and time) is read again
    path = default_book.cache_dir / "areas.parquet"
    shutil.copy2(path, tmp_path / "areas.parquet")
    path.unlink()
    shutil.copy(tmp_path / "areas.parquet", path)
    store.load_computed(default_book)
    assert len(reads) == 2 * len(store.TABLES)
