"""One build at a time, and clean recovery (issue 20): the project lock, the safe swap, the
leftovers of killed builds and a complete search index.

The build tests run ``nhsbook build`` as subprocesses in a temporary copy of the project with
a tiny book (the finance page of two PCTs: 7 documents), built once for the module.  Builds
are paused at a chosen step with the test hook ``NHSBOOK_TEST_PAUSE=<step>:<file>``
(:mod:`nhsbook.build.testhook`) and killed there with ``SIGKILL`` (their whole process group:
workers, kernels, jupyter-book).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nhsbook.config.book import copy_project
from nhsbook.build import lock, publish, recovery

TINY = """name: tiny
title: Tiny test book
loader: embedded
data: data/default
synthetic: true
pages:
  - part: Finance
    areas: {5N7: NHS Derby City PCT, 5N6: NHS Derbyshire County PCT}
    notebooks: [finance]
"""
PLANNED = ["areas/5N7/finance", "areas/5N6/finance"]


# ----------------------------------------------------------------------------- helpers


def _start(copy: Path, *args: str, pause: str | None = None, out: Path | None = None):
    env = {**os.environ, "NHSBOOK_ROOT": str(copy), "PYTHONUNBUFFERED": "1"}
    env.pop("NHSBOOK_TEST_PAUSE", None)
    if pause:
        env["NHSBOOK_TEST_PAUSE"] = pause
    out = out or copy / f"run-{time.time_ns()}.log"
    fh = out.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nhsbook.cli", "build", "--book", "tiny", "--jobs", "2", *args],
        cwd=copy,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log = out  # type: ignore[attr-defined]
    fh.close()
    return proc


def _text(proc) -> str:
    return proc.log.read_text(encoding="utf-8", errors="replace")


def _finish(proc, timeout: float = 600) -> tuple[int, str]:
    rc = proc.wait(timeout=timeout)
    return rc, _text(proc)


def _build(copy: Path, *args: str) -> str:
    rc, text = _finish(_start(copy, *args))
    assert rc == 0, text[-3000:]
    return text


def _wait_for(path: Path, proc, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(
                f"the build ended (status {proc.returncode}) before reaching "
                f"{path.name}:\n{_text(proc)[-3000:]}"
            )
        if time.time() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the build did not reach {path.name} in {timeout} s")
        time.sleep(0.1)


def _kill(proc) -> None:
    """SIGKILL the build's whole process group and wait until every member is gone."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def toc_docs(book: Path) -> set[str]:
    """Every document of the table of contents (root, chapters, sections)."""
    toc = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))
    docs = {toc["root"]}

    def walk(items):
        for item in items or []:
            if "file" in item:
                docs.add(item["file"])
            walk(item.get("chapters"))
            walk(item.get("sections"))

    walk(toc.get("parts"))
    return docs


def indexed_docs(site: Path) -> list[str]:
    """The documents Sphinx's search index covers (``docnames`` of ``searchindex.js``)."""
    text = (site / "searchindex.js").read_text(encoding="utf-8").strip()
    assert text.startswith("Search.setIndex(") and text.endswith(")"), text[:80]
    return json.loads(text[len("Search.setIndex(") : -1])["docnames"]


def assert_complete(copy: Path) -> Path:
    """The published site is a link to a folder of build/sites/ with index.html and every
    document of the toc, each indexed for search (no more, no fewer)."""
    site = copy / "book" / "_build" / "html"
    assert site.is_symlink(), "book/_build/html is not a link"
    target = publish.link_target(site)
    assert target.parent == (copy / "build" / "sites").resolve() and target.is_dir(), target
    assert (site / "index.html").is_file()
    docs = toc_docs(copy / "book")
    assert set(PLANNED) <= docs
    missing = sorted(d for d in docs if not (site / f"{d}.html").is_file())
    assert not missing, f"pages not published: {missing}"
    indexed = indexed_docs(site)
    assert len(indexed) == len(set(indexed))
    assert set(indexed) == docs, (
        f"search index covers {len(indexed)} of {len(docs)} pages; "
        f"missing {sorted(docs - set(indexed))}"
    )
    return target


def assert_no_leftovers(copy: Path) -> None:
    build = copy / "build"
    staging = build / "staging"
    assert not (staging.is_dir() and any(staging.iterdir())), list(staging.iterdir())
    site = copy / "book" / "_build" / "html"
    assert [p.resolve() for p in (build / "sites").iterdir()] == [publish.link_target(site)]
    assert not list(site.parent.glob("*.new"))
    assert not list((build / "jupyter-book").glob(f"*/{recovery.INCOMPLETE}"))
    assert not list((build / "state").rglob("*.tmp"))


def _edit_methods(copy: Path, text: str) -> None:
    path = copy / "book" / "methods.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\n\n{text}\n", encoding="utf-8")


def _edit_notebook(copy: Path, text: str) -> None:
    path = copy / "notebooks" / "finance.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": text})
    path.write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture(scope="module")
def project(root, tmp_path_factory):
    """A copy of the project with the tiny book, built once (site included)."""
    copy = tmp_path_factory.mktemp("lock") / "proj"
    copy_project(root, copy)
    (copy / "books" / "tiny.yml").write_text(TINY, encoding="utf-8")
    _build(copy)
    assert_complete(copy)
    return copy


# ------------------------------------------------------------------ lock (no build needed)


def _holder_script(root: Path, reached: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys, time, pathlib; from nhsbook.build import lock\n"
        f"with lock.hold(pathlib.Path({str(root)!r}), 'held-book'):\n"
        f"    pathlib.Path({str(reached)!r}).write_text('x')\n"
        "    time.sleep(600)\n",
    ]


def test_the_lock_names_its_holder_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    reached = tmp_path / "reached"
    proc = subprocess.Popen(_holder_script(tmp_path, reached))
    try:
        _wait_for(reached, proc, 60)
        with pytest.raises(lock.LockBusy) as busy:
            with lock.hold(tmp_path, "other", wait=0):
                pass
        msg = str(busy.value)
        assert msg.startswith(f"another nhsbook build (pid {proc.pid}, started ")
        assert "book held-book) holds the project lock" in msg and "--no-wait" in msg
        t0 = time.monotonic()
        with pytest.raises(lock.LockBusy, match=r"gave up after 0\.5 s"):
            with lock.hold(tmp_path, "other", wait=0.5, log=lambda _: None):
                pass
        assert time.monotonic() - t0 >= 0.5
    finally:
        proc.kill()
        proc.wait()
    # SIGKILL: the kernel released the flock; nothing to clean, no stale lock
    with lock.hold(tmp_path, "mine", wait=0) as path:
        assert json.loads(path.read_text())["book"] == "mine"
        with lock.hold(tmp_path, "mine", wait=0):  # re-entrant in one process
            pass
    assert path.read_text() == ""  # released: names nobody


def test_a_waiting_build_gets_the_lock_when_the_holder_finishes(tmp_path):
    reached = tmp_path / "reached"
    script = _holder_script(tmp_path, reached)
    script[-1] = script[-1].replace("time.sleep(600)", "time.sleep(1.5)")
    proc = subprocess.Popen(script)
    _wait_for(reached, proc, 60)
    said = []
    t0 = time.monotonic()
    with lock.hold(tmp_path, "waiter", wait=60, log=said.append):
        waited = time.monotonic() - t0
    proc.wait()
    assert waited > 0.5
    assert said[0].startswith(f"another nhsbook build (pid {proc.pid}")
    assert said[0].endswith("waiting… (Ctrl-C to stop; --no-wait exits at once)")
    assert said[1].startswith("got the project lock after")


# --------------------------------------------------------------------- swap and leftovers


def _site(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(text, encoding="utf-8")
    return folder


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_swap_keeps_the_live_site_and_another_running_builds_site(tmp_path):
    sites, published = tmp_path / "build" / "sites", tmp_path / "book" / "_build" / "html"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        other = _site(sites / f"site-20260101-000000-{live.pid}", "another build's new site")
        dead = _site(sites / f"site-20260101-000000-{_dead_pid()}", "a killed build's site")
        legacy = _site(sites / "site-legacy", "old")
        # the published link is dangling (its site was deleted): swap simply replaces it
        published.parent.mkdir(parents=True)
        published.symlink_to("../../build/sites/site-gone")
        first = publish.swap(_site(tmp_path / "stage1", "one"), published, sites)
        assert (published / "index.html").read_text() == "one"
        assert other.is_dir() and not dead.exists() and not legacy.exists()
        second = publish.swap(_site(tmp_path / "stage2", "two"), published, sites)
        assert second != first and (published / "index.html").read_text() == "two"
        assert sorted(p.name for p in sites.iterdir()) == sorted([other.name, second.name])
        assert not list(published.parent.glob("*.new"))
    finally:
        live.kill()
        live.wait()


def test_remove_old_sites_never_removes_the_folder_the_link_points_at(tmp_path):
    sites, published = tmp_path / "build" / "sites", tmp_path / "html"
    current = _site(sites / f"site-20260101-000000-{_dead_pid()}", "live")
    older = _site(sites / f"site-20260101-000001-{_dead_pid()}-1", "older")
    published.symlink_to(current)
    removed = publish.remove_old_sites(sites, published)
    assert removed == [older]
    assert [p.name for p in sites.iterdir()] == [current.name]


def test_swap_refuses_a_site_without_index_and_leaves_the_published_one(tmp_path):
    sites, published = tmp_path / "build" / "sites", tmp_path / "html"
    publish.swap(_site(tmp_path / "s1", "one"), published, sites)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no index.html"):
        publish.swap(tmp_path / "empty", published, sites)
    assert (published / "index.html").read_text() == "one"


def test_clean_leftovers_removes_each_kind_and_says_so_in_one_line(tmp_path):
    build, published = tmp_path / "build", tmp_path / "book" / "_build" / "html"
    live = _site(build / "sites" / "site-20260101-000000-1", "published")
    published.parent.mkdir(parents=True)
    published.symlink_to(os.path.relpath(live, published.parent))
    stage = _site(build / "staging" / "tiny-123-456" / "html", "x" * 3 * 2**20)
    _site(build / "sites" / "site-20260101-000001-2", "partial")
    (published.parent / "html.77.new").symlink_to("../../build/sites/site-20260101-000001-2")
    (build / "state").mkdir(parents=True)
    (build / "state" / "pages.json.77.tmp").write_text("{")
    reports = tmp_path / "book" / "_extra" / "reports"
    reports.mkdir(parents=True)
    (reports / "E38000115.pdf").write_text("%PDF- made")
    (reports / "SYN01.4242.pdf.tmp").write_text("%PDF- half")  # a report worker killed
    recovery.mark_incomplete(build / "jupyter-book" / "tiny")
    line = recovery.clean_leftovers(tmp_path, published)
    assert line == (
        "removed what an interrupted build left: 1 staging folder (3 MiB), "
        "1 unpublished site folder (0 KiB), 1 unpublished site link, "
        "1 temporary state file, 1 report being written; jupyter-book did not finish "
        "for book tiny: its next site build starts from scratch"
    )
    assert [p.name for p in reports.iterdir()] == ["E38000115.pdf"]
    assert not stage.parent.exists() and [p.name for p in (build / "sites").iterdir()] == [
        live.name
    ]
    assert (published / "index.html").read_text() == "published"
    assert not list(published.parent.glob("*.new"))
    assert recovery.clean_leftovers(tmp_path, published).startswith("jupyter-book did not")
    recovery.clear_incomplete(build / "jupyter-book" / "tiny")
    assert recovery.clean_leftovers(tmp_path, published) == ""


def test_clean_leftovers_drops_a_dangling_published_link(tmp_path):
    published = tmp_path / "book" / "_build" / "html"
    published.parent.mkdir(parents=True)
    published.symlink_to("../../build/sites/site-gone")
    line = recovery.clean_leftovers(tmp_path, published)
    assert (
        line == "removed what an interrupted build left: the link html to the missing "
        "site site-gone"
    )
    assert not published.is_symlink()


# ------------------------------------------------------------------------- real builds


def test_the_built_site_indexes_every_page_of_the_toc(project):
    site = project / "book" / "_build" / "html"
    assert sorted(indexed_docs(site)) == sorted(toc_docs(project / "book"))
    # the tiny book's pages and the generated ones (index, areas, data sources, validation
    # and definitions)
    assert len(indexed_docs(site)) == 8
    assert_no_leftovers(project)


def test_two_builds_at_once_publish_one_complete_site_and_the_other_waits(project, tmp_path):
    _edit_methods(project, "Edited while two builds ran.")
    files = [tmp_path / "a.reached", tmp_path / "b.reached"]
    procs = [_start(project, pause=f"lock:{f}") for f in files]
    deadline = time.time() + 120
    while not any(f.exists() for f in files):
        assert time.time() < deadline, [_text(p) for p in procs]
        time.sleep(0.1)
    first = 0 if files[0].exists() else 1
    holder, waiter = procs[first], procs[1 - first]
    while "waiting…" not in _text(waiter):
        assert time.time() < deadline and waiter.poll() is None, _text(waiter)
        time.sleep(0.1)
    assert f"another nhsbook build (pid {holder.pid}, started " in _text(
        waiter
    ) and "book tiny) holds the project lock" in _text(waiter)
    # while it is held: --no-wait exits at once with 75, --wait gives up after a while
    rc, text = _finish(_start(project, "--no-wait"), 120)
    assert rc == lock.EXIT_BUSY == 75
    assert (
        f"nhsbook build: another nhsbook build (pid {holder.pid}, started " in text
        and "; not waiting (--no-wait)" in text
    )
    rc, text = _finish(_start(project, "--wait", "1"), 120)
    assert rc == 75 and "nhsbook build: gave up after 1 s: another nhsbook build" in text
    files[first].unlink()  # the holder carries on and publishes
    _wait_for(files[1 - first], waiter, 600)  # the waiter got the lock...
    assert "built the site" in _text(holder)  # ...only once the holder had published
    assert holder.wait(60) == 0, _text(holder)
    files[1 - first].unlink()
    rc, text = _finish(waiter)
    assert rc == 0, text
    assert "got the project lock after" in text and "the site is current" in text
    assert_complete(project)
    assert_no_leftovers(project)  # exactly one site folder, the published one
    assert "Edited while two builds ran." in (
        project / "book" / "_build" / "html" / "methods.html"
    ).read_text(encoding="utf-8")


def test_a_build_killed_while_holding_the_lock_leaves_no_stale_lock(project, tmp_path):
    reached = tmp_path / "reached"
    proc = _start(project, pause=f"lock:{reached}")
    _wait_for(reached, proc, 120)
    _kill(proc)
    rc, text = _finish(_start(project, "--no-wait"))
    assert rc == 0, text
    assert "holds the project lock" not in text


#: Each step: what to change so that the killed build does that step, extra arguments, the
#: leftover the kill must leave, the recovery build's report, and the published page (with
#: the text) that shows the change.
STEPS = {
    "notebooks": ("notebook", (), None, None, "areas/5N7/finance.html"),
    # --force builds the site from scratch; killed after Sphinx wrote every page and before
    # its search index, an incremental rebuild would index only the pages it rewrote
    "jupyter-book": (
        "methods",
        ("--force",),
        f"build/jupyter-book/tiny/{recovery.INCOMPLETE}",
        "jupyter-book did not finish for book tiny: its next site build starts from scratch",
        "methods.html",
    ),
    "staging": ("methods", (), "build/staging/*", "1 staging folder (", "methods.html"),
    "swap": (
        "methods",
        (),
        "book/_build/html.*.new",
        "1 unpublished site folder (",
        "methods.html",
    ),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_build_killed_at_each_step_then_a_normal_build_recovers(project, tmp_path, step):
    change, args, leftover, report, page = STEPS[step]
    text = f"Edit before a build killed at {step}."
    (_edit_notebook if change == "notebook" else _edit_methods)(project, text)
    site = project / "book" / "_build" / "html"
    before = os.readlink(site)
    index = (site / "index.html").read_bytes()

    reached = tmp_path / f"{step}.reached"
    proc = _start(project, *args, pause=f"{step}:{reached}")
    _wait_for(reached, proc, 400)
    _kill(proc)
    # the published site is the previous one, whole
    assert os.readlink(site) == before and (site / "index.html").read_bytes() == index
    if leftover:
        assert list(project.glob(leftover)), f"the kill at {step} left no {leftover}"

    rc, out = _finish(_start(project, "--wait", "120"))
    assert rc == 0, out[-3000:]
    if report:
        assert report in out, out
    assert "built the site" in out
    assert_complete(project)
    assert_no_leftovers(project)
    assert text in (site / page).read_text(encoding="utf-8")
