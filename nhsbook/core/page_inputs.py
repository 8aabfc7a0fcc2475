"""What a page reads and writes, recorded automatically while the build runs it.

The build runs each page with two environment variables set (:mod:`nhsbook.build.executor`):

* ``NHSBOOK_DEPS``: a file to which every input the page opens is appended, one JSON line
  ``{"read": path}`` or ``{"wrote": path}`` per file;
* ``NHSBOOK_DEPS_ROOTS``: the folders (and files) that count as inputs, joined by
  :data:`os.pathsep`: the book's data, its computed tables ``build/<book>/``, the open-data
  mirror and download cache, and the book's ``_extra`` folder (files written there, the charts'
  SVG and CSV, are the page's outputs).

:func:`install` adds a :func:`sys.addaudithook` hook on Python's ``open`` audit event (raised by
``open``, ``io.open`` and ``os.open``), installed when :mod:`nhsbook.pages.area` is imported (a
no-op without ``NHSBOOK_DEPS``).  The hook reads both variables *at event time*, so a kernel
reused for several pages records each page in its own file.  Readers that open files natively (pyarrow's parquet reader,
GDAL) raise no audit event: :func:`record` is called for them explicitly
(:func:`nhsbook.pipeline.store.load_computed`, :func:`nhsbook.config.sources.locate`).  Opens made to *check*
inputs rather than to use them (checksums) are left out with :func:`untracked`.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DEPS_ENV, ROOTS_ENV = "NHSBOOK_DEPS", "NHSBOOK_DEPS_ROOTS"

_state = threading.local()
_installed = False
#: Entries already written, per deps file (its inode: a page run again starts a new file).
_seen: dict[str, tuple[int, set[tuple[str, str]]]] = {}


def _busy() -> bool:
    return getattr(_state, "busy", False)


@contextmanager
def untracked() -> Iterator[None]:
    """Opens inside this block are not recorded (e.g. hashing every input to check it)."""
    was = _busy()
    _state.busy = True
    try:
        yield
    finally:
        _state.busy = was


def _roots() -> list[str]:
    return [r for r in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if r]


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def record(path: str | os.PathLike, kind: str = "read") -> None:
    """Append ``path`` to the current page's deps file when it lies under the input roots."""
    for seen_now in getattr(_state, "collect", []):  # see :func:`remember`
        seen_now.add((kind, os.fspath(path)))
    target = os.environ.get(DEPS_ENV)
    if not target or _busy():
        return
    _state.busy = True  # the deps file's own open raises the event again
    try:
        full = os.path.abspath(os.fspath(path))
        if not _under(full, _roots()):
            return
        try:
            inode = os.stat(target).st_ino
        except FileNotFoundError:
            inode = -1
        known, seen = _seen.get(target, (None, set()))
        if known != inode:
            seen = set()
        if (kind, full) in seen:
            return
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({kind: full}) + "\n")
        seen.add((kind, full))
        _seen[target] = (os.stat(target).st_ino, seen)
    except (OSError, TypeError, ValueError):
        pass  # recording must never break a page; a page without deps is rebuilt every time
    finally:
        _state.busy = False


def remember(maxsize: int | None = 1) -> Callable[[F], F]:
    """``functools.lru_cache`` for loaders whose results outlive a page (a warm kernel runs
    many pages): the files recorded while the result was computed are recorded again each
    time the cached result is returned, so every page that uses it depends on them."""

    def wrap(fn: F) -> F:
        @functools.lru_cache(maxsize=maxsize)
        def compute(*args: Any, **kwargs: Any) -> tuple[Any, frozenset[tuple[str, str]]]:
            found: set[tuple[str, str]] = set()
            stack = getattr(_state, "collect", [])
            _state.collect = [*stack, found]
            try:
                return fn(*args, **kwargs), frozenset(found)
            finally:
                _state.collect = stack

        @functools.wraps(fn)
        def cached(*args: Any, **kwargs: Any) -> Any:
            value, files = compute(*args, **kwargs)
            for kind, path in files:
                record(path, kind)
            return value

        cached.cache_clear = compute.cache_clear  # type: ignore[attr-defined]
        return cached  # type: ignore[return-value]

    return wrap


def _hook(event: str, args: tuple) -> None:
    if event != "open" or _busy() or not os.environ.get(DEPS_ENV):
        return
    path, mode, flags = (tuple(args) + (None, None, None))[:3]
    if not isinstance(path, (str, bytes, os.PathLike)) or isinstance(path, int):
        return
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
        mode is None and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR)
    )
    record(path, "wrote" if writing else "read")


def install() -> None:
    """Install the audit hook once per process (hooks cannot be removed; it does nothing
    while ``NHSBOOK_DEPS`` is unset)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True


def read(path: Path) -> tuple[set[str], set[str]] | None:
    """The files a page read and wrote, from its deps file (None when it has none)."""
    if not path.is_file():
        return None
    reads: set[str] = set()
    writes: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        reads.update(v for k, v in item.items() if k == "read")
        writes.update(v for k, v in item.items() if k == "wrote")
    return reads, writes
