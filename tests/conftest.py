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
    return pd.read_csv(current / "gp" / "gp-reg-pat-prac-map_jul2026.zip", dtype=str,
                       keep_default_na=False)


@pytest.fixture(scope="session")
def default_book():
    from nhsbook.config import load_book
    return load_book("default", root=ROOT)


@pytest.fixture(scope="session")
def computed(default_book):
    """The default book's computed tables (recomputed if the inputs changed)."""
    from nhsbook.store import load_computed
    return load_computed(default_book)


@pytest.fixture(scope="session")
def site(default_book) -> Path:
    """The built default site; built here if `make book` has not built it already."""
    from nhsbook.build import build
    from nhsbook.store import is_current
    index = default_book.site_dir / "index.html"
    pages = default_book.book_dir / "areas"
    if not (index.is_file() and pages.is_dir() and is_current(default_book)):
        build("default")
    return default_book.site_dir
