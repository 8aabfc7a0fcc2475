"""``nhsbook open``: a page's notebook for one area, parameterised, for an analyst to rerun.

A page of the book is a notebook of ``notebooks/`` run by papermill with two parameters,
``area_code`` and ``book``.  :func:`parameterised_copy` writes the same notebook with those
parameters injected (papermill's own ``parameterize_notebook``, so the copy is what a build
would run) to ``work/<book>/<area>/<notebook>.ipynb`` under the project (``work/`` is ignored
by git), and :func:`open_in_lab` opens it in JupyterLab (the ``lab`` extra:
``pip install -e ".[lab]"``).  Run top to bottom in a plain kernel, the copy loads what its
page facade needs and computes the book's tables first if they are missing or stale
(:func:`nhsbook.pipeline.store.load_computed`), so it works before any build.  Outside a build its
charts are shown by Altair's own display; its CSV downloads are written to ``book/_extra``
as a build writes them (the next build writes them again).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from nhsbook.config.book import load_book, project_root
from nhsbook.core import safepath

#: Folder (under the project root) for analysts' copies; ignored by git.
WORK = "work"


class OpenError(ValueError):
    """A notebook, book or area that cannot be opened, with what was expected."""


def notebooks(root: Path | None = None) -> list[str]:
    """The page notebooks of the project (names without ``.ipynb``)."""
    return sorted(p.stem for p in ((root or project_root()) / "notebooks").glob("*.ipynb"))


def parameterised_copy(
    notebook: str,
    area_code: str,
    book: str = "default",
    root: Path | None = None,
    force: bool = False,
) -> Path:
    """Write ``notebooks/<notebook>.ipynb`` with ``area_code`` and ``book`` injected to
    ``work/<book name>/<area_code>/<notebook>.ipynb`` and return its path; ``book`` is a
    book's name or its file's path, injected as given (the notebook loads the same book).  An existing copy is
    kept (it may hold the analyst's edits) unless ``force``.  Raises :class:`OpenError` for
    a notebook the project does not have or an area the book does not know."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    root = Path(root or project_root())
    safepath.check_name(notebook, "notebook")
    safepath.check_name(area_code, "area code")
    src = root / "notebooks" / f"{notebook}.ipynb"
    if not src.is_file():
        raise OpenError(
            f"no notebook {notebook!r} in {root / 'notebooks'}: expected one of "
            f"{', '.join(notebooks(root))}"
        )
    cfg = load_book(book)
    safepath.check_name(cfg.name, "book name")
    known = _area_codes(cfg)
    if known is not None and area_code not in known:
        raise OpenError(
            f"area {area_code!r} is not in book {cfg.name!r} "
            f"({len(known)} areas; see build/{cfg.name}/areas.parquet)"
        )
    out = root / WORK / cfg.name / area_code / f"{notebook}.ipynb"
    if out.is_file() and not force:
        return out
    nb = parameterize_notebook(
        load_notebook_node(str(src)), {"area_code": area_code, "book": str(book)}
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def _area_codes(cfg) -> set[str] | None:
    """The book's area codes from its computed tables, or None before the first compute
    (the notebook will then compute them)."""
    path = cfg.cache_dir / "areas.parquet"
    if not path.is_file():
        return None
    import pandas as pd

    return set(pd.read_parquet(path, columns=["area_code"])["area_code"].astype(str))


def open_in_lab(path: Path) -> int:
    """Start JupyterLab on ``path`` (blocks until it is stopped); 2 with a hint when the
    ``lab`` extra is not installed."""
    try:
        import jupyterlab  # noqa: F401 - only whether it is installed
    except ImportError:
        print(
            f"JupyterLab is not installed: pip install -e \".[lab]\", then\n  jupyter lab {path}",
            file=sys.stderr,
        )
        return 2
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    return subprocess.call([jupyter, "lab", str(path)])
