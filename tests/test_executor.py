"""Pages run as tasks on a Dask distributed cluster (LocalCluster on loopback), and one failing
page is reported with its area and notebook while the others are built."""

from __future__ import annotations


import pytest

from nhsbook.config.book import copy_project
from nhsbook.build.book import BuildFailed, build
from nhsbook.build.executor import DaskExecutor, LocalExecutor, PageRun, execute_page

BOOK = """name: dask
title: Dask test book
loader: embedded
data: data/default
synthetic: true
pages:
  - part: Health profiles
    area_types: [ccg, locality]
    notebooks: [jsna_profile]
  - part: Nowhere
    areas: {NOWHERE: An area the data do not have}
    notebooks: [jsna_profile]
"""


@pytest.fixture(scope="module")
def project(root, tmp_path_factory):
    copy = tmp_path_factory.mktemp("dask") / "proj"
    copy_project(root, copy)
    (copy / "books" / "dask.yml").write_text(BOOK, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("NHSBOOK_ROOT", str(copy))
    yield copy
    mp.undo()


@pytest.fixture(scope="module")
def cluster(project):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def test_a_build_through_dask_reports_the_failing_area_and_builds_the_others(project, cluster):
    with pytest.raises(BuildFailed) as err:
        build("dask", scheduler=cluster.scheduler_address, site=False, log=lambda *_: None)
    message = str(err.value)
    assert "1 of 7 notebook runs failed" in message
    assert "jsna_profile for area NOWHERE: KeyError" in message
    assert "nothing was published" in message
    assert not (project / "book" / "_build" / "html").exists()
    for code in ("E38000115", "ND-CHE", "ND-DRO", "ND-HPK", "ND-NDA", "ND-NEA"):
        assert (project / "book" / "areas" / code / "jsna_profile.ipynb").is_file(), code


def test_without_the_failing_page_the_dask_build_completes_and_reuses_pages(project, cluster):
    book = project / "books" / "dask.yml"
    book.write_text(BOOK.split("  - part: Nowhere")[0], encoding="utf-8")
    result = build("dask", scheduler=cluster.scheduler_address, site=False, log=lambda *_: None)
    assert result.ran == []  # the six pages built through Dask were recorded
    assert len(list((project / "book" / "areas").glob("*/jsna_profile.ipynb"))) == 6


def test_a_page_error_is_named_by_papermill_ename_and_evalue(project):
    run = PageRun("jsna_profile", "NOWHERE", "Nowhere", "dask", str(project))
    outcome = execute_page(run)
    assert not outcome.ok
    assert outcome.error.startswith("KeyError: ")
    assert "NOWHERE" in outcome.error
    assert str(outcome).startswith("jsna_profile for area NOWHERE: KeyError")


def test_executors_return_nothing_for_no_runs():
    assert LocalExecutor(2).map([]) == []
    assert DaskExecutor("tcp://127.0.0.1:1").map([]) == []
