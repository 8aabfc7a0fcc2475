"""Clean recovery after a build that was killed: find and remove what it left behind.

A build killed at any step leaves the published site as it was (:mod:`nhsbook.build.publish`), but
may leave behind, under ``build/`` and ``book/_build/``:

* a **staging folder** ``build/staging/<book>-<pid>-<time>/`` (killed while the site was
  copied or scanned; a copy of the whole site, e.g. 119 MiB for the default book);
* a **site folder** under ``build/sites/`` that the published link does not point at
  (killed during the swap, after the move and before the rename);
* a **new link** ``book/_build/html.<pid>.new`` (killed just before the rename);
* temporary state files ``build/state/**/*.tmp`` (killed while writing state) and reports
  being written, ``book/_extra/reports/*.tmp`` (which the site would publish);
* a **jupyter-book output that did not finish**: :func:`mark_incomplete` writes
  ``build/jupyter-book/<book>/.incomplete`` before jupyter-book runs and
  :func:`clear_incomplete` removes it after it succeeded.  While the marker is there the
  next site build starts from scratch (``--all`` in an empty folder): an incremental Sphinx
  run over the environment of a killed run would rewrite only the changed pages, and its
  search index would cover only those.

:func:`clean_leftovers` runs at the start of every build, while it holds the project lock
(:mod:`nhsbook.build.lock`), so no other build of the project can be using any of these: it removes
them all and returns one line saying what it removed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from nhsbook.build.publish import link_target
from nhsbook.core.safepath import remove_tree

#: The marker of a jupyter-book run that has not finished, in its output folder.
INCOMPLETE = ".incomplete"


def mark_incomplete(out: Path) -> None:
    """Record that jupyter-book is about to write ``out`` (removed when it succeeded)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / INCOMPLETE).write_text(
        f"pid {os.getpid()} started {time.time():.0f}\n", encoding="utf-8"
    )


def clear_incomplete(out: Path) -> None:
    (out / INCOMPLETE).unlink(missing_ok=True)


def is_incomplete(out: Path) -> bool:
    """True when a jupyter-book run into ``out`` started and did not finish."""
    return (out / INCOMPLETE).is_file()


def _size(path: Path) -> int:
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size if path.is_symlink() or path.exists() else 0
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _remove(path: Path, build: Path) -> None:
    """Remove a file or link, or a folder under ``build/`` (:func:`nhsbook.core.safepath.remove_tree`)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    remove_tree(path, build.parent)


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def clean_leftovers(root: Path, published: Path) -> str:
    """Remove what killed builds of the project at ``root`` left behind (see module
    docstring); ``published`` is the published link (``book/_build/html``).  Only call this
    while holding the project lock.  Returns one line describing what was removed and which
    jupyter-book outputs will be rebuilt from scratch, or ``""`` when there was nothing."""
    build = root / "build"
    said = []

    staging = sorted((build / "staging").glob("*")) if (build / "staging").is_dir() else []
    if staging:
        size = sum(_size(p) for p in staging)
        for p in staging:
            _remove(p, build)
        said.append(f"{_plural(len(staging), 'staging folder')} ({_mib(size)})")

    current = link_target(published)
    if current is not None and not current.is_dir():
        published.unlink()
        said.append(f"the link {published.name} to the missing site {current.name}")
        current = None
    sites = build / "sites"
    unpublished = (
        [p for p in sorted(sites.glob("*")) if p.resolve() != current] if sites.is_dir() else []
    )
    if unpublished:
        size = sum(_size(p) for p in unpublished)
        for p in unpublished:
            _remove(p, build)
        said.append(f"{_plural(len(unpublished), 'unpublished site folder')} ({_mib(size)})")

    links = (
        [p for p in published.parent.glob(f"{published.name}*.new")]
        if published.parent.is_dir()
        else []
    )
    for p in links:
        p.unlink(missing_ok=True)
    if links:
        said.append(_plural(len(links), "unpublished site link"))

    temps = list((build / "state").rglob("*.tmp")) if (build / "state").is_dir() else []
    for p in temps:
        p.unlink(missing_ok=True)
    if temps:
        said.append(_plural(len(temps), "temporary state file"))

    # a report being written (``<code>.<pid>.pdf.tmp``) would be published with the site
    reports = published.parent.parent / "_extra" / "reports"
    partial = sorted(reports.glob("*.tmp")) if reports.is_dir() else []
    for p in partial:
        p.unlink(missing_ok=True)
    if partial:
        said.append(_plural(len(partial), "report being written"))

    line = f"removed what an interrupted build left: {', '.join(said)}" if said else ""
    jb = build / "jupyter-book"
    unfinished = sorted(p.name for p in jb.glob("*") if is_incomplete(p)) if jb.is_dir() else []
    if unfinished:
        note = (
            f"jupyter-book did not finish for book {', '.join(unfinished)}: its next "
            "site build starts from scratch"
        )
        line = f"{line}; {note}" if line else note
    return line
