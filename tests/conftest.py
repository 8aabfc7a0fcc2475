"""Shared fixtures: the repository, the shared data mirror, the default book built once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NHSBOOK_SHARED", ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared folder {SHARED} is missing: set NHSBOOK_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def current(shared) -> Path:
    """The mirror's current (2021-2026) open data folder."""
    return shared / "data" / "current"


@pytest.fixture(scope="session")
def practice_map(current):
    """NHS England's July 2026 practice map, as published (text)."""
    import pandas as pd

    return pd.read_csv(
        current / "gp" / "gp-reg-pat-prac-map_jul2026.zip", dtype=str, keep_default_na=False
    )


@pytest.fixture(scope="session")
def default_book():
    from nhsbook.config.book import load_book

    return load_book("default", root=ROOT)


@pytest.fixture(scope="session")
def computed(default_book):
    """The default book's computed tables (recomputed if the inputs changed)."""
    from nhsbook.pipeline.store import load_computed

    return load_computed(default_book)


@pytest.fixture(scope="session")
def site(default_book) -> Path:
    """The built default site; built here if `make book` has not built it already."""
    from nhsbook.build.book import build
    from nhsbook.pipeline.store import is_current

    index = default_book.site_dir / "index.html"
    pages = default_book.book_dir / "areas"
    if not (index.is_file() and pages.is_dir() and is_current(default_book)):
        build("default")
    return default_book.site_dir


#: Where the browser tests build the derbyshire-2021 book: a project root of its own (the
#: default book's site stays in book/_build/html), kept between sessions so that a session
#: whose code and data did not change reuses it (the build is incremental).
TEST_SITES = ROOT / "build" / "test-sites"


def scratch_root(name: str) -> Path:
    """A project root under :data:`TEST_SITES` sharing this one's notebooks, suites and
    configuration (links) with copies of ``books/``, ``data/`` and the tracked files of
    ``book/`` (a book's paths must resolve inside its project)."""
    import shutil
    import subprocess

    scratch = TEST_SITES / name
    scratch.mkdir(parents=True, exist_ok=True)
    for link in ("_config.yml", "notebooks", "expectations"):
        if not (scratch / link).is_symlink():
            (scratch / link).symlink_to(ROOT / link)
    for folder in ("books", "data"):
        shutil.copytree(ROOT / folder, scratch / folder, dirs_exist_ok=True)
    tracked = subprocess.run(
        ["git", "ls-files", "book"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    for rel in tracked or [str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.md")]:
        target = scratch / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    return scratch


#: The first PCN and practice (by code) of NHS Derby and Derbyshire CCG in QOF 2020-21: the
#: browser tests open one page of each type, so the test copy of the book pages these alone.
DERBYSHIRE_PCN, DERBYSHIRE_PRACTICE = "U05048", "C81001"


def _one_area_of_each_type(path: Path) -> None:
    """The derbyshire-2021 book file of a test copy with the PCN and practice page sets cut to
    one area each (the book's data, hierarchy and every page type unchanged): 20 pages to
    build instead of 292."""
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    sets = []
    for ps in raw["pages"]:
        types = ps.get("area_types") or []
        if "pcn" in types:
            sets.append({**ps, "area_types": [t for t in types if t != "pcn"]})
            sets.append(
                {
                    "part": ps["part"],
                    "notebooks": ps["notebooks"],
                    "areas": {DERBYSHIRE_PCN: "North Hardwick Bolsover PCN"},
                }
            )
        elif types == ["practice"]:
            sets.append(
                {
                    "part": ps["part"],
                    "notebooks": ps["notebooks"],
                    "areas": {DERBYSHIRE_PRACTICE: "Springs Health Centre"},
                }
            )
        else:
            sets.append(ps)
    raw["pages"] = sets
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="session")
def derbyshire_site(shared) -> Path:
    """The derbyshire-2021 book's site, built once per test session in its own project root
    (:func:`scratch_root`) with one PCN and one practice paged (:func:`_one_area_of_each_type`);
    an unchanged book is reused (the incremental build only checks
    that it is current)."""
    import subprocess
    import sys
    import time

    scratch = scratch_root("derbyshire-2021")
    _one_area_of_each_type(scratch / "books" / "derbyshire-2021.yml")
    env = {
        **os.environ,
        "NHSBOOK_ROOT": str(scratch),
        "NHSBOOK_MIRROR": os.environ.get("NHSBOOK_MIRROR", str(shared / "data")),
    }
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nhsbook", "build", "--book", "derbyshire-2021"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"\nderbyshire-2021 site for the browser tests: {time.perf_counter() - t0:.0f} s")
    return scratch / "book" / "_build" / "html"
